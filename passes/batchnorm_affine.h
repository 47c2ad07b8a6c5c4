#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"

namespace mobileone {

// An inference-mode BatchNormalization is the per-channel affine map y = scale·x + shift with
// scale = γ/√(var+ε) and shift = β − μ·scale, computed here in double.
struct ChannelAffine {
    std::vector<double> scale;
    std::vector<double> shift;
};

// True when `node` is a BatchNormalization a reparameterization may fold: five inputs, training_mode absent or 0,
// any running-statistics outputs unused, and γ, β, μ, var float initializers of one common length.
bool is_foldable_batchnorm(const Node& node, const Graph& graph, const GraphIndex& index);

// The affine map of a BatchNormalization accepted by is_foldable_batchnorm. A channel with var+ε <= 0 has no real
// square root, so it fails naming the node.
ChannelAffine batchnorm_affine(const Node& batchnorm, const Graph& graph);

}  // namespace mobileone
