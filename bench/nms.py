#!/usr/bin/env python3
"""Non-maximum suppression on 10,000 boxes: soma's vision::nms against torchvision.ops.nms (CPU),
interleaved in one run (A B A B ...), on the same boxes.

    PYTHON bench/nms.py --soma-nms build/release/bench/soma_bench_nms [--rounds 7]

PYTHON is a virtual environment's with torch and torchvision from PyPI; torch gets 2 threads. Two
sets, with scores uniform in [0, 1): "detector", boxes jittered around 100 objects of an 800 × 800
image (a detector's raw output: most are suppressed), and "scattered", boxes of 10-100 pixels
anywhere in a 1000 × 1000 image (few are). Each round times 21 calls on each side and takes their
median; prints each round and a markdown table of the medians over the rounds, and checks that
both keep the same boxes.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from torchvision import ops

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "fixtures"))
from make_fixtures import save  # noqa: E402

REPEATS = 21


def detector_boxes(n, generator):
    objects = torch.rand(100, 2, generator=generator) * 700
    sizes = torch.rand(100, 2, generator=generator) * 90 + 10
    pick = torch.randint(100, (n,), generator=generator)
    corner = objects[pick] + torch.randn(n, 2, generator=generator) * 0.1 * sizes[pick]
    size = sizes[pick] * (1 + 0.1 * torch.randn(n, 2, generator=generator))
    return torch.cat([corner, corner + size.clamp(min=1)], dim=1)


def scattered_boxes(n, generator):
    corner = torch.rand(n, 2, generator=generator) * 900
    return torch.cat([corner, corner + torch.rand(n, 2, generator=generator) * 90 + 10], dim=1)


def torchvision_ms(boxes, scores, threshold):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        kept = ops.nms(boxes, scores, threshold)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), kept


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma-nms", required=True)
    parser.add_argument("--boxes", type=int, default=10000)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, make in (("detector", detector_boxes), ("scattered", scattered_boxes)):
            boxes = make(args.boxes, generator)
            scores = torch.rand(args.boxes, generator=generator)
            path = os.path.join(folder, name + ".safetensors")
            save(path, {"boxes": boxes, "scores": scores})
            soma, peer = [], []
            for r in range(args.rounds):
                out = subprocess.run([args.soma_nms, path, str(args.threshold), str(REPEATS)],
                                     check=True, capture_output=True, text=True).stdout
                result = json.loads(out)
                ms, kept = torchvision_ms(boxes, scores, args.threshold)
                assert result["kept"] == kept.numel(), (result, kept.numel())
                soma.append(result["ms"])
                peer.append(ms)
                print(f"{name} round {r}: soma {result['ms']:.3f} ms, torchvision {ms:.3f} ms, "
                      f"{kept.numel()} kept", flush=True)
            ratios = [p / s for s, p in zip(soma, peer)]
            rows.append((name, statistics.median(soma), statistics.median(peer),
                         statistics.median(ratios), kept.numel()))
    print(f"\n| {args.boxes} boxes | soma ms | torchvision ms | torchvision / soma | kept |")
    print("| --- | --- | --- | --- | --- |")
    for name, soma, peer, ratio, kept in rows:
        print(f"| {name} | {soma:.3f} | {peer:.3f} | {ratio:.2f}× | {kept} |")


if __name__ == "__main__":
    main()
