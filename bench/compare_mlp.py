#!/usr/bin/env python3
"""soma against PyTorch on the MLP training workload, interleaved in one run (A B A B ...).

    bench/compare_mlp.py --soma build/release/bench/soma_bench_mlp --python PYTHON [--rounds 5]

PYTHON is the interpreter of the peer (a virtual environment with the current PyTorch from
PyPI). Both get 2 threads. Prints each round and then the medians and their ratio.
"""
import argparse
import json
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def run(command, env):
    lines = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line)["samples_per_s"] for line in lines.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma", required=True)
    parser.add_argument("--python", default="python3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    env = dict(os.environ, SOMA_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS="1")
    soma, torch, ratios = [], [], []
    for r in range(args.rounds):
        soma.append(statistics.median(run([args.soma, "--rounds", "3"], env)))
        torch.append(statistics.median(run([args.python, os.path.join(HERE, "peer_mlp.py"),
                                            "--rounds", "3", "--threads", str(args.threads)], env)))
        ratios.append(soma[-1] / torch[-1])
        print(f"round {r + 1}: soma {soma[-1]:9.0f}  pytorch {torch[-1]:9.0f} samples/s  "
              f"ratio {ratios[-1]:.2f}", flush=True)
    # The ratio is the median of the rounds' ratios: neighbouring runs share the machine's load.
    print(f"\n| workload | soma samples/s | PyTorch samples/s | ratio |")
    print(f"| --- | ---: | ---: | ---: |")
    print(f"| MLP 784-512-256-10, batch 128, fp32, {args.threads} threads | "
          f"{statistics.median(soma):.0f} | {statistics.median(torch):.0f} | "
          f"{statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
