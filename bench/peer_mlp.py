#!/usr/bin/env python3
"""The PyTorch peer of soma_bench_mlp: the same MLP workload, same JSON lines.

Run with the current PyTorch from PyPI (in a virtual environment) for benchmarks. Two threads
and PyTorch's best settings for this workload on the CPU (fp32, no autograd anomaly checks,
set_to_none gradients, inference of nothing extra).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(args.batch, 784)
    y = torch.randint(0, 10, (args.batch,))
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=True)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        seconds = time.perf_counter() - start
        print(json.dumps({"workload": "mlp", "framework": "pytorch " + torch.__version__,
                          "threads": args.threads, "batch": args.batch,
                          "samples_per_s": round(args.steps * args.batch / seconds, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
