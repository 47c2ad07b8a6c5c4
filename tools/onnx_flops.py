"""FLOPs and op kinds of ONNX nodes: what tools/bench.py divides measured time by.

FLOPs are 2 x the multiply-adds of Conv, Gemm and MatMul, the unit FMA peaks are quoted in; other ops count none.
An op kind is the op type refined by what picks a different kernel: for Conv the kernel size, depthwise or dense, the
stride, and a 1x1 map (squeeze-excite). Kinds and FLOPs come from tensor shapes alone, so an ONNX node and an ONNX
Runtime profiler event (which carries shapes but renames the nodes it rewrites) are classified the same way.
"""
import math
from collections import namedtuple

import onnx

# ONNX Runtime's fusions of an op with its activation do the op's arithmetic.
FUSED_OPS = {"FusedConv": "Conv", "FusedGemm": "Gemm", "FusedMatMul": "MatMul"}

NodeCost = namedtuple("NodeCost", "op kind flops")


def node_cost(op, input_shapes, output_shape):
    """Kind and FLOPs of one node; a shape is a list of ints, or None when unknown."""
    op = FUSED_OPS.get(op, op)
    x = input_shapes[0] if input_shapes else None
    w = input_shapes[1] if len(input_shapes) > 1 else None
    if op == "Conv" and x and w and output_shape and len(w) == 4:
        kind = f"Conv {w[2]}x{w[3]}"
        if w[1] == 1 and x[1] > 1:
            kind += " dw"
        stride = x[2] // output_shape[2]
        if stride > 1:
            kind += f" s{stride}"
        if output_shape[2] * output_shape[3] == 1:
            kind += " 1px"
        return NodeCost(op, kind, 2 * math.prod(output_shape) * math.prod(w[1:]))
    if op == "Gemm" and x and output_shape:
        return NodeCost(op, op, 2 * math.prod(output_shape) * (math.prod(x) // output_shape[0]))
    if op == "MatMul" and x and output_shape:
        return NodeCost(op, op, 2 * math.prod(output_shape) * x[-1])
    return NodeCost(op, op, 0)


def node_costs(model):
    """Node name -> NodeCost for every node of an onnx.ModelProto, shapes from ONNX shape inference."""
    graph = onnx.shape_inference.infer_shapes(model).graph
    shapes = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if all(dim.HasField("dim_value") for dim in dims):
            shapes[value.name] = [dim.dim_value for dim in dims]
    for initializer in graph.initializer:
        shapes[initializer.name] = list(initializer.dims)
    return {node.name: node_cost(node.op_type, [shapes.get(name) for name in node.input],
                                 shapes.get(node.output[0]) if node.output else None)
            for node in graph.node}


def model_flops(model):
    return sum(cost.flops for cost in node_costs(model).values())
