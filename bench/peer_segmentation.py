#!/usr/bin/env python3
"""The PyTorch side of soma's segmentation recipe configs/pets_unet.toml: the same U-Net (the
fixtures' `unet`, soma's module names), data, augmentation, losses, optimizer and schedule.

Oxford-IIIT Pet sample from the data root (oxford-pets-sample/pets.tar): the trainval list trains,
the test list tests; images and trimaps resized to 128×128 (bilinear, nearest), pixels / 255;
trimap 1 pet → class 1, 2 background → 0, 3 border → 255, ignored by the losses and the metrics.
Training sees a random resized crop (scale 0.5–1, ratio 3/4–4/3, back to 128×128), a horizontal
flip and a colour jitter of 0.2 in brightness, contrast and saturation; 40 epochs of batches of 8,
Adam at 3e-3, a cosine schedule stepped every epoch after 2 epochs of linear warm-up from a third;
the loss is cross-entropy plus half the soft Dice loss (soma's `dice`: 1 − the mean over classes
of (2·Σp·t + 1) / (Σp + Σt + 1), ignored pixels weighing nothing). Prints the test pixel accuracy
and mean IoU after every epoch, and the wall time. Needs torch, numpy and pillow.

    SOMA_DATA=path/to/data bench/peer_segmentation.py [--epochs 40] [--seed 0] [--threads 2]
"""
import argparse
import io
import math
import os
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fixtures import unet  # noqa: E402

SIZE, IGNORED = 128, 255


def pets(root, split):
    """Images f32 [N, 3, 128, 128] in 0..1 and masks i64 [N, 128, 128]."""
    with tarfile.open(os.path.join(root, "oxford-pets-sample", "pets.tar")) as tar:
        read = lambda name: tar.extractfile("oxford-pets/" + name).read()
        listed = "trainval.txt" if split == "train" else "test.txt"
        names = [line.split()[0] for line in read("annotations/" + listed).decode().splitlines()
                 if line.strip() and not line.startswith("#")]
        images, masks = [], []
        for name in names:
            image = np.asarray(Image.open(io.BytesIO(read(f"images/{name}.jpg"))).convert("RGB"))
            trimap = np.asarray(Image.open(io.BytesIO(read(f"annotations/trimaps/{name}.png"))))
            x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255
            images.append(F.interpolate(x, (SIZE, SIZE), mode="bilinear", align_corners=False))
            classes = np.select([trimap == 1, trimap == 2], [1, 0], IGNORED)
            m = torch.from_numpy(classes.astype(np.float32))[None, None]
            masks.append(F.interpolate(m, (SIZE, SIZE), mode="nearest")[0, 0].long())
    return torch.cat(images), torch.stack(masks)


def random_resized_crop(image, mask, generator):
    """torchvision's RandomResizedCrop parameters (10 tries, else the whole image)."""
    area = SIZE * SIZE
    for _ in range(10):
        target = area * (0.5 + 0.5 * torch.rand(1, generator=generator).item())
        log_ratio = math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * torch.rand(
            1, generator=generator).item()
        w = round(math.sqrt(target * math.exp(log_ratio)))
        h = round(math.sqrt(target / math.exp(log_ratio)))
        if 0 < w <= SIZE and 0 < h <= SIZE:
            top = int(torch.randint(0, SIZE - h + 1, (1,), generator=generator))
            left = int(torch.randint(0, SIZE - w + 1, (1,), generator=generator))
            image = image[:, top:top + h, left:left + w]
            mask = mask[top:top + h, left:left + w]
            break
    image = F.interpolate(image[None], (SIZE, SIZE), mode="bilinear", align_corners=False)[0]
    mask = F.interpolate(mask[None, None].float(), (SIZE, SIZE), mode="nearest")[0, 0].long()
    return image, mask


def colour_jitter(image, generator, amount=0.2):
    factor = lambda: 1 - amount + 2 * amount * torch.rand(1, generator=generator).item()
    image = (image * factor()).clamp(0, 1)  # brightness
    grey = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).mean()
    image = (grey + (image - grey) * factor()).clamp(0, 1)  # contrast
    grey = 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    return (grey + (image - grey) * factor()).clamp(0, 1)  # saturation


def augment(images, masks, generator):
    out_images, out_masks = [], []
    for image, mask in zip(images, masks):
        image, mask = random_resized_crop(image, mask, generator)
        if torch.rand(1, generator=generator).item() < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        out_images.append(colour_jitter(image, generator))
        out_masks.append(mask)
    return torch.stack(out_images), torch.stack(out_masks)


def dice_loss(logits, target, smooth=1.0):
    weight = (target != IGNORED).float().unsqueeze(1)
    p = logits.softmax(1) * weight
    t = F.one_hot(target.clamp(0, logits.shape[1] - 1), logits.shape[1]).permute(0, 3, 1, 2)
    t = t.float() * weight
    dims = (0, 2, 3)
    score = (2 * (p * t).sum(dims) + smooth) / (p.sum(dims) + t.sum(dims) + smooth)
    return 1 - score.mean()


def scores(model, images, masks, classes=2):
    """Pixel accuracy and mean IoU over the whole test set, ignored pixels left out."""
    model.eval()
    confusion = torch.zeros(classes, classes, dtype=torch.int64)
    with torch.inference_mode():
        for i in range(0, len(images), 8):
            predicted = model(images[i:i + 8]).argmax(1)
            truth = masks[i:i + 8]
            kept = truth != IGNORED
            confusion += torch.bincount(truth[kept] * classes + predicted[kept],
                                        minlength=classes * classes).view(classes, classes)
    model.train()
    tp = confusion.diag().double()
    iou = tp / (confusion.sum(0) + confusion.sum(1) - tp).double()
    return (tp.sum() / confusion.sum()).item(), iou[~iou.isnan()].mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = os.environ["SOMA_DATA"]
    train_images, train_masks = pets(root, "train")
    test_images, test_masks = pets(root, "test")
    model = unet(in_channels=3, classes=2, depth=4, base=16).to(memory_format=torch.channels_last)
    base_lr, warmup = 3e-3, 2
    optimizer = torch.optim.Adam(model.parameters(), lr=base_lr)
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        if epoch < warmup:
            lr = base_lr * (1 / 3 + (2 / 3) * epoch / warmup)
        else:
            lr = base_lr * 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / (args.epochs - warmup)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        order = torch.randperm(len(train_images), generator=generator)
        for i in range(0, len(order), 8):
            x, y = augment(train_images[order[i:i + 8]], train_masks[order[i:i + 8]], generator)
            logits = model(x.contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits, y, ignore_index=IGNORED) + 0.5 * dice_loss(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        accuracy, mean_iou = scores(model, test_images, test_masks)
        print(f"epoch {epoch + 1}/{args.epochs}  test_pixel_accuracy {accuracy:.4f}  "
              f"test_mean_iou {mean_iou:.4f}  {time.perf_counter() - start:.0f} s", flush=True)
    print(f"done: pytorch {torch.__version__}, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
