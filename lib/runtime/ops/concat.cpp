// Concat: joins its inputs along `axis`; every other dim must match. Each row of the output (one index into the dims
// before axis) is the inputs' rows side by side, so the kernel copies blocks of bytes and serves every element type.
#include <algorithm>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

// The concatenation axis: required from opset 4, 1 before.
int64_t concat_axis(const NodeSignature& signature) {
    const Node& node = signature.node;
    if (signature.opset >= 4 && !node.has_attribute("axis")) fail("node {}: attribute axis is required", node.label());
    const auto rank = static_cast<int64_t>(signature.inputs[0].shape.size());
    return normalize_axis(node, node.attribute_int("axis", 1), rank);
}

std::vector<ValueType> infer_concat(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, signature.inputs.size());
    const auto axis = static_cast<std::size_t>(concat_axis(signature));
    std::vector<int64_t> shape = signature.inputs[0].shape;
    for (std::size_t i = 1; i < signature.inputs.size(); ++i) {
        expect_same_dtype(signature, 0, i);
        const std::vector<int64_t>& other = signature.inputs[i].shape;
        bool fits = other.size() == shape.size();
        for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = d == axis || other[d] == shape[d];
        if (!fits)
            fail("node {}: input {} has shape {}, incompatible with {} on axis {}", node.label(), i,
                 shape_to_string(other), shape_to_string(signature.inputs[0].shape), axis);
        shape[axis] += other[axis];
    }
    return {{signature.inputs[0].dtype, shape}};
}

class ConcatKernel final : public Kernel {
public:
    ConcatKernel(int64_t rows, std::vector<std::size_t> block_bytes)
        : rows_(rows), block_bytes_(std::move(block_bytes)) {
        for (std::size_t bytes : block_bytes_) row_bytes_ += bytes;
    }

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        std::byte* out = outputs[0].data;
        const auto grain = std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(1, static_cast<int64_t>(row_bytes_)));
        pool.parallel_for(
            rows_,
            [&](int64_t begin, int64_t end) {
                for (int64_t row = begin; row < end; ++row) {
                    std::byte* to = out + static_cast<std::size_t>(row) * row_bytes_;
                    for (std::size_t i = 0; i < inputs.size(); ++i) {
                        std::copy_n(inputs[i].data + static_cast<std::size_t>(row) * block_bytes_[i], block_bytes_[i], to);
                        to += block_bytes_[i];
                    }
                }
            },
            grain);
    }

private:
    int64_t rows_;                         // product of dims before axis
    std::vector<std::size_t> block_bytes_;  // per input: bytes of one row
    std::size_t row_bytes_ = 0;            // bytes of one output row
};

std::unique_ptr<Kernel> make_concat(const NodeSignature& signature) {
    const auto axis = static_cast<std::size_t>(concat_axis(signature));
    std::vector<std::size_t> block_bytes;
    for (const ValueType& input : signature.inputs) {
        std::span<const int64_t> dims(input.shape);
        block_bytes.push_back(static_cast<std::size_t>(element_count(dims.subspan(axis))) * element_size(input.dtype));
    }
    const int64_t rows = element_count(std::span(signature.inputs[0].shape).first(axis));
    return std::make_unique<ConcatKernel>(rows, std::move(block_bytes));
}

}  // namespace

MOBILEONE_REGISTER_OP(Concat, infer_concat, make_concat);

}  // namespace mobileone::runtime
