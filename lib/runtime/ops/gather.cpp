// Gather: out[o..., i..., n...] = data[o..., index(indices[i...]), n...] along `axis` (default 0),
// where a negative index counts from the end of that axis. Output shape: data[:axis] + indices.shape + data[axis+1:].
// The kernel copies whole inner blocks, so it serves every element type.
#include <algorithm>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

std::vector<ValueType> infer_gather(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 2, 2);
    expect_dtype(node, signature.inputs[1].dtype, "indices", IndexTypes{});
    const std::vector<int64_t>& data = signature.inputs[0].shape;
    const std::vector<int64_t>& indices = signature.inputs[1].shape;
    if (data.empty()) fail("node {}: cannot gather from a scalar", node.label());
    const auto axis = static_cast<std::size_t>(
        normalize_axis(node, node.attribute_int("axis", 0), static_cast<int64_t>(data.size())));
    std::vector<int64_t> shape(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(axis));
    shape.insert(shape.end(), indices.begin(), indices.end());
    shape.insert(shape.end(), data.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.end());
    return {{signature.inputs[0].dtype, shape}};
}

template <typename Index>
class GatherKernel final : public Kernel {
public:
    GatherKernel(std::string label, int64_t outer, int64_t extent, std::size_t block_bytes)
        : label_(std::move(label)), outer_(outer), extent_(extent), block_bytes_(block_bytes) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const std::byte* data = inputs[0].data;
        const Index* indices = inputs[1].as<Index>();
        const int64_t count = inputs[1].numel();
        // Indices are runtime values: reject bad ones before any thread reads with them.
        for (int64_t i = 0; i < count; ++i)
            if (indices[i] < -extent_ || indices[i] >= extent_)
                fail("node {}: index {} is out of range for an axis of size {}", label_, indices[i], extent_);
        std::byte* out = outputs[0].data;
        const auto grain = std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(1, block_bytes_));
        pool.parallel_for(
            outer_ * count,
            [&](int64_t begin, int64_t end) {
                for (int64_t block = begin; block < end; ++block) {
                    int64_t o = block / count;
                    int64_t index = indices[block % count];
                    if (index < 0) index += extent_;
                    std::copy_n(data + static_cast<std::size_t>(o * extent_ + index) * block_bytes_, block_bytes_,
                                out + static_cast<std::size_t>(block) * block_bytes_);
                }
            },
            grain);
    }

private:
    std::string label_;
    int64_t outer_;            // product of data dims before axis
    int64_t extent_;           // data dim at axis
    std::size_t block_bytes_;  // bytes of one slice: product of data dims after axis times the element size
};

std::unique_ptr<Kernel> make_gather(const NodeSignature& signature) {
    const Node& node = signature.node;
    const ValueType& data = signature.inputs[0];
    const auto axis = static_cast<std::size_t>(
        normalize_axis(node, node.attribute_int("axis", 0), static_cast<int64_t>(data.shape.size())));
    std::span<const int64_t> dims(data.shape);
    const int64_t outer = element_count(dims.first(axis));
    const auto block_bytes =
        static_cast<std::size_t>(element_count(dims.subspan(axis + 1))) * element_size(data.dtype);
    return make_for_dtype(IndexTypes{}, node, signature.inputs[1].dtype, [&]<typename Index>() {
        return std::unique_ptr<Kernel>(new GatherKernel<Index>(node.label(), outer, dims[axis], block_bytes));
    });
}

}  // namespace

MOBILEONE_REGISTER_OP(Gather, infer_gather, make_gather);

}  // namespace mobileone::runtime
