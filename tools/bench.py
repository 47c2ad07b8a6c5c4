"""Our runtime (mobileone-run) against ONNX Runtime (onnxruntime-node) on MobileOne S0-S4, train and deploy graphs.

usage: bench.py --bin BUILD/bin [--variants s0,s1,s2,s3,s4] [--graphs train,deploy] [--threads 1,CORES]
                [--batch 1,8] [--rounds 5] [--runs 20] [--profile] [--work DIR]

Writes each variant's train graph at each batch (mobileone-example --batch B) and its deploy graph (mobileone-convert),
measures this machine's float32 FMA peak (mobileone-fma-peak), then for every model, thread count and batch runs our
runtime and ONNX Runtime alternately, --rounds processes each (ours, ORT, ours, ORT, ...: drift and other load on the
machine hit both alike), each process a warm-up and --runs timed inferences. Prints:
  * latency: median and min of the pooled timed runs, ours / ORT, images/s, and our GFLOP/s and % of peak (the
    single-core peak x threads). FLOPs are 2 x the MACs of the deploy graph for both graphs: the useful work.
  * start-up and memory: our load + optimize + plan time against ONNX Runtime's session creation, each process's
    peak RSS, and a bare `node` process's so ONNX Runtime's own share shows.
  * the issue's targets, met or not.
  * with --profile, per op kind: both runtimes' time, GFLOP/s and % of peak, then our time per kernel
    (tools/bench_profile.py).
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import namedtuple

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_profile  # noqa: E402
from onnx_flops import model_flops, node_costs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_ORT = os.path.join(ROOT, "tools", "ort", "run_ort.js")
ORT_PACKAGE = os.path.join(ROOT, "tools", "ort", "node_modules", "onnxruntime-node")
GNU_TIME = "/usr/bin/time"

Config = namedtuple("Config", "variant graph threads batch")
Models = namedtuple("Models", "train deploy input flops")


def fail(message):
    sys.exit(f"bench: {message}")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{' '.join(command)} failed (exit {result.returncode})\n{result.stderr}")
    return result.stdout


def run_measured(command):
    """stdout and peak RSS (MiB) of a command, as GNU time reads it from wait4's ru_maxrss. Not os.wait4 here: Linux
    carries the forking process's RSS across exec into the child's ru_maxrss, so a child of this script (numpy and
    ONNX loaded, some 80 MiB) would never report less; a child of time starts from time's 1 MiB."""
    with tempfile.NamedTemporaryFile(mode="r") as rss:
        out = run([GNU_TIME, "-f", "%M", "-o", rss.name, *command])
        return out, int(rss.read().split()[-1]) / 1024


def check_tools(bin_dir):
    for tool in ("mobileone-example", "mobileone-convert", "mobileone-run", "mobileone-fma-peak"):
        if not os.access(os.path.join(bin_dir, tool), os.X_OK):
            fail(f"{os.path.join(bin_dir, tool)} not found: build it (cmake --build build --target {tool})")
    if not os.access(GNU_TIME, os.X_OK):
        fail(f"{GNU_TIME} not found: GNU time measures peak RSS (Debian package time; scripts/deps.sh test)")
    if shutil.which("node") is None:
        fail("node not found: ONNX Runtime runs under Node.js (scripts/deps.sh test installs both)")
    if not os.path.isdir(ORT_PACKAGE):
        fail(f"{ORT_PACKAGE} not found: run scripts/deps.sh test "
             "(npm --prefix tools/ort install --ignore-scripts)")


class Samples:
    """One runtime on one configuration, pooled over rounds."""

    def __init__(self):
        self.runs, self.mins, self.startups, self.rss = [], [], [], []
        self.per_run = True  # False once a process reported only its median (then runs holds round medians)

    def add(self, runs_ms, median, minimum, startup_ms, rss):
        if runs_ms:
            self.runs += runs_ms
            self.mins.append(min(runs_ms))
        else:
            self.runs.append(median)
            self.mins.append(minimum)
            self.per_run = False
        if startup_ms is not None:
            self.startups.append(startup_ms)
        self.rss.append(rss)

    def median(self):
        return statistics.median(self.runs)

    def min(self):
        return min(self.mins)

    def startup(self):
        return statistics.median(self.startups) if self.startups else None

    def peak_rss(self):
        return max(self.rss)


def build_models(bin_dir, work, variant, batch):
    prefix = os.path.join(work, f"{variant}-b{batch}")
    train, deploy, tensor = f"{prefix}-train.onnx", f"{prefix}-deploy.onnx", f"{prefix}-input.npy"
    run([os.path.join(bin_dir, "mobileone-example"), variant, train, "--batch", str(batch)])
    run([os.path.join(bin_dir, "mobileone-convert"), train, deploy, "-q"])
    np.save(tensor, np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32))
    return Models(train, deploy, tensor, model_flops(onnx.load(deploy)))


def run_ours(bin_dir, model, tensor, config, runs, outputs, profile=False):
    command = [os.path.join(bin_dir, "mobileone-run"), model, "--input", f"input={tensor}", "--bench", str(runs),
               "--threads", str(config.threads), "--json", "--save-outputs", outputs]
    out, rss = run_measured(command + (["--profile"] if profile else []))
    return json.loads(out), rss


def run_ort(model, tensor, config, runs, outputs, profile_prefix=None):
    command = ["node", RUN_ORT, model, outputs, f"input={tensor}", "--bench", str(runs),
               "--threads", str(config.threads)]
    out, rss = run_measured(command + (["--profile", profile_prefix] if profile_prefix else []))
    return json.loads(out), rss


def outputs_agree(ours_dir, ort_dir):
    """mobileone-verify's default tolerance: max |ours - ORT| <= 1e-4 x max |ORT| + 1e-6."""
    ours, ort = np.load(os.path.join(ours_dir, "output.npy")), np.load(os.path.join(ort_dir, "output.npy"))
    return ours.shape == ort.shape and np.abs(ours - ort).max() <= 1e-4 * np.abs(ort).max() + 1e-6


def text(value, digits=2):
    if value is None:
        return "n/a"
    return value if isinstance(value, str) else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_table(title, headers, rows, left=1):
    """Columns aligned; the first `left` ones to the left (names), the rest to the right (numbers)."""
    cells = [headers] + [[text(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for row in cells:
        print("  ".join(cell.ljust(width) if i < left else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths))).rstrip())


def plural(count, noun):
    return f"{count} {noun}" + ("s" if count != 1 else "")


def ratio(a, b):
    return a / b if a is not None and b else None


def measure_peak(bin_dir):
    peak = json.loads(run([os.path.join(bin_dir, "mobileone-fma-peak"), "--json"]))
    print(f"FMA peak (mobileone-fma-peak, {peak['peak_isa']}): {peak['peak_gflops_1_thread']:.1f} GFLOP/s on one core, "
          f"{peak['peak_gflops_all_cores']:.1f} on all {plural(peak['cores'], 'core')}")
    return peak["peak_gflops_1_thread"], peak["cores"]


def print_latency(configs, models, ours, ort, peak, args):
    rows = []
    for config in configs:
        mine, theirs = ours[config], ort[config]
        rate = models[config.variant, config.batch].flops / mine.median() / 1e6
        rows.append([config.variant, config.graph, config.threads, config.batch, mine.median(), mine.min(),
                     theirs.median(), theirs.min(), f"{mine.median() / theirs.median():.2f}",
                     f"{1000 * config.batch / mine.median():.1f}", f"{1000 * config.batch / theirs.median():.1f}",
                     f"{rate:.1f}", f"{100 * rate / (peak * config.threads):.1f}"])
    print_table(f"latency, {plural(args.rounds, 'round')} x {plural(args.runs, 'run')} (ratio = ours / ORT median, "
                f"lower is better; % of peak = GFLOP/s / ({peak:.1f} x threads))",
                ["model", "graph", "threads", "batch", "ours median ms", "ours min ms", "ORT median ms", "ORT min ms",
                 "ratio", "ours img/s", "ORT img/s", "ours GFLOP/s", "% of peak"], rows, left=2)
    if not all(ours[config].per_run for config in configs):
        print("  (mobileone-run printed no runs_ms: its medians are the medians of the per-round medians)")


def print_startup(configs, ours, ort, node_rss):
    rows = []
    for config in configs:
        mine, theirs = ours[config], ort[config]
        rows.append([config.variant, config.graph, config.threads, config.batch, mine.startup(), theirs.startup(),
                     ratio(mine.startup(), theirs.startup()), mine.peak_rss(), theirs.peak_rss(),
                     theirs.peak_rss() - node_rss])
    print_table(f"start-up and memory (ours: load + optimize + plan; ORT: session creation; peak RSS in MiB, "
                f"a bare node process: {node_rss:.1f} MiB)",
                ["model", "graph", "threads", "batch", "ours start-up ms", "ORT session ms", "ratio", "ours RSS",
                 "ORT RSS", "ORT RSS - node"], rows, left=2)


def print_targets(configs, ours, ort, node_rss):
    """The issue's targets, for the configurations measured."""
    def verdict(pairs):
        met = sum(1 for _, ok in pairs if ok)
        missed = [name for name, ok in pairs if not ok]
        return f"{met} of {len(pairs)} met" + (f"; missed: {', '.join(missed)}" if missed else "")

    def name(config):
        return f"{config.variant} {config.graph} t{config.threads} b{config.batch}"

    print("\ntargets")
    print("  median <= 0.9 x ORT's:             "
          + verdict([(name(c), ours[c].median() <= 0.9 * ort[c].median()) for c in configs]))
    batch8 = [c for c in configs if c.batch == 8 and c.variant in ("s0", "s4")]
    if batch8:
        print("  S0, S4 batch 8 images/s >= ORT's:  "
              + verdict([(name(c), ours[c].median() <= ort[c].median()) for c in batch8]))
    s4 = [c for c in configs if c.variant == "s4"]
    if s4:
        timed = [(name(c), ours[c].startup() <= 2 * ort[c].startup()) for c in s4 if ours[c].startup() is not None]
        print("  S4 start-up <= 2 x ORT session:    "
              + (verdict(timed) if timed else "n/a (mobileone-run printed no startup_ms)"))
    print("  peak RSS <= ORT's, net of node:    "
          + verdict([(name(c), ours[c].peak_rss() <= ort[c].peak_rss() - node_rss) for c in configs]))


def print_profiles(configs, models, args, peak, work):
    for config in configs:
        paths = models[config.variant, config.batch]
        model = paths.train if config.graph == "train" else paths.deploy
        catalogues = [node_costs(onnx.load(model))]
        if config.graph == "train":
            catalogues.append(node_costs(onnx.load(paths.deploy)))
        report, _ = run_ours(args.bin, model, paths.input, config, args.runs, os.path.join(work, "ours"), profile=True)
        trace_dir = tempfile.mkdtemp(dir=work)
        run_ort(model, paths.input, config, args.runs, os.path.join(work, "ort"), os.path.join(trace_dir, "ort"))
        with open(glob.glob(os.path.join(trace_dir, "ort_*.json"))[0]) as trace:
            ort_entries = bench_profile.ort_entries(json.load(trace))
        our_entries, unmatched = bench_profile.our_entries(report.get("profile", []), catalogues)
        threads_peak = peak * config.threads
        title = f"{config.variant} {config.graph}, {plural(config.threads, 'thread')}, batch {config.batch}"
        print_table(f"profile {title}: per op kind, ms per run ({args.runs} runs; % of peak = of {threads_peak:.1f} "
                    f"GFLOP/s)",
                    ["op kind", "ours nodes", "ORT nodes", "ours ms", "ORT ms", "ratio", "ours GFLOP/s", "ours % peak",
                     "ORT GFLOP/s", "ORT % peak"],
                    bench_profile.kind_table(our_entries, ort_entries, threads_peak))
        if unmatched:
            print(f"  ({', '.join(unmatched)} rows of ours name no graph node of that op: timed, but without FLOPs)")
        print_table(f"profile {title}: ours per kernel",
                    ["op kind", "kernel", "nodes", "ms", "% of ours", "GFLOP/s", "% of peak"],
                    bench_profile.kernel_table(our_entries, threads_peak), left=2)


def benchmark(args, work):
    variants, graphs = args.variants.split(","), args.graphs.split(",")
    print(f"load average at start: {' '.join(f'{load:.2f}' for load in os.getloadavg())} "
          f"({os.cpu_count()} CPUs; other load slows both runtimes alike, but widens the spread)")
    peak, cores = measure_peak(args.bin)
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cores})
    batches = [int(b) for b in args.batch.split(",")]
    configs = [Config(v, g, t, b) for v in variants for g in graphs for b in batches for t in threads]
    models = {(v, b): build_models(args.bin, work, v, b) for v in variants for b in batches}
    _, node_rss = run_measured(["node", "-e", ""])
    ours, ort = ({config: Samples() for config in configs} for _ in range(2))
    disagree = set()
    ours_dir, ort_dir = os.path.join(work, "ours"), os.path.join(work, "ort")
    for round_index in range(args.rounds):
        for config in configs:
            paths = models[config.variant, config.batch]
            model = paths.train if config.graph == "train" else paths.deploy
            report, rss = run_ours(args.bin, model, paths.input, config, args.runs, ours_dir)
            latency = report["latency_ms"]
            ours[config].add(latency.get("runs_ms"), latency["median"], latency["min"],
                             report.get("startup_ms", {}).get("total"), rss)
            ort_report, rss = run_ort(model, paths.input, config, args.runs, ort_dir)
            ort[config].add(ort_report["runs_ms"], ort_report["median_ms"], ort_report["min_ms"],
                            ort_report["session_create_ms"], rss)
            if not outputs_agree(ours_dir, ort_dir):
                disagree.add(config)
            print(f"round {round_index + 1}/{args.rounds} {config.variant} {config.graph} t{config.threads} "
                  f"b{config.batch}: ours {latency['median']:.2f} ms, ORT {ort_report['median_ms']:.2f} ms (medians)",
                  file=sys.stderr)
    print_latency(configs, models, ours, ort, peak, args)
    print_startup(configs, ours, ort, node_rss)
    print_targets(configs, ours, ort, node_rss)
    for config in configs:
        if config in disagree:
            print(f"WARNING: {config.variant} {config.graph} t{config.threads} b{config.batch}: our output differs "
                  "from ORT's beyond mobileone-verify's tolerance")
    if args.profile:
        print_profiles(configs, models, args, peak, work)


def main():
    parser = argparse.ArgumentParser(description="mobileone-run against ONNX Runtime on MobileOne S0-S4")
    parser.add_argument("--bin", required=True, help="directory of the built executables (build/bin)")
    parser.add_argument("--variants", default="s0,s1,s2,s3,s4")
    parser.add_argument("--graphs", default="train,deploy")
    parser.add_argument("--threads", help="thread counts (default: 1 and one per physical core)")
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--rounds", type=int, default=5, help="processes per runtime and configuration")
    parser.add_argument("--runs", type=int, default=20, help="timed inferences per process, after a warm-up")
    parser.add_argument("--profile", action="store_true", help="also profile every configuration per op kind")
    parser.add_argument("--work", help="keep the models and inputs here (default: a temporary directory)")
    args = parser.parse_args()
    check_tools(args.bin)
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        benchmark(args, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="mobileone-bench-") as work:
            benchmark(args, work)


if __name__ == "__main__":
    main()
