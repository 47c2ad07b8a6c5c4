#pragma once
// Reference evaluation of the small ops exporters emit for shape arithmetic, for fold_constants.

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace mobileone {

// fold_constants never creates a constant larger than this unless its inputs were at least as large (a Reshape of a
// weight): shape arithmetic is tiny, and a big ConstantOfShape is cheaper to compute at run time than to store.
inline constexpr int64_t kMaxFoldedElements = 1 << 16;

// The tensor a Constant node defines; nullopt for the forms the IR cannot hold (strings).
std::optional<Tensor> constant_node_value(const Node& node);

// The axes of Squeeze/Unsqueeze: an attribute before opset 13, an optional second input since. nullopt: not given.
std::optional<std::vector<int64_t>> squeeze_axes(const Node& node, const Tensor* axes_input, int64_t opset);

// `node` (default domain, opset `opset`) evaluated on constant inputs; nullptr marks an omitted optional input.
// Handles Constant, ConstantOfShape, Identity, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast, Reshape, Flatten and
// int64 Add/Sub/Mul/Div. nullopt: not an op or case evaluated here. Throws Error (naming the node) on inputs that
// break the op's contract, e.g. an index out of range.
std::optional<Tensor> evaluate_constant_node(const Node& node, const std::vector<const Tensor*>& inputs, int64_t opset);

}  // namespace mobileone
