#!/usr/bin/env python3
"""report.html in a real browser: trains a short MNIST run into a run directory, rebuilds the
report with `soma report`, renders it with headless Chromium to a PNG and a DOM dump, and checks
that the page rendered (a screenshot with many colours and enough ink) and holds the expected
charts and images. Exits 77 (skipped) without Chromium or MNIST."""
import argparse
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
    at, idat = 8, b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    check(depth == 8 and colour in (2, 6), f"unexpected PNG format {depth} {colour}")
    channels = 3 if colour == 2 else 4
    raw, stride, rows, prior = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prior[i], prior[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prior = line
    return width, height, channels, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma", required=True)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not os.path.isdir(os.path.join(os.environ.get("SOMA_DATA", ""), "mnist")):
        print("skipped: needs chromium and MNIST in $SOMA_DATA")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.soma, "train", os.path.join(HERE, "resume_mnist.toml"), "--epochs", "3",
                        "--runs", tmp, "--quiet"], check=True)
        run = glob.glob(f"{tmp}/resume_mnist-*")[0]
        for name in ["config.toml", "log.jsonl", "log.csv", "report.html"]:
            check(os.path.exists(f"{run}/{name}"), f"the run directory lacks {name}")
        check(glob.glob(f"{run}/checkpoints/epoch-*.safetensors"), "no checkpoints in the run")
        os.remove(f"{run}/report.html")
        subprocess.run([args.soma, "report", run], check=True, stdout=subprocess.DEVNULL)
        page = "file://" + os.path.abspath(f"{run}/report.html")
        browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   f"--user-data-dir={tmp}/profile"]
        shot = f"{tmp}/report.png"
        subprocess.run(browser + [f"--screenshot={shot}", "--window-size=1280,2400", page],
                       check=True, capture_output=True, timeout=120)
        dom = subprocess.run(browser + ["--dump-dom", page], check=True, capture_output=True,
                             text=True, timeout=120).stdout

        charts, images = dom.count('<svg class="chart"'), dom.count("<img ")
        check(charts == 5, f"{charts} charts in the rendered page, expected 5 (accuracy, loss, "
                           "learning rate, confusion matrix, per-class accuracy)")
        check(images == 24, f"{images} misclassified images, expected 24")
        width, height, channels, rows = png_pixels(shot)
        colours, ink = set(), 0
        for row in rows[::4]:
            for x in range(0, width * channels, channels * 4):
                pixel = row[x:x + 3]
                colours.add(pixel)
                ink += pixel != b"\xff\xff\xff"
        samples = len(rows[::4]) * len(range(0, width * channels, channels * 4))
        check(len(colours) > 50 and ink > 0.03 * samples,
              f"the screenshot looks blank: {len(colours)} colours, {ink}/{samples} inked samples")
        print(f"report rendered: {width}x{height}, {charts} charts, {images} images, "
              f"{len(colours)} colours, {100 * ink / samples:.0f}% ink")
    return 0


if __name__ == "__main__":
    sys.exit(main())
