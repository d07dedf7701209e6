#!/usr/bin/env python3
"""Kill -9 at random moments, resume, and get the uninterrupted run's losses.

Runs tests/resume_mnist.toml (or, with --config isbi, tests/resume_isbi.toml: a U-Net segmenting
ISBI 2012) once uninterrupted (checkpoints every epoch, per-step losses in JSONL), then several
times killed with SIGKILL at a random moment and resumed from the newest checkpoint in its folder.
Every resumed step's loss must equal the uninterrupted run's bit for bit, whatever the killed run
logged must be a prefix of it, and the log the resumed run appends to must hold the whole
uninterrupted run. Then a truncated checkpoint must be refused with a clear error. Needs the
dataset in $SOMA_DATA; exits 77 (skipped) without it."""
import argparse
import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# config: (file, its dataset's folder in the data root, steps in the whole run)
CONFIGS = {"mnist": ("resume_mnist.toml", "mnist", 6 * 60),
           "isbi": ("resume_isbi.toml", "isbi2012-em-segmentation", 6 * 6)}


def steps(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:  # a line cut by the kill
                break
            if event["event"] == "step":
                out.append((event["epoch"], event["step"], event["loss"]))
    return out


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma", required=True)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="mnist")
    args = parser.parse_args()
    config, dataset, total = CONFIGS[args.config]
    if not os.path.exists(os.path.join(os.environ.get("SOMA_DATA", ""), dataset)):
        print(f"skipped: {dataset} not found in $SOMA_DATA")
        return 77
    train = [args.soma, "train", os.path.join(HERE, config), "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(train + ["--checkpoint-dir", f"{tmp}/ref", "--log-jsonl", f"{tmp}/ref.jsonl"],
                       check=True)
        reference = steps(f"{tmp}/ref.jsonl")
        check(len(reference) == total, f"the reference run logged {len(reference)} steps, "
              f"expected {total}")

        rng = random.Random(2026)
        killed = 0
        for k in range(args.kills):
            folder, log = f"{tmp}/run{k}", f"{tmp}/run{k}.jsonl"
            run = subprocess.Popen(train + ["--checkpoint-dir", folder, "--log-jsonl", log])
            # Kill once a random number of steps is logged (flushed per step), or at startup.
            target = rng.randint(0, len(reference) - 10)
            while run.poll() is None and target > 0 and len(steps(log)) < target:
                time.sleep(0.001)
            run.send_signal(signal.SIGKILL)
            code = run.wait()
            killed += code == -signal.SIGKILL
            logged = steps(log)
            check(logged == reference[:len(logged)], f"kill {k}: the killed run's losses differ")
            checkpoints = sorted(glob.glob(f"{folder}/epoch-*.safetensors"))
            epoch = int(re.search(r"epoch-(\d+)", checkpoints[-1]).group(1)) if checkpoints else 0
            resume = ["--resume", folder] if checkpoints else []
            # The resumed run appends to the same log, keeping the epochs its checkpoint holds.
            subprocess.run(train + resume + ["--checkpoint-dir", folder, "--log-jsonl", log],
                           check=True)
            whole = steps(log)
            resumed = [s for s in whole if s[0] > epoch]
            expected = [s for s in reference if s[0] > epoch]
            check(resumed == expected,
                  f"kill {k} after epoch {epoch}: {len(resumed)} resumed steps, "
                  f"first {resumed[:1]}, expected {expected[:1]}")
            check(whole == reference, f"kill {k}: the log across the resume is not the "
                  f"uninterrupted run's ({len(whole)} steps against {len(reference)})")
            print(f"kill {k}: SIGKILL after {len(logged)} logged steps, resumed from epoch "
                  f"{epoch}: {len(resumed)} steps identical")
        check(killed >= args.kills // 2, f"only {killed} of {args.kills} runs were killed mid-run")

        latest = sorted(glob.glob(f"{tmp}/ref/epoch-*.safetensors"))[-1]
        with open(latest, "r+b") as f:
            f.truncate(os.path.getsize(latest) // 2)
        run = subprocess.run(train + ["--resume", latest], capture_output=True, text=True)
        check(run.returncode != 0 and run.stderr.startswith("error: ") and latest in run.stderr,
              "a truncated checkpoint was not refused clearly:\n" + run.stderr)
    print(f"resume test passed: {args.kills} kill points ({killed} mid-run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
