// fold_batchnorm: fold an inference BatchNormalization into the Conv that feeds it.
//
// Before:  X -> Conv(W, b?) -> t -> BatchNormalization(γ, β, μ, var, ε) -> Y
// After:   X -> Conv(W', b') -> Y
//
// With s = γ/√(var+ε) per output channel o:  W'[o] = W[o]·s[o],  b'[o] = (b[o] − μ[o])·s[o] + β[o]  (b = 0 if absent).
// Computed in double and rounded once. The Conv must be t's only reader and its weights initializers; the folded
// Conv takes over the BatchNormalization's output name, so nothing downstream changes.
#include <optional>

#include "compiler/pass.h"
#include "passes/batchnorm_affine.h"
#include "passes/conv_geometry.h"

namespace mobileone {
namespace {

// The index of the Conv that `batchnorm` may absorb.
std::optional<std::size_t> foldable_conv(const Node& batchnorm, const Graph& graph, const GraphIndex& index) {
    if (!is_foldable_batchnorm(batchnorm, graph, index)) return std::nullopt;
    std::optional<std::size_t> producer = index.producer(batchnorm.input(0));
    if (!producer) return std::nullopt;
    const Node& conv = graph.nodes[*producer];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1) return std::nullopt;
    if (index.use_count(conv.outputs[0]) != 1) return std::nullopt;
    const Tensor* weight = foldable_initializer(graph, conv.input(1));
    int64_t channels = graph.initializer(batchnorm.input(1))->numel();
    if (!weight || weight->rank() < 3 || weight->dim(0) != channels) return std::nullopt;
    if (!conv.input(2).empty()) {
        const Tensor* bias = foldable_initializer(graph, conv.input(2));
        if (!bias || bias->numel() != channels) return std::nullopt;
    }
    return producer;
}

Node folded_conv(const Node& conv, const Node& batchnorm, Graph& graph, const GraphIndex& index) {
    ChannelAffine affine = batchnorm_affine(batchnorm, graph);
    const Tensor& weight = *graph.initializer(conv.input(1));
    std::vector<double> weights = weight.to_doubles();
    std::vector<double> biases(affine.scale.size(), 0.0);
    if (!conv.input(2).empty()) biases = graph.initializer(conv.input(2))->to_doubles();

    std::size_t per_channel = weights.size() / affine.scale.size();
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] *= affine.scale[i / per_channel];
    for (std::size_t o = 0; o < biases.size(); ++o) biases[o] = biases[o] * affine.scale[o] + affine.shift[o];

    DataType type = weight.dtype();
    std::vector<int64_t> dims = weight.dims();
    std::string weight_name = replacement_name(graph, index, conv.input(1), "_bn");
    graph.initializers[weight_name] = Tensor::from_doubles(type, dims, weights);
    const std::string& old_bias = conv.input(2).empty() ? batchnorm.input(2) : conv.input(2);
    std::string bias_name = replacement_name(graph, index, old_bias, "_bn");
    graph.initializers[bias_name] = Tensor::from_doubles(type, {static_cast<int64_t>(biases.size())}, biases);

    Node folded = conv;
    folded.inputs = {conv.input(0), weight_name, bias_name};
    folded.outputs = {batchnorm.outputs[0]};
    return folded;
}

class FoldBatchnorm final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        GraphIndex index(graph);
        std::vector<bool> folded_away(graph.nodes.size(), false);
        int changes = 0;
        for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
            std::optional<std::size_t> conv = foldable_conv(graph.nodes[i], graph, index);
            if (!conv) continue;
            // The Conv's slot is early enough for every reader of the BatchNormalization's output.
            graph.nodes[*conv] = folded_conv(graph.nodes[*conv], graph.nodes[i], graph, index);
            folded_away[i] = true;
            ++changes;
        }
        std::vector<Node> kept;
        for (std::size_t i = 0; i < graph.nodes.size(); ++i)
            if (!folded_away[i]) kept.push_back(std::move(graph.nodes[i]));
        graph.nodes = std::move(kept);
        return changes;
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(FoldBatchnorm, "fold_batchnorm", "fold BatchNormalization into the Conv feeding it");

}  // namespace mobileone
