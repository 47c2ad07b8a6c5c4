// BatchNormalization, inference form: Y[n, c, ...] = (X[n, c, ...] - mean[c]) / sqrt(var[c] + epsilon) * scale[c] +
// B[c] Training mode (training_mode=1 from opset 14, or the extra running-statistics outputs before it) and the
// per-element statistics of spatial=0 (opsets 6 to 8) are rejected.
#include <cmath>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

constexpr const char* kStatisticNames[] = {"scale", "B", "mean", "var"};

std::vector<ValueType> infer_batch_normalization(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 5, 5);
    if (node.attribute_int("training_mode", 0) != 0 || node.outputs.size() > 1)
        fail("node {}: training mode is not supported, only inference", node.label());
    if (node.attribute_int("spatial", 1) != 1)
        fail("node {}: spatial=0 (per-element statistics) is not supported", node.label());
    const ValueType& x = signature.inputs[0];
    expect_dtype<float, double>(node, x.dtype, "input X");
    if (x.shape.size() < 2)
        fail("node {}: input X has shape {}, needs at least [N, C]", node.label(), shape_to_string(x.shape));
    for (std::size_t i = 1; i < 5; ++i) {
        expect_same_dtype(signature, 0, i);
        if (signature.inputs[i].shape != std::vector<int64_t>{x.shape[1]})
            fail("node {}: {} has shape {}, expected [{}]", node.label(), kStatisticNames[i - 1],
                 shape_to_string(signature.inputs[i].shape), x.shape[1]);
    }
    return {x};
}

template <typename T>
class BatchNormalizationKernel final : public Kernel {
public:
    explicit BatchNormalizationKernel(T epsilon) : epsilon_(epsilon) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const std::vector<int64_t>& shape = inputs[0].shape();
        const int64_t channels = shape[1];
        const int64_t plane = element_count(std::span(shape).subspan(2));
        const T* x = inputs[0].as<T>();
        const T* scale = inputs[1].as<T>();
        const T* bias = inputs[2].as<T>();
        const T* mean = inputs[3].as<T>();
        const T* var = inputs[4].as<T>();
        T* y = outputs[0].as<T>();
        pool.parallel_for(shape[0] * channels, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                int64_t c = task % channels;
                T inverse_std = T(1) / std::sqrt(var[c] + epsilon_);
                for (int64_t i = task * plane; i < (task + 1) * plane; ++i)
                    y[i] = (x[i] - mean[c]) * inverse_std * scale[c] + bias[c];
            }
        });
    }

private:
    T epsilon_;
};

std::unique_ptr<Kernel> make_batch_normalization(const NodeSignature& signature) {
    float epsilon = signature.node.attribute_float("epsilon", 1e-5f);
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        return std::make_unique<BatchNormalizationKernel<T>>(static_cast<T>(epsilon));
    });
}

}  // namespace

MOBILEONE_REGISTER_OP(BatchNormalization, infer_batch_normalization, make_batch_normalization);

}  // namespace mobileone::runtime
