#include "runtime/ops/window.h"

#include <algorithm>

#include "ir/error.h"

namespace mobileone::runtime {

namespace {

// Floor and ceiling of a / b for b > 0 and any sign of a.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

std::vector<int64_t> per_axis(const Node& node, const char* name, std::size_t rank, std::size_t count_factor,
                              int64_t fallback, int64_t minimum) {
    std::vector<int64_t> values = node.attribute_ints(name, std::vector<int64_t>(rank * count_factor, fallback));
    if (values.size() != rank * count_factor)
        fail("node {}: '{}' has {} values, expected {}", node.label(), name, values.size(), rank * count_factor);
    for (int64_t value : values)
        if (value < minimum) fail("node {}: '{}' value {} is below {}", node.label(), name, value, minimum);
    return values;
}

}  // namespace

std::pair<int64_t, int64_t> WindowAxis::outputs_reading_tap(int64_t k) const {
    // input index i = o * stride + shift must satisfy 0 <= i < input.
    int64_t shift = k * dilation - pad_begin;
    int64_t first = std::max<int64_t>(0, ceil_div(-shift, stride));
    int64_t last = std::min<int64_t>(output, ceil_div(input - shift, stride));
    return {first, std::max(first, last)};
}

int64_t WindowAxis::taps_inside(int64_t o) const {
    int64_t count = 0;
    for (int64_t k = 0; k < kernel; ++k) {
        int64_t i = o * stride - pad_begin + k * dilation;
        count += i >= 0 && i < input;
    }
    return count;
}

int64_t WindowAxis::taps_inside_padding(int64_t o) const {
    int64_t count = 0;
    for (int64_t k = 0; k < kernel; ++k) {
        int64_t i = o * stride - pad_begin + k * dilation;
        count += i >= -pad_begin && i < input + pad_end;
    }
    return count;
}

std::vector<WindowAxis> resolve_window(const Node& node, const std::vector<int64_t>& input,
                                       const std::vector<int64_t>& kernel, bool ceil_mode) {
    std::size_t rank = input.size();
    if (kernel.size() != rank)
        fail("node {}: kernel has {} spatial dims, input has {}", node.label(), kernel.size(), rank);
    std::vector<int64_t> strides = per_axis(node, "strides", rank, 1, 1, 1);
    std::vector<int64_t> dilations = per_axis(node, "dilations", rank, 1, 1, 1);
    std::vector<int64_t> pads = per_axis(node, "pads", rank, 2, 0, 0);
    std::string auto_pad = node.attribute_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
        fail("node {}: unknown auto_pad '{}'", node.label(), auto_pad);

    std::vector<WindowAxis> axes(rank);
    for (std::size_t a = 0; a < rank; ++a) {
        WindowAxis& axis = axes[a];
        if (kernel[a] < 1) fail("node {}: kernel size {} on spatial axis {}", node.label(), kernel[a], a);
        axis.input = input[a];
        axis.kernel = kernel[a];
        axis.stride = strides[a];
        axis.dilation = dilations[a];
        int64_t extent = (kernel[a] - 1) * dilations[a] + 1;
        if (auto_pad == "NOTSET") {
            axis.pad_begin = pads[a];
            axis.pad_end = pads[rank + a];
        } else if (auto_pad.starts_with("SAME")) {
            // Pad just enough for ceil(input / stride) outputs; the odd pad goes at the end (UPPER) or start (LOWER).
            int64_t wanted = ceil_div(input[a], strides[a]);
            int64_t total = std::max<int64_t>(0, (wanted - 1) * strides[a] + extent - input[a]);
            axis.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            axis.pad_end = total - axis.pad_begin;
        }
        int64_t span = input[a] + axis.pad_begin + axis.pad_end - extent;
        if (span < 0)
            fail("node {}: window of extent {} does not fit padded input size {} on spatial axis {}", node.label(),
                 extent, input[a] + axis.pad_begin + axis.pad_end, a);
        axis.output = (ceil_mode ? ceil_div(span, strides[a]) : span / strides[a]) + 1;
    }
    return axes;
}

std::array<WindowAxis, 3> as_3d(const std::vector<WindowAxis>& axes) {
    std::array<WindowAxis, 3> padded{};
    std::copy(axes.begin(), axes.end(), padded.end() - static_cast<std::ptrdiff_t>(axes.size()));
    return padded;
}

std::vector<int64_t> output_sizes(const std::vector<WindowAxis>& axes) {
    std::vector<int64_t> sizes;
    for (const WindowAxis& axis : axes) sizes.push_back(axis.output);
    return sizes;
}

}  // namespace mobileone::runtime
