#include "runtime/ops/broadcast.h"

#include "ir/error.h"
#include "ir/tensor.h"

namespace mobileone::runtime {

namespace {

// `shape` with leading 1s up to `rank`: broadcasting aligns shapes at their last dims.
std::vector<int64_t> left_padded(std::span<const int64_t> shape, std::size_t rank) {
    std::vector<int64_t> padded(rank - shape.size(), 1);
    padded.insert(padded.end(), shape.begin(), shape.end());
    return padded;
}

}  // namespace

std::optional<std::vector<int64_t>> broadcast_shape(std::span<const int64_t> a, std::span<const int64_t> b) {
    std::size_t rank = std::max(a.size(), b.size());
    std::vector<int64_t> padded_a = left_padded(a, rank);
    std::vector<int64_t> padded_b = left_padded(b, rank);
    std::vector<int64_t> shape(rank);
    for (std::size_t axis = 0; axis < rank; ++axis) {
        int64_t x = padded_a[axis];
        int64_t y = padded_b[axis];
        if (x != y && x != 1 && y != 1) return std::nullopt;
        shape[axis] = x == 1 ? y : x;
    }
    return shape;
}

BroadcastLayout make_broadcast_layout(std::span<const int64_t> a, std::span<const int64_t> b) {
    std::optional<std::vector<int64_t>> out = broadcast_shape(a, b);
    if (!out) fail("shapes {} and {} do not broadcast", shape_to_string(a), shape_to_string(b));
    const std::vector<int64_t> inputs[2] = {left_padded(a, out->size()), left_padded(b, out->size())};

    BroadcastLayout layout;
    layout.numel = element_count(*out);
    std::vector<bool> spans[2];  // per input and merged dim: whether the input has the full extent
    for (std::size_t axis = 0; axis < out->size(); ++axis) {
        int64_t extent = (*out)[axis];
        if (extent == 1) continue;  // size-1 dims move no input pointer
        bool spans_a = inputs[0][axis] == extent;
        bool spans_b = inputs[1][axis] == extent;
        if (!layout.dims.empty() && spans[0].back() == spans_a && spans[1].back() == spans_b) {
            layout.dims.back() *= extent;
        } else {
            layout.dims.push_back(extent);
            spans[0].push_back(spans_a);
            spans[1].push_back(spans_b);
        }
    }
    if (layout.dims.empty()) {
        layout.dims = {1};
        spans[0] = spans[1] = {false};
    }
    for (int input = 0; input < 2; ++input) {
        layout.strides[input].assign(layout.dims.size(), 0);
        int64_t stride = 1;
        for (std::size_t axis = layout.dims.size(); axis-- > 0;) {
            if (!spans[input][axis]) continue;
            layout.strides[input][axis] = stride;
            stride *= layout.dims[axis];
        }
    }
    return layout;
}

}  // namespace mobileone::runtime
