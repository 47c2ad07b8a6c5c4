// Softmax: y = exp(x - max) / sum(exp(x - max)) over groups of elements, the max subtracted for range.
// Opset 13 and later normalise along the single dim `axis` (default -1). Earlier opsets coerce the input to 2-D at
// `axis` (default 1) and normalise each row [x[i, axis:]] as a whole.
// The tensor is viewed as [outer, extent, inner]: each (outer, inner) pair is one group, strided by `inner`.
#include <algorithm>
#include <cmath>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

struct SoftmaxShape {
    int64_t outer = 1;
    int64_t extent = 1;
    int64_t inner = 1;
};

SoftmaxShape softmax_shape(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, 1);
    const std::vector<int64_t>& dims = signature.inputs[0].shape;
    expect_dtype<float, double>(node, signature.inputs[0].dtype, "input");
    const bool single_axis = signature.opset >= 13;
    const int64_t rank = static_cast<int64_t>(dims.size());
    if (single_axis && rank == 0) fail("node {}: input must have at least one dim", node.label());
    // Before opset 13 axis may equal rank: every row is then one element long.
    int64_t axis = node.attribute_int("axis", single_axis ? -1 : 1);
    axis = single_axis ? normalize_axis(node, axis, rank) : (axis == rank ? rank : normalize_axis(node, axis, rank));
    std::span<const int64_t> all(dims);
    SoftmaxShape shape;
    shape.outer = element_count(all.first(axis));
    shape.extent = single_axis ? dims[axis] : element_count(all.subspan(axis));
    shape.inner = single_axis ? element_count(all.subspan(axis + 1)) : 1;
    return shape;
}

std::vector<ValueType> infer_softmax(const NodeSignature& signature) {
    softmax_shape(signature);
    return {signature.inputs[0]};
}

template <typename T>
class SoftmaxKernel final : public Kernel {
public:
    explicit SoftmaxKernel(const SoftmaxShape& shape) : shape_(shape) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const T* x = inputs[0].as<T>();
        T* y = outputs[0].as<T>();
        const int64_t extent = shape_.extent, inner = shape_.inner;
        pool.parallel_for(
            shape_.outer * inner,
            [&](int64_t begin, int64_t end) {
                for (int64_t group = begin; group < end; ++group) {
                    const int64_t first = group / inner * extent * inner + group % inner;
                    T max = x[first];
                    for (int64_t i = 1; i < extent; ++i) max = std::max(max, x[first + i * inner]);
                    // Summed in double: over a thousand classes a float sum drifts by ~1e-5 relative.
                    double sum = 0;
                    for (int64_t i = 0; i < extent; ++i) {
                        T e = std::exp(x[first + i * inner] - max);
                        y[first + i * inner] = e;
                        sum += e;
                    }
                    for (int64_t i = 0; i < extent; ++i)
                        y[first + i * inner] = static_cast<T>(y[first + i * inner] / sum);
                }
            },
            std::max<int64_t>(1, 4096 / std::max<int64_t>(extent, 1)));
    }

private:
    SoftmaxShape shape_;
};

std::unique_ptr<Kernel> make_softmax(const NodeSignature& signature) {
    SoftmaxShape shape = softmax_shape(signature);
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype,
                                         [&]<typename T>() { return std::make_unique<SoftmaxKernel<T>>(shape); });
}

}  // namespace

MOBILEONE_REGISTER_OP(Softmax, infer_softmax, make_softmax);

}  // namespace mobileone::runtime
