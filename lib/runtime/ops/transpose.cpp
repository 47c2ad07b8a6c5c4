// Transpose: output dim k is input dim perm[k] (perm defaults to reversing the dims), so output element
// out[i_0, ..., i_n-1] = in[j] with j_perm[k] = i_k. Elements are moved as unsigned words of their size.
#include <algorithm>
#include <numeric>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

std::vector<int64_t> permutation(const NodeSignature& signature) {
    const Node& node = signature.node;
    const std::size_t rank = signature.inputs[0].shape.size();
    std::vector<int64_t> identity(rank);
    std::iota(identity.begin(), identity.end(), 0);
    if (!node.has_attribute("perm")) return {identity.rbegin(), identity.rend()};
    std::vector<int64_t> perm = node.attribute_ints("perm");
    if (!std::is_permutation(perm.begin(), perm.end(), identity.begin(), identity.end()))
        fail("node {}: perm {} is not a permutation of the {} input dims", node.label(), shape_to_string(perm), rank);
    return perm;
}

std::vector<ValueType> infer_transpose(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    const std::vector<int64_t>& input = signature.inputs[0].shape;
    std::vector<int64_t> shape;
    for (int64_t axis : permutation(signature)) shape.push_back(input[static_cast<std::size_t>(axis)]);
    return {{signature.inputs[0].dtype, shape}};
}

template <typename Word>
class TransposeKernel final : public Kernel {
public:
    TransposeKernel(std::vector<int64_t> dims, std::vector<int64_t> source_strides)
        : dims_(std::move(dims)), source_strides_(std::move(source_strides)), numel_(element_count(dims_)) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const auto* in = reinterpret_cast<const Word*>(inputs[0].data);
        auto* out = reinterpret_cast<Word*>(outputs[0].data);
        const std::size_t inner_axis = dims_.size() - 1;
        const int64_t inner = dims_[inner_axis];
        const int64_t step = source_strides_[inner_axis];
        pool.parallel_for(
            numel_,
            [&](int64_t begin, int64_t end) {
                // Walks runs along the innermost output dim, locating each run's first source element.
                for (int64_t position = begin; position < end;) {
                    int64_t row = position / inner;
                    int64_t column = position % inner;
                    int64_t count = std::min(inner - column, end - position);
                    int64_t source = column * step;
                    for (std::size_t axis = inner_axis; axis-- > 0;) {
                        source += (row % dims_[axis]) * source_strides_[axis];
                        row /= dims_[axis];
                    }
                    for (int64_t k = 0; k < count; ++k) out[position + k] = in[source + k * step];
                    position += count;
                }
            },
            kElementsPerTask);
    }

private:
    std::vector<int64_t> dims_;            // output dims, never empty
    std::vector<int64_t> source_strides_;  // per output dim: the input stride of the dim it comes from
    int64_t numel_;
};

std::unique_ptr<Kernel> make_transpose(const NodeSignature& signature) {
    const ValueType& input = signature.inputs[0];
    std::vector<int64_t> input_strides(input.shape.size());
    int64_t stride = 1;
    for (std::size_t axis = input.shape.size(); axis-- > 0;) {
        input_strides[axis] = stride;
        stride *= input.shape[axis];
    }
    std::vector<int64_t> dims = {1};  // a scalar walks one run of one element
    std::vector<int64_t> source_strides = {0};
    for (int64_t axis : permutation(signature)) {
        dims.push_back(input.shape[static_cast<std::size_t>(axis)]);
        source_strides.push_back(input_strides[static_cast<std::size_t>(axis)]);
    }
    switch (element_size(input.dtype)) {
        case 1: return std::make_unique<TransposeKernel<uint8_t>>(dims, source_strides);
        case 2: return std::make_unique<TransposeKernel<uint16_t>>(dims, source_strides);
        case 4: return std::make_unique<TransposeKernel<uint32_t>>(dims, source_strides);
        case 8: return std::make_unique<TransposeKernel<uint64_t>>(dims, source_strides);
        default: fail("node {}: no kernel for type {}", signature.node.label(), to_string(input.dtype));
    }
}

}  // namespace

MOBILEONE_REGISTER_OP(Transpose, infer_transpose, make_transpose);

}  // namespace mobileone::runtime
