#!/usr/bin/python3
"""Every training step's loss of soma against PyTorch's, from the same initial weights.

PyTorch initialises the model of tests/parity_DATASET_MODEL.toml (the MNIST MLP, LeNet-5 with
ReLU and max pooling, ResNet-18 on CIFAR-10, the FCN on ResNet-18 segmenting CIFAR-10 images into
their brighter and darker halves, or a two-layer character LSTM on tiny-shakespeare) and saves it
as safetensors; soma trains from it
(--init) with the data in file order and SGD, logging each step's loss; PyTorch trains the same
way; the two loss sequences must agree to 1e-4 relative.

    SOMA_DATA=path/to/data /usr/bin/python3 tests/pytorch_parity.py --soma build/release/soma \
        [--model lenet5|resnet18|fcn_resnet18|char_lstm]

Needs Debian's python3-torch and the dataset in the data root; exits 77 (skipped) without them.
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    print("skipped: PyTorch is not installed")
    sys.exit(SKIP)
sys.path.insert(0, os.path.join(HERE, "fixtures"))
from make_fixtures import CharLstm, fcn_resnet18, read_idx, resnet18, save  # noqa: E402


def write_png(path, pixels):
    """An 8-bit grey [H, W] or RGB [H, W, 3] uint8 array as a PNG file."""
    height, width = pixels.shape[:2]
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if pixels.ndim == 3 else 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) +
                chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma", required=True, help="the soma executable")
    parser.add_argument("--model", choices=["mlp", "lenet5", "resnet18", "fcn_resnet18",
                                            "char_lstm"], default="mlp")
    args = parser.parse_args()
    dataset = {"resnet18": "cifar10", "fcn_resnet18": "cifar10",
               "char_lstm": "tiny_shakespeare"}.get(args.model, "mnist")
    config = os.path.join(HERE, f"parity_{dataset}_{args.model}.toml")
    root = os.environ.get("SOMA_DATA", "")
    folder = os.path.join(root, {"cifar10": "cifar-10-batches-bin",
                                 "tiny_shakespeare": "tinyshakespeare"}.get(dataset, "mnist"))
    if not root or not os.path.isdir(folder):
        print(f"skipped: {dataset} not found (set SOMA_DATA)")
        sys.exit(SKIP)

    if dataset == "mnist":
        samples, batch, lr = 2560, 128, 0.05
        images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"))[:samples]
        labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"))[:samples]
        images = images.reshape(samples, 1, 28, 28)
    elif dataset == "cifar10":
        samples, batch, lr = (32, 16, 0.01) if args.model == "fcn_resnet18" else (64, 32, 0.01)
        with gzip.open(os.path.join(folder, "data_batch_1.bin.gz"), "rb") as f:
            records = np.frombuffer(f.read(samples * 3073), np.uint8).reshape(samples, 3073)
        images, labels = records[:, 1:].reshape(samples, 3, 32, 32), records[:, 0]
        if args.model == "fcn_resnet18":  # 64×64 images, each pixel's class its brightness
            images = images.repeat(2, axis=2).repeat(2, axis=3)
            grey = images.mean(axis=1)
            labels = (grey > grey.mean(axis=(1, 2), keepdims=True)).astype(np.uint8)
    if dataset == "tiny_shakespeare":
        # soma's text split: characters as ids in byte order, windows of 32 without overlap.
        samples, batch, lr, length = 256, 16, 1.0, 32
        with gzip.open(os.path.join(folder, "input.txt.gz"), "rb") as f:
            text = np.frombuffer(f.read(), np.uint8)
        ids = np.searchsorted(np.unique(text), text).astype(np.int64)
        windows = np.arange(samples)[:, None] * length + np.arange(length)[None, :]
        x, y = torch.from_numpy(ids[windows]), torch.from_numpy(ids[windows + 1])
        vocabulary = len(np.unique(text))
    else:
        x = torch.from_numpy(images.astype(np.float32) * np.float32(1 / 255))
        y = torch.from_numpy(labels.astype(np.int64))

    torch.manual_seed(0)
    torch.set_num_threads(2)
    nn = torch.nn
    momentum = 0.9
    if args.model == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256),
                              nn.ReLU(), nn.Linear(256, 10))
        momentum = 0.0
    elif args.model == "lenet5":
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                              nn.Linear(84, 10))
    elif args.model == "resnet18":
        model = resnet18()
    elif args.model == "fcn_resnet18":
        model = fcn_resnet18(classes=2, dropout=0.0)
    else:
        model = CharLstm(vocabulary, embedding=16, hidden=64, layers=2)
    with tempfile.TemporaryDirectory() as tmp:
        init, log = os.path.join(tmp, "init.safetensors"), os.path.join(tmp, "log.jsonl")
        save(init, dict(model.state_dict()))
        if args.model == "fcn_resnet18":  # the images and masks as a segmentation folder
            segments = os.path.join(tmp, "segments")
            for part in ("images", "masks"):
                os.makedirs(os.path.join(segments, part))
            for i in range(samples):
                write_png(os.path.join(segments, "images", f"{i:03d}.png"),
                          np.ascontiguousarray(images[i].transpose(1, 2, 0)))
                write_png(os.path.join(segments, "masks", f"{i:03d}.png"), labels[i])
            with open(config) as f:
                text = f.read().replace("SEGMENTS", segments)
            config = os.path.join(tmp, "config.toml")
            with open(config, "w") as f:
                f.write(text)
        subprocess.run([args.soma, "train", config, "--init", init, "--log-jsonl", log],
                       check=True, stdout=subprocess.DEVNULL)
        with open(log) as f:
            soma_losses = [e["loss"] for e in map(json.loads, f) if e["event"] == "step"]

    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    torch_losses = []
    for start in range(0, samples, batch):
        opt.zero_grad()
        logits = model(x[start:start + batch])
        if logits.dim() == 4:  # scores per pixel, the classes on dim 1
            loss = F.cross_entropy(logits, y[start:start + batch])
        else:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   y[start:start + batch].reshape(-1))
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())

    assert len(soma_losses) == len(torch_losses), (len(soma_losses), len(torch_losses))
    worst = 0.0
    for step, (a, b) in enumerate(zip(soma_losses, torch_losses)):
        error = abs(a - b) / abs(b)
        worst = max(worst, error)
        print(f"step {step:3d}  soma {a:.6f}  pytorch {b:.6f}  relative {error:.2e}")
        if error > 1e-4:
            print(f"FAILED: step {step} differs by {error:.2e} relative (limit 1e-4)")
            sys.exit(1)
    print(f"passed: {len(torch_losses)} steps agree, largest relative difference {worst:.2e}")


if __name__ == "__main__":
    main()
