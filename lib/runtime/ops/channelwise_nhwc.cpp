// Fast per-channel kernels on NHWC activations (float32), one set per micro-kernel ISA; together with the NHWC
// convolutions they keep a squeeze-excite unit (GlobalAveragePool, two 1x1 convs, Sigmoid, Mul) in NHWC:
//   global_average_pool_nhwc  y[n, c] = mean over pixels of x[n, :, :, c]
//   mul_channel_scale_nhwc    Mul of a [N, C, H, W] value by a [N or 1, C, 1, 1] one (either order), fused Relu/Clip
// The reference kernels in pool.cpp and binary.cpp define what they compute.
#include <fmt/format.h>

#include "runtime/layout.h"
#include "runtime/ops/microkernels.h"
#include "runtime/ops/op_checks.h"
#include "runtime/ops/packed_gemm.h"

namespace mobileone::runtime {
namespace {

bool is_float_image(const ValueType& type) { return type.dtype == DataType::Float && type.shape.size() == 4; }

bool accepts_global_average_pool(const NodeSignature& signature) { return is_float_image(signature.inputs[0]); }

class ChannelMeanKernel final : public Kernel {
public:
    explicit ChannelMeanKernel(const Microkernels& microkernels) : mean_(microkernels.channel_mean) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const std::vector<int64_t>& x = inputs[0].shape();
        const int64_t channels = x[1], pixels = x[2] * x[3];
        pool.parallel_for(x[0], [&](int64_t begin, int64_t end) {
            for (int64_t n = begin; n < end; ++n)
                mean_(inputs[0].as<float>() + n * pixels * channels, pixels, channels,
                      outputs[0].as<float>() + n * channels);
        });
    }

private:
    ChannelMeanFunction mean_;
};

// Which input of a Mul is the per-channel scale of the other, or -1. An image known at plan time is NCHW, as every
// constant is, so it is left to the reference kernel.
int scale_input(const NodeSignature& signature) {
    if (signature.inputs.size() != 2) return -1;
    for (int scale = 0; scale < 2; ++scale) {
        const ValueType &image = signature.inputs[1 - scale], &factor = signature.inputs[scale];
        if (!is_float_image(image) || !is_float_image(factor) || layout_neutral(image.shape) ||
            signature.constant(1 - scale))
            continue;
        const std::vector<int64_t>& s = factor.shape;
        if ((s[0] == image.shape[0] || s[0] == 1) && s[1] == image.shape[1] && s[2] == 1 && s[3] == 1) return scale;
    }
    return -1;
}

bool accepts_channel_scale(const NodeSignature& signature) { return scale_input(signature) >= 0; }

class ChannelScaleKernel final : public Kernel {
public:
    ChannelScaleKernel(const Microkernels& microkernels, const NodeSignature& signature)
        : scale_(microkernels.channel_scale), scale_input_(scale_input(signature)), activation_(signature.activation) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const TensorView &image = inputs[1 - scale_input_], &factor = inputs[scale_input_];
        const int64_t batch = image.shape()[0], channels = image.shape()[1];
        const int64_t pixels = image.shape()[2] * image.shape()[3];
        const bool per_image = factor.shape()[0] != 1;
        // Rows of pixels are the unit of work, so one image still spreads over every thread.
        constexpr int64_t rows_per_task = 64;
        const int64_t tasks_per_image = (pixels + rows_per_task - 1) / rows_per_task;
        pool.parallel_for(batch * tasks_per_image, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                const int64_t n = task / tasks_per_image, first = task % tasks_per_image * rows_per_task;
                const int64_t offset = (n * pixels + first) * channels;
                const int64_t count = std::min(rows_per_task, pixels - first);
                float* y = outputs[0].as<float>() + offset;
                scale_(image.as<float>() + offset, factor.as<float>() + (per_image ? n * channels : 0), count, channels,
                       y, clamp_bounds(activation_));
                finish_activation(activation_, y, count * channels);
            }
        });
    }

private:
    ChannelScaleFunction scale_;
    int scale_input_;
    FusedActivation activation_;
};

[[maybe_unused]] const bool registered = [] {
    for (const Microkernels* set : compiled_microkernels()) {
        const std::string isa = to_string(set->isa);
        OpRegistry& registry = OpRegistry::instance();
        registry.add_kernel({"GlobalAveragePool", fmt::format("global_average_pool_nhwc_{}", isa), set->isa,
                             10 + isa_rank(set->isa), accepts_global_average_pool,
                             [set](const NodeSignature&) -> std::unique_ptr<Kernel> {
                                 return std::make_unique<ChannelMeanKernel>(*set);
                             },
                             Layout::Nhwc, false});
        registry.add_kernel({"Mul", fmt::format("mul_channel_scale_nhwc_{}", isa), set->isa, 10 + isa_rank(set->isa),
                             accepts_channel_scale,
                             [set](const NodeSignature& signature) -> std::unique_ptr<Kernel> {
                                 return std::make_unique<ChannelScaleKernel>(*set, signature);
                             },
                             Layout::Nhwc, true});
    }
    return true;
}();

}  // namespace
}  // namespace mobileone::runtime
