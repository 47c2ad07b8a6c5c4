"""Per-op-kind profiles of one model, our runtime against ONNX Runtime (tools/bench.py --profile).

Ours: the rows of `mobileone-run --profile --bench N --json` (each node's time averaged over the N timed runs), the
kind and FLOPs of each looked up by node name in the ONNX graph run (then in its deploy graph, whose merged Convs a
load-time optimizer may reproduce), provided the op type agrees. ONNX Runtime: its profiler trace, whose per-node
events carry tensor shapes (its graph optimizer renames the nodes it rewrites, so names cannot be matched), averaged
over the runs after the warm-up. Each side's GFLOP/s is its own executed work: for a train graph ONNX Runtime runs
every branch, while our runtime may have merged them.
"""
from collections import defaultdict, namedtuple

from onnx_flops import FUSED_OPS, node_cost

Entry = namedtuple("Entry", "kind kernel ms flops")

KERNEL_TIME = "_kernel_time"
FLOP_OPS = ("Conv", "Gemm", "MatMul")


def our_entries(rows, catalogues):
    """Entries of our profile rows, and the op types of FLOP-carrying rows no graph node explained."""
    entries, unmatched = [], set()
    for row in rows:
        op = FUSED_OPS.get(row["op"], row["op"])
        cost = next((catalogue[row["node"]] for catalogue in catalogues
                     if row["node"] in catalogue and catalogue[row["node"]].op == op), None)
        if cost is None and op in FLOP_OPS:
            unmatched.add(op)
        entries.append(Entry(cost.kind if cost else op, row["kernel"], row["ms"], cost.flops if cost else 0))
    return entries, sorted(unmatched)


def ort_entries(events):
    """Entries of an ONNX Runtime profiler trace, per run, averaged over every run but the first (the warm-up)."""
    runs = sorted((event["ts"], event["ts"] + event["dur"]) for event in events
                  if event.get("cat") == "Session" and event["name"] == "model_run")
    timed = runs[1:] or runs
    nodes = {}
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith(KERNEL_TIME):
            continue
        if not any(start <= event["ts"] <= end for start, end in timed):
            continue
        args = event["args"]
        name = event["name"][:-len(KERNEL_TIME)]
        if name not in nodes:
            shapes = [next(iter(shape.values())) for shape in args.get("input_type_shape", [])]
            outputs = [next(iter(shape.values())) for shape in args.get("output_type_shape", [])]
            cost = node_cost(args["op_name"], shapes, outputs[0] if outputs else None)
            nodes[name] = Entry(cost.kind, args["op_name"], 0.0, cost.flops)
        nodes[name] = nodes[name]._replace(ms=nodes[name].ms + event["dur"] / 1000 / len(timed))
    return list(nodes.values())


def gflops(flops, ms):
    return flops / ms / 1e6 if flops and ms > 0 else None


def percent(rate, peak):
    return 100 * rate / peak if rate is not None and peak else None


def summed(entries, key):
    groups = defaultdict(lambda: [0, 0.0, 0])  # nodes, ms, flops
    for entry in entries:
        group = groups[key(entry)]
        group[0] += 1
        group[1] += entry.ms
        group[2] += entry.flops
    return groups


def kind_table(ours, ort, peak):
    """Rows of kind, nodes ours, nodes ORT, ms ours, ms ORT, ratio, then GFLOP/s and % of `peak` for each side; the
    slowest kind (ours) first, then a total row. None where a side has no such node."""
    our_kinds, ort_kinds = summed(ours, lambda e: e.kind), summed(ort, lambda e: e.kind)
    kinds = sorted(set(our_kinds) | set(ort_kinds), key=lambda kind: (-our_kinds[kind][1], -ort_kinds[kind][1]))

    def row(kind, mine, theirs):
        (our_nodes, our_ms, our_flops), (ort_nodes, ort_ms, ort_flops) = mine, theirs
        our_rate, ort_rate = gflops(our_flops, our_ms), gflops(ort_flops, ort_ms)
        return [kind, our_nodes, ort_nodes, our_ms if our_nodes else None, ort_ms if ort_nodes else None,
                our_ms / ort_ms if our_nodes and ort_ms else None,
                our_rate, percent(our_rate, peak), ort_rate, percent(ort_rate, peak)]

    def total(groups):
        return [sum(group[i] for group in groups.values()) for i in range(3)]

    return [row(kind, our_kinds[kind], ort_kinds[kind]) for kind in kinds] + [
        row("total", total(our_kinds), total(ort_kinds))]


def kernel_table(ours, peak):
    """Rows of kind, kernel, nodes, ms, % of our time, GFLOP/s, % of `peak`; slowest first."""
    total = sum(entry.ms for entry in ours) or 1
    groups = summed(ours, lambda e: (e.kind, e.kernel))
    rows = []
    for (kind, kernel), (nodes, ms, flops) in sorted(groups.items(), key=lambda item: -item[1][1]):
        rate = gflops(flops, ms)
        rows.append([kind, kernel, nodes, ms, 100 * ms / total, rate, percent(rate, peak)])
    return rows
