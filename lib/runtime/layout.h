// Converting rank-4 activations between NCHW (the graph's layout) and NHWC (the fast kernels' layout). The planner
// inserts these conversions where a value crosses between kernels of different layouts: once at the graph's input and
// output for a MobileOne graph, whose every heavy op has an NHWC kernel.
#pragma once

#include <memory>

#include "runtime/kernel.h"

namespace mobileone::runtime {

// Whether a value of this shape is laid out the same in both layouts: anything but rank 4, or one pixel per channel.
bool layout_neutral(const std::vector<int64_t>& shape);

// The kernel that rewrites a [N, C, H, W] value from one layout to the other (any element type).
std::unique_ptr<Kernel> make_reorder(Layout to);
// Its kernel-table entry, for profiles: "reorder_nchw_to_nhwc" or "reorder_nhwc_to_nchw".
const KernelEntry& reorder_entry(Layout to);

}  // namespace mobileone::runtime
