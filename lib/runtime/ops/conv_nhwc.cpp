// Fast Conv kernels on NHWC activations (float32, 2-D, weights known at plan time), one set per micro-kernel ISA:
//   conv1x1_gemm     pointwise, stride 1, no padding: the image is a [pixels, C] matrix, Y = X * W^T as one GEMM
//   dwconv3x3        depthwise 3x3, any stride and padding, no dilation: channels in vector lanes
//   conv_im2col_gemm any other ungrouped 2-D conv (the 3-channel stem): per tile of pixels, gather the receptive
//                    fields into rows of (kh, kw, c) and multiply them with the packed weights
// Each honours a fused Relu/Clip/Sigmoid. The reference kernel in conv.cpp defines what they compute.
#include <fmt/format.h>

#include "runtime/ops/op_checks.h"
#include "runtime/ops/packed_gemm.h"
#include "runtime/ops/window.h"

namespace mobileone::runtime {
namespace {

struct Conv2d {
    int64_t batch, in_channels, out_channels, group;
    WindowAxis height, width;
};

bool is_float_conv_2d(const NodeSignature& signature) {
    if (signature.inputs.size() < 2 || !signature.constant(1)) return false;
    if (signature.has_input(2) && !signature.constant(2)) return false;
    const ValueType& x = signature.inputs[0];
    return x.dtype == DataType::Float && x.shape.size() == 4 && signature.inputs[1].shape.size() == 4;
}

Conv2d conv_2d(const NodeSignature& signature) {
    const std::vector<int64_t>& x = signature.inputs[0].shape;
    const std::vector<int64_t>& w = signature.inputs[1].shape;
    std::vector<WindowAxis> window = resolve_window(signature.node, {x[2], x[3]}, {w[2], w[3]}, false);
    return {x[0], x[1], w[0], signature.node.attribute_int("group", 1), window[0], window[1]};
}

float bias_of(const NodeSignature& signature, int64_t channel) {
    return signature.has_input(2) ? signature.constant(2)->data<float>()[static_cast<std::size_t>(channel)] : 0.0f;
}

bool accepts_pointwise(const NodeSignature& signature) {
    if (!is_float_conv_2d(signature)) return false;
    Conv2d conv = conv_2d(signature);
    auto plain = [](const WindowAxis& a) {
        return a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0;
    };
    return conv.group == 1 && plain(conv.height) && plain(conv.width);
}

bool accepts_depthwise3x3(const NodeSignature& signature) {
    if (!is_float_conv_2d(signature)) return false;
    Conv2d conv = conv_2d(signature);
    auto taps3 = [](const WindowAxis& a) { return a.kernel == 3 && a.dilation == 1; };
    return conv.group == conv.in_channels && conv.out_channels == conv.in_channels && taps3(conv.height) &&
           taps3(conv.width) && conv.height.stride == conv.width.stride;
}

bool accepts_im2col(const NodeSignature& signature) {
    return is_float_conv_2d(signature) && conv_2d(signature).group == 1;
}

// W[m, c, kh, kw] as B[(kh * KW + kw) * C + c, m]: the (kh, kw, c) order in which NHWC receptive fields are gathered.
PackedMatrix pack_conv_weights(const Microkernels& microkernels, const NodeSignature& signature) {
    const Conv2d conv = conv_2d(signature);
    const float* w = signature.constant(1)->data<float>().data();
    const int64_t kh = conv.height.kernel, kw = conv.width.kernel, c = conv.in_channels;
    return PackedMatrix(
        microkernels, kh * kw * c, conv.out_channels,
        [&](int64_t i, int64_t m) {
            const int64_t tap = i / c, channel = i % c;
            return w[((m * c + channel) * kh + tap / kw) * kw + tap % kw];
        },
        [&](int64_t m) { return bias_of(signature, m); });
}

class PointwiseConv final : public Kernel {
public:
    PointwiseConv(const Microkernels& microkernels, const NodeSignature& signature)
        : microkernels_(microkernels), weights_(pack_conv_weights(microkernels, signature)),
          activation_(signature.activation) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const std::vector<int64_t>& x = inputs[0].shape();
        const int64_t pixels = x[0] * x[2] * x[3];
        packed_gemm(microkernels_, weights_,
                    {inputs[0].as<float>(), pixels, x[1], outputs[0].as<float>(), weights_.n()}, activation_, pool);
    }

private:
    const Microkernels& microkernels_;
    PackedMatrix weights_;
    FusedActivation activation_;
};

class Depthwise3x3Conv final : public Kernel {
public:
    Depthwise3x3Conv(const Microkernels& microkernels, const NodeSignature& signature)
        : row_kernel_(microkernels.depthwise3x3_row), conv_(conv_2d(signature)), activation_(signature.activation) {
        // Per group of vector_width channels: the biases, then the nine taps, zero past the last channel.
        const int64_t width = microkernels.vector_width, groups = (conv_.in_channels + width - 1) / width;
        weights_ = AlignedBuffer(static_cast<std::size_t>(groups * 10 * width));
        const float* w = signature.constant(1)->data<float>().data();
        for (int64_t c = 0; c < conv_.in_channels; ++c) {
            float* group = weights_.data() + c / width * 10 * width + c % width;
            group[0] = bias_of(signature, c);
            for (int64_t tap = 0; tap < 9; ++tap) group[(tap + 1) * width] = w[c * 9 + tap];
        }
    }

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const float* x = inputs[0].as<float>();
        float* y = outputs[0].as<float>();
        const int64_t rows = conv_.height.output, columns = conv_.width.output, channels = conv_.in_channels;
        const int64_t image_size = conv_.height.input * conv_.width.input * channels;
        pool.parallel_for(conv_.batch * rows, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                const int64_t n = task / rows, oh = task % rows;
                float* out = y + task * columns * channels;
                row_kernel_({x + n * image_size, conv_.height.input, conv_.width.input, channels, conv_.height.stride,
                             conv_.height.pad_begin, conv_.width.pad_begin, oh, columns, weights_.data(), out,
                             clamp_bounds(activation_)});
                finish_activation(activation_, out, columns * channels);
            }
        });
    }

private:
    DepthwiseRowFunction row_kernel_;
    Conv2d conv_;
    FusedActivation activation_;
    AlignedBuffer weights_;
};

class Im2colConv final : public Kernel {
public:
    Im2colConv(const Microkernels& microkernels, const NodeSignature& signature)
        : microkernels_(microkernels), weights_(pack_conv_weights(microkernels, signature)), conv_(conv_2d(signature)),
          activation_(signature.activation) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const float* x = inputs[0].as<float>();
        float* y = outputs[0].as<float>();
        const int64_t mr = static_cast<int64_t>(microkernels_.gemm_mr), k = weights_.k();
        const int64_t pixels = conv_.height.output * conv_.width.output, tiles = (pixels + mr - 1) / mr;
        pool.parallel_for(conv_.batch * tiles, [&](int64_t begin, int64_t end) {
            thread_local std::vector<float> rows;
            rows.resize(static_cast<std::size_t>(mr * k));
            for (int64_t task = begin; task < end; ++task) {
                const int64_t n = task / tiles, first = task % tiles * mr, count = std::min(mr, pixels - first);
                for (int64_t r = 0; r < count; ++r) gather(x, n, first + r, rows.data() + r * k);
                gemm_tile(microkernels_, weights_,
                          {rows.data(), count, k, y + (n * pixels + first) * weights_.n(), weights_.n()}, activation_);
            }
        });
    }

private:
    // The receptive field of output pixel p of image n, in (kh, kw, c) order, zero where it reaches the padding.
    // Without dilation the taps of one kernel row are adjacent pixels, contiguous in NHWC: one copy per row.
    void gather(const float* x, int64_t n, int64_t p, float* row) const {
        const WindowAxis &h = conv_.height, &w = conv_.width;
        const int64_t c = conv_.in_channels, oh = p / w.output, ow = p % w.output;
        const float* image = x + n * h.input * w.input * c;
        const int64_t left = ow * w.stride - w.pad_begin;
        for (int64_t kh = 0; kh < h.kernel; ++kh, row += w.kernel * c) {
            const int64_t ih = oh * h.stride - h.pad_begin + kh * h.dilation;
            if (ih < 0 || ih >= h.input) {
                std::fill_n(row, w.kernel * c, 0.0f);
                continue;
            }
            const float* line = image + ih * w.input * c;
            if (w.dilation == 1 && left >= 0 && left + w.kernel <= w.input) {
                std::copy_n(line + left * c, w.kernel * c, row);
                continue;
            }
            for (int64_t kw = 0; kw < w.kernel; ++kw) {
                const int64_t iw = left + kw * w.dilation;
                if (iw < 0 || iw >= w.input)
                    std::fill_n(row + kw * c, c, 0.0f);
                else
                    std::copy_n(line + iw * c, c, row + kw * c);
            }
        }
    }

    const Microkernels& microkernels_;
    PackedMatrix weights_;
    Conv2d conv_;
    FusedActivation activation_;
};

template <class ConvKernel>
auto make_with(const Microkernels& microkernels) {
    return [&microkernels](const NodeSignature& signature) -> std::unique_ptr<Kernel> {
        return std::make_unique<ConvKernel>(microkernels, signature);
    };
}

[[maybe_unused]] const bool registered = [] {
    for (const Microkernels* set : compiled_microkernels()) {
        const std::string isa = to_string(set->isa), tile = fmt::format("{}x{}", set->gemm_mr, set->gemm_nr);
        const int rank = isa_rank(set->isa);
        OpRegistry& registry = OpRegistry::instance();
        registry.add_kernel({"Conv", fmt::format("conv1x1_gemm_{}_{}", tile, isa), set->isa, 30 + rank,
                             accepts_pointwise, make_with<PointwiseConv>(*set), Layout::Nhwc, true});
        registry.add_kernel({"Conv", fmt::format("dwconv3x3_{}", isa), set->isa, 30 + rank, accepts_depthwise3x3,
                             make_with<Depthwise3x3Conv>(*set), Layout::Nhwc, true});
        registry.add_kernel({"Conv", fmt::format("conv_im2col_gemm_{}_{}", tile, isa), set->isa, 20 + rank,
                             accepts_im2col, make_with<Im2colConv>(*set), Layout::Nhwc, true});
    }
    return true;
}();

}  // namespace
}  // namespace mobileone::runtime
