#!/usr/bin/env python3
"""The PyTorch peer of `soma bench`: the same workloads, arguments and JSON.

Run with the current PyTorch from PyPI (in a virtual environment) for benchmarks. Two threads and
PyTorch's best settings on the CPU: channels-last activations for the convolutional workloads,
bf16 autocast for --precision bf16, set_to_none gradients and a foreach SGD step; inference in
eval mode under torch.inference_mode.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# The PyTorch equivalents of soma's model zoo, as the state-dict fixtures define them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fixtures import CharLstm, airbench, resnet18, unet  # noqa: E402

nn = torch.nn


def cifar_cnn():
    layers, channels = [], 3
    for width in (64, 128, 256):
        for _ in range(2):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU()]
            channels = width
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))


VOCABULARY, SEQUENCE = 65, 64


def workload(name):
    """The model and one example's shape."""
    if name == "lstm":
        return CharLstm(), (SEQUENCE,)
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, 10)), (784,)
    if name == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10)), (1, 28, 28)
    if name == "cnn":
        return cifar_cnn(), (3, 32, 32)
    if name == "resnet18":
        return resnet18(), (3, 32, 32)
    if name == "airbench":
        return airbench(), (3, 32, 32)
    if name == "unet":  # configs/pets_unet.toml's network and images
        return unet(depth=4, base=16), (3, 128, 128)
    raise SystemExit(f"unknown workload {name}")


def lstm_flops(module, inputs):
    """An LSTM's forward FLOPs (its matrix products), which the FLOP counter does not see."""
    x = inputs[0]
    steps_by_batch = x.numel() // x.shape[-1]
    directions = 2 if module.bidirectional else 1
    flops, size = 0, module.input_size
    for _ in range(module.num_layers):
        flops += directions * steps_by_batch * 2 * 4 * module.hidden_size * (size + module.hidden_size)
        size = directions * module.hidden_size
    return flops


def flops_per_sample(model, x, loss_of, train):
    """One sample's FLOPs in a step (forward; forward and backward when training), as
    torch.utils.flop_counter counts them, plus the LSTM layers' products; None before PyTorch 2.1."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:
        return None
    lstm = []
    hooks = [m.register_forward_hook(lambda m, i, o: lstm.append(lstm_flops(m, i)))
             for m in model.modules() if isinstance(m, nn.LSTM)]
    with FlopCounterMode(display=False) as counter:
        loss = loss_of(model(x))
        if train:
            loss.backward()
    for hook in hooks:
        hook.remove()
    model.zero_grad(set_to_none=True)
    # Backward costs two forwards in the products: the input's gradient and the weights'.
    return (counter.get_total_flops() + sum(lstm) * (3 if train else 1)) / x.shape[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if not args.batch:
        # the reference workloads' batch sizes
        args.batch = {"lstm": 64, "unet": 8}.get(args.workload, 128)
    model, example = workload(args.workload)
    if args.workload == "lstm":
        x = torch.randint(0, VOCABULARY, (args.batch, *example))
        y = torch.randint(0, VOCABULARY, (args.batch, *example))
    elif args.workload == "unet":
        x = torch.randn(args.batch, *example)
        y = torch.randint(0, 2, (args.batch, *example[1:]))
    else:
        x = torch.randn(args.batch, *example)
        y = torch.randint(0, 10, (args.batch,))
    if len(example) == 3:  # PyTorch's fastest CPU layout for convolutions
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=True)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    if args.mode == "infer":
        model.eval()

    def loss_of(logits):
        if args.workload == "unet":
            return F.cross_entropy(logits, y)  # per pixel, the classes on dim 1
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    flops = flops_per_sample(model, x, loss_of, args.mode == "train")

    def step():
        if args.mode == "infer":
            with torch.inference_mode(), autocast:
                model(x)
            return
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_of(model(x))
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    rates = []
    for _ in range(args.iters):
        start = time.perf_counter()
        step()
        rates.append(args.batch / (time.perf_counter() - start))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    framework = "pytorch " + torch.__version__
    if args.json:
        print(json.dumps({"workload": args.workload, "mode": args.mode,
                          "precision": args.precision, "framework": framework,
                          "threads": args.threads, "batch": args.batch, "iters": args.iters,
                          "samples_per_s": round(statistics.median(rates), 1),
                          "samples_per_s_min": round(min(rates), 1),
                          "samples_per_s_max": round(max(rates), 1),
                          "peak_memory_mib": round(peak_mib),
                          "flops_per_sample": flops}), flush=True)
    else:
        print(f"{args.workload} {args.mode} {args.precision}, batch {args.batch}, "
              f"{args.threads} threads ({framework}): {statistics.median(rates):.1f} samples/s "
              f"(median of {args.iters} steps; min {min(rates):.1f}, max {max(rates):.1f}), "
              f"peak memory {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
