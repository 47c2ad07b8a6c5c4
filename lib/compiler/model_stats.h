#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"

namespace mobileone {

// Size and cost figures of a model, as printed by `mobileone-convert` before and after conversion.
struct ModelStats {
    std::map<std::string, int> nodes_by_op;
    int node_count = 0;
    int64_t parameters = 0;  // elements of floating-point initializers and Constant tensors
    int64_t macs = 0;        // multiply-accumulates of Conv, Gemm and MatMul for one sample (symbolic dims count as 1)
};

ModelStats compute_stats(const Model& model);

}  // namespace mobileone
