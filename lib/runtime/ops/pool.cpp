// Pooling over the spatial dims of an [N, C, spatial...] input, one task per (image, channel) plane:
//   GlobalAveragePool  Y[n, c, 1...] = mean of X[n, c, ...]
//   AveragePool        Y[n, c, o] = sum of the window's taps inside X / (taps inside X, or with count_include_pad=1
//                      taps inside the padded X)
//   MaxPool            Y[n, c, o] = max of the window's taps inside X (padding never wins); the optional Indices
//                      output holds the first maximum's flat index into X, its spatial part row-major
//                      (storage_order=0) or column-major (storage_order=1). A window entirely in the padding
//                      (possible with ceil_mode) yields the type's lowest value and index -1.
// Windows follow kernel_shape, strides, pads or auto_pad, dilations and ceil_mode; 1 to 3 spatial dims.
#include <limits>

#include "runtime/ops/op_checks.h"
#include "runtime/ops/window.h"

namespace mobileone::runtime {
namespace {

int64_t spatial_volume(const std::vector<int64_t>& shape) { return element_count(std::span(shape).subspan(2)); }

std::vector<WindowAxis> pool_window(const NodeSignature& signature) {
    const Node& node = signature.node;
    const ValueType& x = signature.inputs[0];
    if (x.shape.size() < 3 || x.shape.size() > 5)
        fail("node {}: input has shape {}; 1 to 3 spatial dims are supported", node.label(), shape_to_string(x.shape));
    if (!node.has_attribute("kernel_shape")) fail("node {}: kernel_shape is required", node.label());
    return resolve_window(node, {x.shape.begin() + 2, x.shape.end()}, node.attribute_ints("kernel_shape"),
                          node.attribute_int("ceil_mode", 0) != 0);
}

std::vector<int64_t> pooled_shape(const NodeSignature& signature) {
    std::vector<int64_t> dims(signature.inputs[0].shape.begin(), signature.inputs[0].shape.begin() + 2);
    for (int64_t size : output_sizes(pool_window(signature))) dims.push_back(size);
    return dims;
}

// Calls visit(input_index) for each tap of output (od, oh, ow) that lands inside the input plane, in row-major order.
template <typename Visit>
void for_each_tap(const std::array<WindowAxis, 3>& axes, int64_t od, int64_t oh, int64_t ow, Visit&& visit) {
    const auto& [depth, height, width] = axes;
    for (int64_t kd = 0; kd < depth.kernel; ++kd) {
        int64_t id = od * depth.stride - depth.pad_begin + kd * depth.dilation;
        if (id < 0 || id >= depth.input) continue;
        for (int64_t kh = 0; kh < height.kernel; ++kh) {
            int64_t ih = oh * height.stride - height.pad_begin + kh * height.dilation;
            if (ih < 0 || ih >= height.input) continue;
            for (int64_t kw = 0; kw < width.kernel; ++kw) {
                int64_t iw = ow * width.stride - width.pad_begin + kw * width.dilation;
                if (iw < 0 || iw >= width.input) continue;
                visit(id, ih, iw);
            }
        }
    }
}

// Runs pool_plane(input_plane, output_plane, plane_index) for every (image, channel) plane.
template <typename T, typename PoolPlane>
void for_each_plane(const TensorView& input, const TensorView& output, ThreadPool& pool, PoolPlane&& pool_plane) {
    const T* x = input.as<T>();
    T* y = output.as<T>();
    const int64_t input_plane = spatial_volume(input.shape());
    const int64_t output_plane = spatial_volume(output.shape());
    pool.parallel_for(input.shape()[0] * input.shape()[1], [&](int64_t begin, int64_t end) {
        for (int64_t plane = begin; plane < end; ++plane)
            pool_plane(x + plane * input_plane, y + plane * output_plane, plane);
    });
}

std::vector<ValueType> infer_global_average_pool(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    const ValueType& x = signature.inputs[0];
    expect_dtype<float, double>(signature.node, x.dtype, "input");
    if (x.shape.size() < 2)
        fail("node {}: input has shape {}, needs at least [N, C]", signature.node.label(), shape_to_string(x.shape));
    std::vector<int64_t> dims(x.shape.size(), 1);
    std::copy(x.shape.begin(), x.shape.begin() + 2, dims.begin());
    return {{x.dtype, dims}};
}

template <typename T>
class GlobalAveragePoolKernel final : public Kernel {
public:
    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const int64_t count = spatial_volume(inputs[0].shape());
        for_each_plane<T>(inputs[0], outputs[0], pool, [&](const T* x, T* y, int64_t) {
            T sum = 0;
            for (int64_t i = 0; i < count; ++i) sum += x[i];
            *y = sum / static_cast<T>(count);
        });
    }
};

std::unique_ptr<Kernel> make_global_average_pool(const NodeSignature& signature) {
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype,
                                         []<typename T>() { return std::make_unique<GlobalAveragePoolKernel<T>>(); });
}

std::vector<ValueType> infer_average_pool(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    expect_dtype<float, double>(signature.node, signature.inputs[0].dtype, "input");
    return {{signature.inputs[0].dtype, pooled_shape(signature)}};
}

template <typename T>
class AveragePoolKernel final : public Kernel {
public:
    AveragePoolKernel(const std::vector<WindowAxis>& window, bool count_include_pad)
        : axes_(as_3d(window)), count_include_pad_(count_include_pad) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const auto& [depth, height, width] = axes_;
        for_each_plane<T>(inputs[0], outputs[0], pool, [&](const T* x, T* y, int64_t) {
            for (int64_t od = 0; od < depth.output; ++od)
                for (int64_t oh = 0; oh < height.output; ++oh)
                    for (int64_t ow = 0; ow < width.output; ++ow) {
                        T sum = 0;
                        for_each_tap(axes_, od, oh, ow, [&](int64_t id, int64_t ih, int64_t iw) {
                            sum += x[(id * height.input + ih) * width.input + iw];
                        });
                        *y++ = sum / static_cast<T>(divisor(od, oh, ow));
                    }
        });
    }

private:
    int64_t divisor(int64_t od, int64_t oh, int64_t ow) const {
        const auto& [depth, height, width] = axes_;
        if (count_include_pad_)
            return depth.taps_inside_padding(od) * height.taps_inside_padding(oh) * width.taps_inside_padding(ow);
        return depth.taps_inside(od) * height.taps_inside(oh) * width.taps_inside(ow);
    }

    std::array<WindowAxis, 3> axes_;
    bool count_include_pad_;
};

std::unique_ptr<Kernel> make_average_pool(const NodeSignature& signature) {
    std::vector<WindowAxis> window = pool_window(signature);
    bool count_include_pad = signature.node.attribute_int("count_include_pad", 0) != 0;
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        return std::make_unique<AveragePoolKernel<T>>(window, count_include_pad);
    });
}

std::vector<ValueType> infer_max_pool(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, 1);
    expect_dtype<float, double, uint8_t, int8_t>(node, signature.inputs[0].dtype, "input");
    if (node.outputs.size() > 2)
        fail("node {}: has {} outputs, at most 2 (Y, Indices)", node.label(), node.outputs.size());
    int64_t storage_order = node.attribute_int("storage_order", 0);
    if (storage_order != 0 && storage_order != 1) fail("node {}: storage_order must be 0 or 1", node.label());
    std::vector<int64_t> dims = pooled_shape(signature);
    std::vector<ValueType> outputs = {{signature.inputs[0].dtype, dims}};
    if (node.outputs.size() == 2) outputs.push_back({DataType::Int64, dims});
    return outputs;
}

template <typename T>
class MaxPoolKernel final : public Kernel {
public:
    MaxPoolKernel(const std::vector<WindowAxis>& window, bool column_major)
        : axes_(as_3d(window)), column_major_(column_major) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const auto& [depth, height, width] = axes_;
        int64_t* indices = outputs.size() > 1 ? outputs[1].as<int64_t>() : nullptr;
        const int64_t input_plane = spatial_volume(inputs[0].shape());
        const int64_t output_plane = spatial_volume(outputs[0].shape());
        for_each_plane<T>(inputs[0], outputs[0], pool, [&](const T* x, T* y, int64_t plane) {
            int64_t* plane_indices = indices ? indices + plane * output_plane : nullptr;
            for (int64_t od = 0; od < depth.output; ++od)
                for (int64_t oh = 0; oh < height.output; ++oh)
                    for (int64_t ow = 0; ow < width.output; ++ow) {
                        T best = std::numeric_limits<T>::lowest();
                        int64_t best_index = -1;
                        for_each_tap(axes_, od, oh, ow, [&](int64_t id, int64_t ih, int64_t iw) {
                            T value = x[(id * height.input + ih) * width.input + iw];
                            if (best_index >= 0 && !(value > best)) return;
                            best = value;
                            best_index = column_major_ ? (iw * height.input + ih) * depth.input + id
                                                       : (id * height.input + ih) * width.input + iw;
                        });
                        *y++ = best;
                        if (plane_indices) *plane_indices++ = best_index < 0 ? -1 : plane * input_plane + best_index;
                    }
        });
    }

private:
    std::array<WindowAxis, 3> axes_;
    bool column_major_;
};

std::unique_ptr<Kernel> make_max_pool(const NodeSignature& signature) {
    std::vector<WindowAxis> window = pool_window(signature);
    bool column_major = signature.node.attribute_int("storage_order", 0) == 1;
    return make_for_dtype<float, double, uint8_t, int8_t>(signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        return std::make_unique<MaxPoolKernel<T>>(window, column_major);
    });
}

}  // namespace

MOBILEONE_REGISTER_OP(GlobalAveragePool, infer_global_average_pool, make_global_average_pool);
MOBILEONE_REGISTER_OP(AveragePool, infer_average_pool, make_average_pool);
MOBILEONE_REGISTER_OP(MaxPool, infer_max_pool, make_max_pool);

}  // namespace mobileone::runtime
