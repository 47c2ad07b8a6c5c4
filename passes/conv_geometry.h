#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace mobileone {

// Where a Conv's kernel taps land on its input, with every attribute default and auto_pad made explicit.
struct ConvGeometry {
    std::vector<int64_t> kernel;     // spatial sizes, taken from the weight
    std::vector<int64_t> strides;
    std::vector<int64_t> dilations;
    std::vector<int64_t> pads;       // ONNX order: all begins, then all ends
    int64_t group = 1;
    int64_t out_channels = 0;
    int64_t in_channels = 0;         // channels of the input tensor (weight dim 1 × group)

    std::size_t spatial_rank() const { return kernel.size(); }
    int64_t pad_begin(std::size_t axis) const { return pads[axis]; }
    int64_t pad_end(std::size_t axis) const { return pads[spatial_rank() + axis]; }
    bool operator==(const ConvGeometry&) const = default;
};

// The geometry of `conv`, or nullopt when it cannot be known without running the graph: the weight is not an
// initializer, or auto_pad=SAME_* with a stride above 1 on an input whose spatial size the graph does not record.
std::optional<ConvGeometry> read_conv_geometry(const Node& conv, const Graph& graph);

// The initializer `name` if folding can rewrite it (float or double values), else nullptr.
const Tensor* foldable_initializer(const Graph& graph, const std::string& name);

// A name for an initializer replacing `old_name`, an input of exactly one node that a rewrite removes or replaces:
// `old_name` itself when that node is its only reader, so the rewrite leaves no dead copy behind, else a fresh name.
std::string replacement_name(const Graph& graph, const GraphIndex& index, const std::string& old_name,
                             const std::string& suffix);

// Conv attributes that reproduce `geometry` exactly, auto_pad spelled out as pads.
void write_conv_geometry(const ConvGeometry& geometry, Node& conv);

}  // namespace mobileone
