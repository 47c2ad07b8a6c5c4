#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "ir/graph.h"

// Sliding windows shared by Conv and the pooling ops: where each window tap lands on the input.
namespace mobileone::runtime {

// One spatial axis. Output position o reads input positions o * stride - pad_begin + k * dilation, k in [0, kernel).
struct WindowAxis {
    int64_t input = 1;
    int64_t output = 1;
    int64_t kernel = 1;
    int64_t stride = 1;
    int64_t dilation = 1;
    int64_t pad_begin = 0;
    int64_t pad_end = 0;

    // The outputs [first, last) whose tap k lands inside the input; kernels loop over them with no bounds checks.
    std::pair<int64_t, int64_t> outputs_reading_tap(int64_t k) const;
    // How many taps of output o land inside the input, and inside the padded input.
    int64_t taps_inside(int64_t o) const;
    int64_t taps_inside_padding(int64_t o) const;
};

// Resolves strides, dilations, pads and auto_pad of `node` for a window of `kernel` over spatial sizes `input`.
// ceil_mode rounds the output size up (pooling). Fails, naming the node, on malformed attributes or an empty output.
std::vector<WindowAxis> resolve_window(const Node& node, const std::vector<int64_t>& input,
                                       const std::vector<int64_t>& kernel, bool ceil_mode);

// The same window over exactly three axes, size-1 axes in front, so one loop nest serves 1-D, 2-D and 3-D ops.
std::array<WindowAxis, 3> as_3d(const std::vector<WindowAxis>& axes);

std::vector<int64_t> output_sizes(const std::vector<WindowAxis>& axes);

}  // namespace mobileone::runtime
