#!/usr/bin/env python3
"""Structural comparison of MobileOne train graphs: the C++ builder (mobileone-example) against
PyTorch's real exporter (tools/mobileone_torch.py).

    compare_mobileone_graphs.py files REFERENCE.onnx CANDIDATE.onnx
    compare_mobileone_graphs.py sweep --builder BUILD/bin/mobileone-example [--variants s0,s4] [--styles bn]
                                      [--opsets 11,13,17] [--work DIR]

Two graphs match when they have the same IR version and opset, the same graph inputs and outputs
(names, types, shapes), and node for node the same op type, name, attributes (Constant values
included) and wiring: every node input is the same graph input, the same output of the same earlier
node, or an initializer of the same type and shape. Initializer names and values are not compared
(weights are random on both sides). Exit status 0 when everything matches, 1 otherwise.
"""

import argparse
import collections
import os
import subprocess
import sys
import tempfile

import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def attribute_value(attribute):
    value = helper.get_attribute_value(attribute)
    if attribute.type == onnx.AttributeProto.TENSOR:
        array = numpy_helper.to_array(value)
        return ("tensor", array.dtype.str, array.shape, array.tobytes())
    if isinstance(value, list):
        return tuple(value)
    return value


def type_text(value_type):
    tensor = value_type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in tensor.shape.dim]
    return f"{onnx.TensorProto.DataType.Name(tensor.elem_type)}{dims}"


def describe(model):
    """Name-independent description: (header, [node descriptions])."""
    graph = model.graph
    initializers = {tensor.name: ("initializer", tensor.data_type, tuple(tensor.dims)) for tensor in graph.initializer}
    sources = {value.name: ("input", value.name) for value in graph.input if value.name not in initializers}
    nodes = []
    for index, node in enumerate(graph.node):
        wiring = []
        for name in node.input:
            if name == "":
                wiring.append(("omitted",))
            elif name in sources:
                wiring.append(sources[name])
            elif name in initializers:
                wiring.append(initializers[name])
            else:
                wiring.append(("undefined", name))
        nodes.append({
            "op": (node.domain, node.op_type),
            "name": node.name if node.name.startswith("/") else "",  # the exporter's unscoped names are counters
            "attributes": {a.name: attribute_value(a) for a in node.attribute},
            "inputs": wiring,
            "outputs": len(node.output),
        })
        for position, name in enumerate(node.output):
            sources[name] = ("node", index, position)
    for value in graph.output:
        sources.setdefault(value.name, ("undefined", value.name))
    header = {
        "ir_version": model.ir_version,
        "opsets": sorted((o.domain, o.version) for o in model.opset_import),
        "inputs": [(v.name, type_text(v.type)) for v in graph.input if v.name not in initializers],
        "outputs": [(v.name, type_text(v.type), sources[v.name]) for v in graph.output],
        "initializers": sorted(collections.Counter(initializers.values()).items()),
    }
    return header, nodes


def show(node):
    attributes = {k: (v[:3] + ("...",) if isinstance(v, tuple) and v and v[0] == "tensor" else v)
                  for k, v in node["attributes"].items()}
    return f"{node['op'][1]} {node['name']!r} inputs={node['inputs']} attributes={attributes}"


def header_difference(key, expected, actual):
    if key == "initializers":
        expected, actual = collections.Counter(dict(expected)), collections.Counter(dict(actual))
        return f"initializers (kind, type, dims): only in reference {dict(expected - actual)}, " \
               f"only in candidate {dict(actual - expected)}"
    return f"{key}: reference {expected} vs candidate {actual}"


def compare(reference, candidate):
    """The differences between two models, as one-line messages (empty when they match)."""
    reference_header, reference_nodes = describe(reference)
    candidate_header, candidate_nodes = describe(candidate)
    problems = [header_difference(key, reference_header[key], candidate_header[key])
                for key in reference_header if reference_header[key] != candidate_header[key]]
    if len(reference_nodes) != len(candidate_nodes):
        problems.append(f"node count: reference {len(reference_nodes)} vs candidate {len(candidate_nodes)}")
    for index, (expected, actual) in enumerate(zip(reference_nodes, candidate_nodes)):
        if expected != actual:
            problems.append(f"node {index}: reference {show(expected)} vs candidate {show(actual)}")
            break  # later nodes usually differ only as a consequence
    return problems


def histogram(model):
    return dict(sorted(collections.Counter(node.op_type for node in model.graph.node).items()))


def compare_files(reference_path, candidate_path):
    problems = compare(onnx.load(reference_path), onnx.load(candidate_path))
    for problem in problems:
        print(problem)
    print("match" if not problems else f"MISMATCH: {reference_path} vs {candidate_path}")
    return not problems


def sweep(builder, variants, styles, opsets, work):
    import mobileone_torch

    all_match = True
    for variant in variants:
        for style in styles:
            for opset in opsets:
                reference_path = os.path.join(work, f"{variant}-{style}-{opset}-torch.onnx")
                candidate_path = os.path.join(work, f"{variant}-{style}-{opset}-builder.onnx")
                mobileone_torch.export(mobileone_torch.build(variant, 0), reference_path, style, opset)
                subprocess.run([builder, variant, candidate_path, "--style", style, "--opset", str(opset)], check=True)
                reference, candidate = onnx.load(reference_path), onnx.load(candidate_path)
                problems = compare(reference, candidate)
                verdict = "match" if not problems else "MISMATCH"
                print(f"{variant} {style:8} opset {opset}: {verdict}, {len(reference.graph.node)} nodes "
                      f"{histogram(reference)}", flush=True)
                for problem in problems:
                    print(f"    {problem}")
                all_match &= not problems
    return all_match


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    files = commands.add_parser("files", help="compare two ONNX files")
    files.add_argument("reference")
    files.add_argument("candidate")
    sweeper = commands.add_parser("sweep", help="export and build every variant/style/opset and compare")
    sweeper.add_argument("--builder", required=True, help="path of the mobileone-example executable")
    sweeper.add_argument("--variants", default="s0,s1,s2,s3,s4")
    sweeper.add_argument("--styles", default="prefused,bn")
    sweeper.add_argument("--opsets", default="13")
    sweeper.add_argument("--work", help="directory for the generated models (default: a temporary one)")
    args = parser.parse_args(argv)

    if args.command == "files":
        return 0 if compare_files(args.reference, args.candidate) else 1
    split = lambda text: [item for item in text.split(",") if item]  # noqa: E731
    opsets = [int(opset) for opset in split(args.opsets)]
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        return 0 if sweep(args.builder, split(args.variants), split(args.styles), opsets, args.work) else 1
    with tempfile.TemporaryDirectory() as work:
        return 0 if sweep(args.builder, split(args.variants), split(args.styles), opsets, work) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
