#!/usr/bin/env python3
"""The PyTorch side of soma's time-to-accuracy runs: configs/mnist_speedrun.toml's recipe.

The same network (conv 12@5x5 pad 2, ReLU, max pool, conv 32@5x5, ReLU, max pool, 128, 10), the
same data (MNIST from the data root, pixels / 255, shuffled every epoch, batch 128), two epochs of
Adam at 1e-2 under a one-cycle schedule stepped every batch (momentum not cycled, as soma's),
bf16 autocast, 2 threads. Prints the test accuracy and the wall time from the start of the
process (imports and loading included), as `time soma train` measures soma's.

    SOMA_DATA=path/to/data bench/peer_speedrun.py [--seed S] [--precision f32|bf16]
"""
import time

START = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fixtures import read_idx  # noqa: E402


def mnist(root, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(root, "mnist", f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, "mnist", f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--precision", choices=["f32", "bf16"], default="bf16")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = os.environ.get("SOMA_DATA", "")
    x, y = mnist(root, "train")
    test_x, test_y = mnist(root, "test")
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 12, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(12, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))
    model = model.to(memory_format=torch.channels_last)
    epochs, batch = 2, 128
    steps = (len(x) + batch - 1) // batch
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, epochs=epochs,
                                                   steps_per_epoch=steps, cycle_momentum=False)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = F.cross_entropy(model(x[index].contiguous(
                    memory_format=torch.channels_last)), y[index])
            loss.backward()
            opt.step()
            schedule.step()
    model.eval()
    correct = 0
    with torch.inference_mode(), autocast:
        for start in range(0, len(test_x), 1000):
            logits = model(test_x[start:start + 1000].contiguous(memory_format=torch.channels_last))
            correct += (logits.argmax(1) == test_y[start:start + 1000]).sum().item()
    print(f"pytorch {torch.__version__} seed {args.seed} {args.precision}: test_accuracy "
          f"{correct / len(test_x):.4f}  wall {time.perf_counter() - START:.2f} s")


if __name__ == "__main__":
    main()
