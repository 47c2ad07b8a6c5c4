// batchnorm_to_conv: turn the BatchNormalization-only "skip" branch of a branch sum into a Conv like its siblings.
//
// Before:  X -> Conv(k×k, group g) -> a ; X -> BatchNormalization(γ, β, μ, var, ε) -> y ; a + y (+ ...)
// After:   X -> Conv(k×k, group g) -> a ; X -> Conv(W, b; k×k, group g, stride 1, pads (k−1)/2·dilation) -> y ; ...
//
// The skip is an identity Conv followed by the BatchNormalization, folded: with s = γ/√(var+ε),
// W[o, o mod (C/g), centre] = s[o] (zero elsewhere) and b = β − μ·s. Matching the sibling's kernel size, dilation and
// groups lets merge_parallel_branches add the kernels directly. Needs C input channels = C output channels.
#include <algorithm>
#include <optional>
#include <unordered_set>

#include "compiler/pass.h"
#include "passes/batchnorm_affine.h"
#include "passes/branch_sum.h"
#include "passes/conv_geometry.h"

namespace mobileone {
namespace {

struct IdentityShape {
    ConvGeometry geometry;
    DataType type;  // the sibling's weight type, which the Add forces to match the skip's values
};

// The identity Conv copies the sibling branch Conv on `input` with the largest kernel, at stride 1 and centred.
std::optional<IdentityShape> identity_shape(const BranchSum& sum, const std::string& input, int64_t channels,
                                            const Graph& graph, const GraphIndex& index) {
    std::optional<IdentityShape> best;
    for (const std::string& leaf : sum.leaves) {
        std::optional<std::size_t> producer = index.producer(leaf);
        if (!producer) continue;
        const Node& conv = graph.nodes[*producer];
        if (conv.op_type != "Conv" || !conv.domain.empty() || conv.input(0) != input) continue;
        std::optional<ConvGeometry> sibling = read_conv_geometry(conv, graph);
        if (!sibling || sibling->out_channels != channels || sibling->in_channels != channels) continue;
        const Tensor* weight = foldable_initializer(graph, conv.input(1));
        if (!weight) continue;
        const auto& kernel = sibling->kernel;
        const auto& strides = sibling->strides;
        bool odd_kernel = std::all_of(kernel.begin(), kernel.end(), [](int64_t k) { return k % 2 == 1; });
        bool unit_stride = std::all_of(strides.begin(), strides.end(), [](int64_t s) { return s == 1; });
        if (!odd_kernel || !unit_stride) continue;
        if (!best || element_count(sibling->kernel) > element_count(best->geometry.kernel))
            best = IdentityShape{*sibling, weight->dtype()};
    }
    if (!best) return std::nullopt;
    ConvGeometry& geometry = best->geometry;
    std::size_t rank = geometry.spatial_rank();
    for (std::size_t axis = 0; axis < rank; ++axis) {
        int64_t half_extent = (geometry.kernel[axis] - 1) / 2 * geometry.dilations[axis];
        geometry.pads[axis] = geometry.pads[rank + axis] = half_extent;
    }
    return best;
}

Node identity_conv(const Node& batchnorm, const IdentityShape& shape, Graph& graph, const GraphIndex& index) {
    const ConvGeometry& geometry = shape.geometry;
    ChannelAffine affine = batchnorm_affine(batchnorm, graph);
    int64_t channels = geometry.out_channels;
    int64_t group_width = channels / geometry.group;
    std::vector<int64_t> dims = {channels, group_width};
    dims.insert(dims.end(), geometry.kernel.begin(), geometry.kernel.end());
    int64_t taps = element_count(geometry.kernel);
    std::vector<double> weights(static_cast<std::size_t>(channels * group_width * taps), 0.0);
    for (int64_t o = 0; o < channels; ++o) {
        // Row-major centre of an odd kernel in any rank is the middle flat index.
        int64_t centre = (o * group_width + o % group_width) * taps + taps / 2;
        weights[static_cast<std::size_t>(centre)] = affine.scale[static_cast<std::size_t>(o)];
    }

    std::string weight_name = replacement_name(graph, index, batchnorm.input(1), "_identity_conv");
    graph.initializers[weight_name] = Tensor::from_doubles(shape.type, dims, weights);
    std::string bias_name = replacement_name(graph, index, batchnorm.input(2), "_identity_conv");
    graph.initializers[bias_name] = Tensor::from_doubles(shape.type, {channels}, affine.shift);

    Node conv{batchnorm.name, "Conv", "", {batchnorm.input(0), weight_name, bias_name}, {batchnorm.outputs[0]}, {},
              batchnorm.doc_string};
    write_conv_geometry(geometry, conv);
    return conv;
}

class BatchnormToConv final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        GraphIndex index(graph);
        std::unordered_set<std::size_t> converted;
        for (const BranchSum& sum : find_branch_sums(graph, index)) {
            for (const std::string& leaf : sum.leaves) {
                std::optional<std::size_t> producer = index.producer(leaf);
                if (!producer || converted.contains(*producer)) continue;
                const Node& batchnorm = graph.nodes[*producer];
                if (!is_foldable_batchnorm(batchnorm, graph, index)) continue;
                int64_t channels = graph.initializer(batchnorm.input(1))->numel();
                std::optional<IdentityShape> shape = identity_shape(sum, batchnorm.input(0), channels, graph, index);
                if (!shape) continue;
                graph.nodes[*producer] = identity_conv(batchnorm, *shape, graph, index);
                converted.insert(*producer);
            }
        }
        return static_cast<int>(converted.size());
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(BatchnormToConv, "batchnorm_to_conv",
                        "turn a BatchNormalization skip branch into a Conv shaped like its sibling branches");

}  // namespace mobileone
