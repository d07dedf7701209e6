#!/usr/bin/env python3
"""soma against PyTorch on the reference workloads, interleaved in one run (A B A B ...).

    bench/compare.py --soma build/release/soma --python PYTHON \
        [--workloads mlp,lenet5,cnn,resnet18,airbench,lstm] [--precisions f32,bf16]
        [--mode train] [--rounds 5] [--steps 20] [--batch N] [--kernels SOMA_KERNELS]

PYTHON is the interpreter of the peer (a virtual environment with the current PyTorch from
PyPI). With --base OTHER_SOMA the peer is another build of soma instead (the "no speed lost"
check of a change: --base is the build before it). Both get 2 threads. Prints each round, then a markdown table of the medians and the ratio
(the median of the rounds' ratios: neighbouring runs share the machine's load), and the share of
the machine's fp32 peak soma reaches: the step's FLOPs (the peer counts them) at soma's rate,
over the peak that the FmaPeak microbenchmark of soma_kernels measures on as many threads.
"""
import argparse
import json
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def run(command, env):
    """The JSON object `soma bench --json` (or the peer) printed."""
    out = subprocess.run(command + ["--json"], check=True, capture_output=True, text=True,
                         env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def fp32_peak(kernels, threads):
    """The FMA loop's GFLOP/s on `threads` threads (the best of its repetitions)."""
    out = subprocess.run([kernels, f"--benchmark_filter=^FmaPeak/{threads}/",
                          "--benchmark_repetitions=5", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    return max(b["GFLOP/s"] for b in json.loads(out)["benchmarks"] if b["run_type"] == "iteration")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma", required=True)
    parser.add_argument("--python", default="python3")
    parser.add_argument("--base", help="another soma build as the peer, instead of PyTorch")
    parser.add_argument("--workloads", default="mlp,lenet5,cnn,resnet18,airbench,lstm")
    parser.add_argument("--precisions", default="f32,bf16")
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--batch", type=int, default=None,
                        help="default: the reference workloads' (64 for lstm, 128 for the others)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kernels", help="soma_kernels (default: bench/soma_kernels beside --soma)")
    args = parser.parse_args()
    kernels = args.kernels or os.path.join(os.path.dirname(args.soma), "bench", "soma_kernels")
    peak = fp32_peak(kernels, args.threads)
    print(f"fp32 peak (FMA loop, {args.threads} threads): {peak:.0f} GFLOP/s", flush=True)
    env = dict(os.environ, SOMA_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS="1")
    peer_name = "base" if args.base else "pytorch"
    rows = []
    for workload in args.workloads.split(","):
        for precision in args.precisions.split(","):
            common = [workload, "--mode", args.mode, "--precision", precision,
                      "--iters", str(args.steps)]
            if args.batch:
                common += ["--batch", str(args.batch)]
            soma, torch, ratios = [], [], []
            for r in range(args.rounds):
                soma.append(run([args.soma, "bench"] + common, env)["samples_per_s"])
                peer = run([args.base, "bench"] + common, env) if args.base else run(
                    [args.python, os.path.join(HERE, "peer_pytorch.py"), "--threads",
                     str(args.threads)] + common, env)
                torch.append(peer["samples_per_s"])
                flops = peer.get("flops_per_sample")
                ratios.append(soma[-1] / torch[-1])
                print(f"{workload} {precision} round {r + 1}: soma {soma[-1]:9.1f}  "
                      f"{peer_name} {torch[-1]:9.1f} samples/s  ratio {ratios[-1]:.2f}",
                      flush=True)
            share = statistics.median(soma) * flops / 1e9 / peak if flops else None
            rows.append((workload, precision, statistics.median(soma), statistics.median(torch),
                         statistics.median(ratios), share))
    batch = args.batch or "128, lstm 64, unet 8"
    print(f"\n| workload ({args.mode}, batch {batch}, {args.threads} threads) | precision "
          f"| soma samples/s | {'base' if args.base else 'PyTorch'} samples/s | ratio "
          f"| soma % of fp32 peak |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for workload, precision, soma, torch, ratio, share in rows:
        percent = f"{100 * share:.0f}%" if share is not None else "n/a"
        print(f"| {workload} | {precision} | {soma:.1f} | {torch:.1f} | {ratio:.2f}x | {percent} |")


if __name__ == "__main__":
    main()
