"""Latency of our runtime against ONNX Runtime on the same model and input, measured in one run.

usage: bench_vs_ort.py --bin BUILD/bin [--variants s0,s4] [--runs 30] [--threads 2] [--work DIR]
Builds each variant's train graph (mobileone-example), converts it, and times the deploy graph in both runtimes
after a warm-up; prints median and min milliseconds and the ratio ours / ONNX Runtime (lower is better).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench_vs_ort: {' '.join(command)} failed\n{result.stderr}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--variants", default="s0,s4")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--work", default=tempfile.mkdtemp(prefix="mobileone-bench-"))
    args = parser.parse_args()

    print(f"{'model':<10}{'ours median':>14}{'ours min':>12}{'ORT median':>14}{'ORT min':>12}{'ratio':>9}"
          f"   ({args.runs} runs, {args.threads} threads)")
    for variant in args.variants.split(","):
        train, deploy, tensor = (os.path.join(args.work, f"{variant}-{name}")
                                 for name in ("train.onnx", "deploy.onnx", "input.npy"))
        run(os.path.join(args.bin, "mobileone-example"), variant, train)
        run(os.path.join(args.bin, "mobileone-convert"), train, deploy, "-q")
        np.save(tensor, np.random.default_rng(0).standard_normal((1, 3, 224, 224), dtype=np.float32))
        ours = json.loads(run(os.path.join(args.bin, "mobileone-run"), deploy, "--input", f"input={tensor}",
                              "--bench", str(args.runs), "--threads", str(args.threads), "--json"))["latency_ms"]
        ort = json.loads(run("node", os.path.join(ROOT, "tools", "ort", "run_ort.js"), deploy,
                             os.path.join(args.work, "ort"), f"input={tensor}", "--bench", str(args.runs),
                             "--threads", str(args.threads)))
        print(f"{variant + ' deploy':<10}{ours['median']:>14.2f}{ours['min']:>12.2f}{ort['median_ms']:>14.2f}"
              f"{ort['min_ms']:>12.2f}{ours['median'] / ort['median_ms']:>9.2f}")


if __name__ == "__main__":
    main()
