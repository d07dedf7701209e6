#!/usr/bin/env python3
"""The PyTorch side of soma's time-to-accuracy runs: the recipes of configs/mnist_speedrun.toml
and configs/cifar10_speedrun.toml.

mnist: the same network (conv 12@5x5 pad 2, ReLU, max pool, conv 32@5x5, ReLU, max pool, 128,
10), the same data (MNIST from the data root, pixels / 255, shuffled every epoch, batch 128), two
epochs of Adam at 1e-2 under a one-cycle schedule stepped every batch (momentum not cycled, as
soma's).

cifar10: airbench94's network with its identity and whitening initialisation, ten epochs of
Nesterov SGD on batches of 1024 (label smoothing 0.2; weights lr 1.5 and decay 1.3304e-3;
biases lr 96 and decay 2.0788e-5, as the config's bias group), a triangular schedule stepped every
batch, airbench's lookahead, flips and 2-pixel reflected translations, test-time mirroring and
1-pixel translations.

Both run under bf16 autocast in channels-last on 2 threads. Prints the test accuracy and the wall
time from the start of the process (imports and loading included), as `time soma train` measures
soma's.

    SOMA_DATA=path/to/data bench/peer_speedrun.py [--task mnist|cifar10] [--seed S]
        [--precision f32|bf16]
"""
import time

START = time.perf_counter()

import argparse  # noqa: E402
import gzip  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fixtures import airbench, read_idx  # noqa: E402

CHANNELS_LAST = torch.channels_last


def mnist(root, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(root, "mnist", f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, "mnist", f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def cifar10(root, split):
    """Normalised images [N, 3, 32, 32] and labels, as the config's normalize step leaves them."""
    names = [f"data_batch_{i}.bin.gz" for i in range(1, 6)] if split == "train" else [
        "test_batch.bin.gz"]
    records = np.concatenate([np.frombuffer(
        gzip.open(os.path.join(root, "cifar-10-batches-bin", name)).read(), np.uint8).reshape(
            -1, 3073) for name in names])
    x = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255)
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    return (x - mean) / std, torch.from_numpy(records[:, 0].astype(np.int64))


def init_airbench(model, images, eps=5e-4):
    """airbench94's initialisation: identity filters first in each 3x3 convolution, the 2x2
    convolution whitening the images' patches (frozen, its bias at zero, as soma's)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d) and module.kernel_size == (3, 3):
            w = module.weight.data
            torch.nn.init.dirac_(w[:w.size(1)])
    whiten = model[0]
    c, (h, w) = images.shape[1], whiten.weight.shape[2:]
    patches = images.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c, h, w)
    flat = patches.reshape(len(patches), -1)
    eigenvalues, eigenvectors = torch.linalg.eigh(flat.T @ flat / len(flat), UPLO="U")
    scaled = eigenvectors.T.reshape(-1, c, h, w) / torch.sqrt(eigenvalues.view(-1, 1, 1, 1) + eps)
    whiten.weight.data[:] = torch.cat((scaled, -scaled))
    whiten.weight.requires_grad = False
    whiten.bias.data.zero_()
    whiten.bias.requires_grad = False


class Lookahead:
    """airbench's LookaheadState: a slow copy of the float state (weights and batch-norm
    statistics) that takes 1 - d of the fast one every 5 steps and at the last; the model restarts
    from it."""

    def __init__(self, model):
        self.slow = {k: v.clone() for k, v in model.state_dict().items()}

    def update(self, model, decay):
        for slow, fast in zip(self.slow.values(), model.state_dict().values()):
            if fast.dtype == torch.float:
                slow.lerp_(fast, 1 - decay)
                fast.copy_(slow)


def translate_and_flip(padded, index, flip):
    """A random 32x32 window of each (reflect-padded) image, mirrored where `flip` says."""
    n, pad = len(index), (padded.shape[-1] - 32) // 2
    dy, dx = torch.randint(0, 2 * pad + 1, (n,)), torch.randint(0, 2 * pad + 1, (n,))
    source = padded[index]
    out = torch.empty(n, 3, 32, 32)
    for y in range(2 * pad + 1):
        for x in range(2 * pad + 1):
            mask = (dy == y) & (dx == x)
            out[mask] = source[mask, :, y:y + 32, x:x + 32]
    out[flip] = out[flip].flip(-1)
    return out


def tta_logits(model, x):
    """airbench's TTA level 2: mirrored, and mirrored at 1-pixel reflected shifts."""
    def mirrored(v):
        return 0.5 * model(v) + 0.5 * model(v.flip(-1))
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    shifted = 0.5 * mirrored(padded[:, :, 0:32, 0:32]) + 0.5 * mirrored(padded[:, :, 2:34, 2:34])
    return 0.5 * mirrored(x) + 0.5 * shifted


def run_cifar10(args, root):
    x, y = cifar10(root, "train")
    test_x, test_y = cifar10(root, "test")
    model = airbench()
    init_airbench(model, x[:5000])
    model = model.to(memory_format=CHANNELS_LAST)
    epochs, batch = 10, 1024
    steps = (len(x) + batch - 1) // batch
    total, peak = epochs * steps, int(0.2 * epochs * steps)
    trainable = [p for p in model.parameters() if p.requires_grad]
    biases = [p for p in trainable if p.dim() == 1]
    weights = [p for p in trainable if p.dim() > 1]
    opt = torch.optim.SGD([dict(params=weights, lr=1.5, weight_decay=1.3304e-3),
                           dict(params=biases, lr=1.5 * 64, weight_decay=2.0788e-5)],
                          momentum=0.85, nesterov=True)

    def triangle(t):
        if t <= peak:
            return 0.2 + 0.8 * t / peak
        return 1 - min(t - peak, total - peak) / (total - peak)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, triangle)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    lookahead, step = Lookahead(model), 0
    # airbench's alternating flips (--alternate-flip): one draw per image, reversed every epoch.
    first_flips = torch.rand(len(x)) < 0.5 if args.alternate_flip else None
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch):
            index = order[start:start + batch]
            if args.alternate_flip:
                flip = first_flips[index] ^ (epoch % 2 == 1)
            else:
                flip = torch.rand(len(index)) < 0.5
            inputs = translate_and_flip(padded, index, flip).contiguous(
                memory_format=CHANNELS_LAST)
            opt.zero_grad(set_to_none=True)
            with autocast:
                loss = F.cross_entropy(model(inputs), y[index], label_smoothing=0.2)
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            if step % 5 == 0 or step == total:
                with torch.no_grad():
                    lookahead.update(model, 0.7738 * (step / total) ** 3)
    model.eval()
    correct = 0
    with torch.inference_mode(), autocast:
        for start in range(0, len(test_x), batch):
            inputs = test_x[start:start + batch].contiguous(memory_format=CHANNELS_LAST)
            correct += (tta_logits(model, inputs).argmax(1) ==
                        test_y[start:start + batch]).sum().item()
    return correct / len(test_x)


def run_mnist(args, root):
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
    return correct / len(test_x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["mnist", "cifar10"], default="mnist")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--precision", choices=["f32", "bf16"], default="bf16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--alternate-flip", action="store_true",
                        help="CIFAR-10: flips drawn once per image and reversed every epoch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = os.environ.get("SOMA_DATA", "")
    accuracy = (run_cifar10 if args.task == "cifar10" else run_mnist)(args, root)
    print(f"pytorch {torch.__version__} {args.task} seed {args.seed} {args.precision}: "
          f"test_accuracy {accuracy:.4f}  wall {time.perf_counter() - START:.2f} s")


if __name__ == "__main__":
    main()
