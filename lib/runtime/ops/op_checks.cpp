#include "runtime/ops/op_checks.h"

#include <algorithm>

namespace mobileone::runtime {

void expect_input_count(const NodeSignature& signature, std::size_t min, std::size_t max) {
    std::size_t count = signature.inputs.size();
    if (count < min || count > max)
        fail("node {}: takes {} to {} inputs, has {}", signature.node.label(), min, max, count);
    for (std::size_t i = 0; i < min; ++i)
        if (!signature.inputs[i].present()) fail("node {}: required input {} is missing", signature.node.label(), i);
}

void expect_same_dtype(const NodeSignature& signature, std::size_t first, std::size_t second) {
    DataType a = signature.inputs.at(first).dtype;
    DataType b = signature.inputs.at(second).dtype;
    if (a != b)
        fail("node {}: inputs {} and {} have different types ({} and {})", signature.node.label(), first, second,
             to_string(a), to_string(b));
}

int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank) {
    if (axis < -rank || axis >= rank) fail("node {}: axis {} is out of range for rank {}", node.label(), axis, rank);
    return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> normalize_axes(const Node& node, std::vector<int64_t> axes, int64_t rank) {
    for (int64_t& axis : axes) axis = normalize_axis(node, axis, rank);
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        fail("node {}: an axis is repeated", node.label());
    return axes;
}

std::vector<int64_t> constant_ints(const NodeSignature& signature, std::size_t index, const char* what) {
    const Tensor* value = signature.constant(index);
    if (!value)
        fail("node {}: {} (input {}) must be a constant known before running, e.g. an initializer",
             signature.node.label(), what, index);
    if (value->dtype() != DataType::Int64)
        fail("node {}: {} must be an int64 tensor, got {}", signature.node.label(), what, to_string(value->dtype()));
    return value->to_int64s();
}

}  // namespace mobileone::runtime
