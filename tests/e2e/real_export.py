"""End-to-end check on graphs from PyTorch's real exporter.

Exports a MobileOne variant with tools/mobileone_torch.py in one exporter style, converts it with mobileone-convert and
checks: the deploy graph's structure (one Conv + Relu per block, no BatchNormalization, no Add, SE kept), ONNX's full
check, byte-identical output on a second conversion, that ONNX Runtime's output of the deploy graph and our runtime's
outputs of both graphs as written (and of the train graph as mobileone-run reparameterizes it at load time) equal
PyTorch's output of the train model (max abs diff <= 1e-4 x max |logit|), that mobileone-run ranks the same top-5
classes for both graphs as written on an image, and that mobileone-verify calls them equivalent.

usage: real_export.py --variant s0 --style prefused --bin BUILD/bin --work DIR
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mobileone_torch  # noqa: E402

TOLERANCE = 1e-4


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(command)}\n{result.stdout}{result.stderr}")
    return result.stdout


def expected_structure(variant):
    """Counts derived from the PyTorch module tree: every MobileOne block becomes one Conv + Relu."""
    model = mobileone_torch.build(variant, seed=0)
    blocks = [m for m in model.modules() if isinstance(m, mobileone_torch.MobileOneBlock)]
    se_blocks = sum(1 for block in blocks if isinstance(block.se, mobileone_torch.SqueezeExcite))
    return {
        "Conv": len(blocks) + 2 * se_blocks,
        "Relu": len(blocks) + se_blocks,
        "Sigmoid": se_blocks,
        "GlobalAveragePool": 1 + se_blocks,
        "BatchNormalization": 0,
        "Add": 0,
    }


def max_diff_check(label, output, reference):
    scale = float(np.abs(reference).max())
    diff = float(np.abs(output - reference).max())
    check(diff <= TOLERANCE * scale, f"{label}: max abs diff {diff:.3g} <= {TOLERANCE} x {scale:.3g}")


def write_test_image(path):
    """A smooth colour pattern with some edges, so the classifier sees structure rather than a flat colour."""
    from PIL import Image
    y, x = np.mgrid[0:300, 0:400]
    rgb = np.stack([(x * 255 // 400), (y * 255 // 300), ((x // 40 + y // 40) % 2) * 200 + 30], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=92)


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    print(f"ok: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", required=True)
    parser.add_argument("--style", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()

    work = os.path.join(args.work, f"{args.variant}-{args.style}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    train, deploy, again = (os.path.join(work, name) for name in ("train.onnx", "deploy.onnx", "again.onnx"))
    run(sys.executable, os.path.join(ROOT, "tools", "mobileone_torch.py"), "export", "--variant", args.variant,
        "--style", args.style, "--seed", "7", "--save-io", work, train)
    report_path = os.path.join(work, "report.json")
    print(run(os.path.join(args.bin, "mobileone-convert"), train, deploy, "--report", report_path))
    run(os.path.join(args.bin, "mobileone-convert"), train, again, "-q")

    model = onnx.load(deploy)
    onnx.checker.check_model(model, full_check=True)
    print("ok: deploy graph passes onnx.checker full check")
    counts = collections.Counter(node.op_type for node in model.graph.node)
    for op, expected in expected_structure(args.variant).items():
        check(counts.get(op, 0) == expected, f"{op}: {counts.get(op, 0)} nodes, expected {expected}")
    with open(deploy, "rb") as a, open(again, "rb") as b:
        check(a.read() == b.read(), "converting twice gives byte-identical output")
    train_model = onnx.load(train)
    check([i.name for i in model.graph.input] == [i.name for i in train_model.graph.input]
          and [o.name for o in model.graph.output] == [o.name for o in train_model.graph.output],
          "graph input and output names kept")
    check(str(model.graph.input[0].type) == str(train_model.graph.input[0].type), "input type and dims kept")
    with open(report_path) as f:
        report = json.load(f)
    check(report["after"]["nodes"] == len(model.graph.node), "report counts the written graph")

    reference = np.load(os.path.join(work, "output.npy"))
    input_npy = os.path.join(work, "input.npy")
    ort_out = os.path.join(work, "ort")
    run("node", os.path.join(ROOT, "tools", "ort", "run_ort.js"), deploy, ort_out, f"input={input_npy}")
    ort_output = np.load(os.path.join(ort_out, "output.npy"))
    max_diff_check("ONNX Runtime on deploy vs PyTorch on train", ort_output, reference)
    # --no-optimize runs each graph as written; by default mobileone-run reparameterizes the train graph as it loads it.
    for name, path, flags in (("train", train, ["--no-optimize"]), ("deploy", deploy, ["--no-optimize"]),
                              ("train-reparameterized-at-load", train, [])):
        ours = os.path.join(work, f"ours-{name}")
        run(os.path.join(args.bin, "mobileone-run"), path, *flags, "--input", f"input={input_npy}", "--save-outputs",
            ours)
        our_output = np.load(os.path.join(ours, "output.npy"))
        max_diff_check(f"our runtime on {name} vs PyTorch on train", our_output, reference)
        max_diff_check(f"our runtime on {name} vs ONNX Runtime on deploy", our_output, ort_output)

    image = os.path.join(work, "pattern.jpg")
    write_test_image(image)
    top5 = {}
    for name, path in (("train", train), ("deploy", deploy)):
        result = json.loads(run(os.path.join(args.bin, "mobileone-run"), path, image, "--json", "--no-optimize"))
        top5[name] = [entry["index"] for entry in result["results"][0]["top"]]
    check(top5["train"] == top5["deploy"], f"same top-5 on an image for train and deploy: {top5['deploy']}")

    print(run(os.path.join(args.bin, "mobileone-verify"), train, deploy, "--samples", "4"))
    print("ok: mobileone-verify says equivalent")


if __name__ == "__main__":
    main()
