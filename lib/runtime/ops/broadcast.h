#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

// Numpy multidirectional broadcasting of two inputs, as ONNX defines it for Add, Mul, ...
namespace mobileone::runtime {

// The broadcast shape of `a` and `b`, or nullopt when a pair of aligned dims differs and neither is 1.
std::optional<std::vector<int64_t>> broadcast_shape(std::span<const int64_t> a, std::span<const int64_t> b);

// How the output of a broadcast binary op reads its inputs. Neighbouring dims that every input either spans or
// broadcasts alike are merged, so same-shape inputs walk one flat dim and [2,3,4]+[4] walks [6,4].
struct BroadcastLayout {
    std::vector<int64_t> dims;        // merged output dims, never empty
    std::vector<int64_t> strides[2];  // per input and merged dim: element stride, 0 where the input is broadcast
    int64_t numel = 0;
};

BroadcastLayout make_broadcast_layout(std::span<const int64_t> a, std::span<const int64_t> b);

// Visits output elements [begin, end) in runs along the innermost merged dim: visit(out, count, a, b) covers output
// elements out..out+count-1, which read a + k * a_step and b + k * b_step for k in [0, count).
template <typename Visit>
void for_each_broadcast_run(const BroadcastLayout& layout, int64_t begin, int64_t end, Visit&& visit) {
    const std::size_t inner_axis = layout.dims.size() - 1;
    const int64_t inner = layout.dims[inner_axis];
    for (int64_t position = begin; position < end;) {
        int64_t row = position / inner;
        int64_t column = position % inner;
        int64_t count = std::min(inner - column, end - position);
        int64_t a = column * layout.strides[0][inner_axis];
        int64_t b = column * layout.strides[1][inner_axis];
        for (std::size_t axis = inner_axis; axis-- > 0;) {
            int64_t index = row % layout.dims[axis];
            row /= layout.dims[axis];
            a += index * layout.strides[0][axis];
            b += index * layout.strides[1][axis];
        }
        visit(position, count, a, b);
        position += count;
    }
}

}  // namespace mobileone::runtime
