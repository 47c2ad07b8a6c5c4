// Conv: Y[n, m, o] = B[m] + sum over c in m's group, k in kernel of W[m, c, k] * X[n, g * C/group + c, o * s - p + k *
// d] Taps landing in the padding read zero. 1 to 3 spatial dims, any group, stride, dilation, pads or auto_pad. Each
// task computes whole output planes (one image, one output channel), summing taps in a fixed order.
#include <algorithm>

#include "runtime/ops/op_checks.h"
#include "runtime/ops/window.h"

namespace mobileone::runtime {
namespace {

struct ConvShape {
    int64_t batch = 0;
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    int64_t group = 1;
    std::vector<WindowAxis> window;
};

ConvShape conv_shape(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 2, 3);
    const ValueType& x = signature.inputs[0];
    const ValueType& w = signature.inputs[1];
    expect_dtype<float, double>(node, x.dtype, "input X");
    expect_same_dtype(signature, 0, 1);
    if (x.shape.size() < 3 || x.shape.size() > 5)
        fail("node {}: input X has shape {}; 1 to 3 spatial dims are supported", node.label(),
             shape_to_string(x.shape));
    if (w.shape.size() != x.shape.size())
        fail("node {}: weight shape {} does not match input rank {}", node.label(), shape_to_string(w.shape),
             x.shape.size());

    ConvShape shape;
    shape.batch = x.shape[0];
    shape.in_channels = x.shape[1];
    shape.out_channels = w.shape[0];
    shape.group = node.attribute_int("group", 1);
    if (shape.group < 1 || shape.in_channels % shape.group != 0 || shape.out_channels % shape.group != 0 ||
        w.shape[1] * shape.group != shape.in_channels)
        fail("node {}: group {} does not fit input channels {} and weight shape {}", node.label(), shape.group,
             shape.in_channels, shape_to_string(w.shape));
    if (signature.has_input(2)) {
        expect_same_dtype(signature, 0, 2);
        if (signature.inputs[2].shape != std::vector<int64_t>{shape.out_channels})
            fail("node {}: bias shape {} is not [{}]", node.label(), shape_to_string(signature.inputs[2].shape),
                 shape.out_channels);
    }
    std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
    if (node.has_attribute("kernel_shape") && node.attribute_ints("kernel_shape") != kernel)
        fail("node {}: kernel_shape disagrees with weight shape {}", node.label(), shape_to_string(w.shape));
    shape.window = resolve_window(node, {x.shape.begin() + 2, x.shape.end()}, kernel, false);
    return shape;
}

std::vector<ValueType> infer_conv(const NodeSignature& signature) {
    ConvShape shape = conv_shape(signature);
    std::vector<int64_t> dims = {shape.batch, shape.out_channels};
    for (int64_t size : output_sizes(shape.window)) dims.push_back(size);
    return {{signature.inputs[0].dtype, dims}};
}

template <typename T>
class ConvKernel final : public Kernel {
public:
    explicit ConvKernel(const ConvShape& shape) : shape_(shape), axes_(as_3d(shape.window)) {
        for (std::size_t a = 0; a < axes_.size(); ++a) {
            input_plane_ *= axes_[a].input;
            output_plane_ *= axes_[a].output;
            kernel_volume_ *= axes_[a].kernel;
            for (int64_t k = 0; k < axes_[a].kernel; ++k) tap_outputs_[a].push_back(axes_[a].outputs_reading_tap(k));
        }
    }

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const T* x = inputs[0].as<T>();
        const T* w = inputs[1].as<T>();
        const T* bias = has_view(inputs, 2) ? inputs[2].as<T>() : nullptr;
        T* y = outputs[0].as<T>();
        const int64_t group_inputs = shape_.in_channels / shape_.group;
        const int64_t group_outputs = shape_.out_channels / shape_.group;
        pool.parallel_for(shape_.batch * shape_.out_channels, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                int64_t n = task / shape_.out_channels;
                int64_t m = task % shape_.out_channels;
                const T* image = x + (n * shape_.in_channels + m / group_outputs * group_inputs) * input_plane_;
                const T* filter = w + m * group_inputs * kernel_volume_;
                output_plane(image, filter, group_inputs, bias ? &bias[m] : nullptr, y + task * output_plane_);
            }
        });
    }

private:
    // One output plane: every tap of every input channel of the group, accumulated in that order, then the bias.
    void output_plane(const T* image, const T* filter, int64_t channels, const T* bias, T* out) const {
        std::fill(out, out + output_plane_, T(0));
        const auto& [depth, height, width] = axes_;
        for (int64_t c = 0; c < channels; ++c, image += input_plane_) {
            for (int64_t kd = 0; kd < depth.kernel; ++kd) {
                auto [d_first, d_last] = tap_outputs_[0][kd];
                for (int64_t kh = 0; kh < height.kernel; ++kh) {
                    auto [h_first, h_last] = tap_outputs_[1][kh];
                    for (int64_t kw = 0; kw < width.kernel; ++kw) {
                        auto [w_first, w_last] = tap_outputs_[2][kw];
                        const T weight = *filter++;
                        for (int64_t od = d_first; od < d_last; ++od) {
                            int64_t id = od * depth.stride - depth.pad_begin + kd * depth.dilation;
                            for (int64_t oh = h_first; oh < h_last; ++oh) {
                                int64_t ih = oh * height.stride - height.pad_begin + kh * height.dilation;
                                int64_t in_row =
                                    (id * height.input + ih) * width.input + kw * width.dilation - width.pad_begin;
                                T* out_row = out + (od * height.output + oh) * width.output;
                                for (int64_t ow = w_first; ow < w_last; ++ow)
                                    out_row[ow] += weight * image[in_row + ow * width.stride];
                            }
                        }
                    }
                }
            }
        }
        if (bias)
            for (int64_t i = 0; i < output_plane_; ++i) out[i] += *bias;
    }

    ConvShape shape_;
    std::array<WindowAxis, 3> axes_;
    std::array<std::vector<std::pair<int64_t, int64_t>>, 3> tap_outputs_;  // per axis and tap: outputs_reading_tap
    int64_t input_plane_ = 1;
    int64_t output_plane_ = 1;
    int64_t kernel_volume_ = 1;
};

std::unique_ptr<Kernel> make_conv(const NodeSignature& signature) {
    ConvShape shape = conv_shape(signature);
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype,
                                         [&]<typename T>() { return std::make_unique<ConvKernel<T>>(shape); });
}

}  // namespace

MOBILEONE_REGISTER_OP(Conv, infer_conv, make_conv);

}  // namespace mobileone::runtime
