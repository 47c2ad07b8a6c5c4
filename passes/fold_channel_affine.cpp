// fold_channel_affine: fold a per-output-channel Mul or Add that follows a Conv into the Conv's weights.
//
// Before:  X -> Conv(W, b) -> y -> Mul(y, s) -> z        After:  X -> Conv(W', b') -> z
//
//   Mul:  W'[o, ...] = W[o, ...] * s[o],  b'[o] = b[o] * s[o]
//   Add:  W' = W,                         b'[o] = b[o] + a[o]      (b = 0 when the Conv has no bias)
//
// The constant may be either operand. It must vary along the output-channel axis only and not raise the rank:
// [], [1], [C,1,1], [1,C,1,1] all qualify. y must have no reader but the Mul/Add, which must use numpy broadcasting
// (opset >= 7). Computed in double and rounded once; a weight or bias another node also reads is copied, not edited.
#include <algorithm>

#include "compiler/pass.h"

namespace mobileone {
namespace {

bool in_default_domain(const Node& node) { return node.domain.empty() || node.domain == "ai.onnx"; }

std::vector<std::size_t> readers(const Graph& graph, const std::string& tensor) {
    std::vector<std::size_t> found;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i)
        for (const std::string& input : graph.nodes[i].inputs)
            if (input == tensor) found.push_back(i);
    return found;
}

// The constant's value for each of `channels` output channels of a rank-`rank` Conv output, or nullopt if it
// varies along another axis or would raise the output's rank.
std::optional<std::vector<double>> per_channel(const Tensor& constant, std::size_t rank, int64_t channels) {
    if (constant.rank() > rank) return std::nullopt;
    for (std::size_t k = 0; k < constant.rank(); ++k) {
        bool channel_axis = rank - constant.rank() + k == 1;
        if (constant.dim(k) != 1 && !(channel_axis && constant.dim(k) == channels)) return std::nullopt;
    }
    std::vector<double> values = constant.to_doubles();
    if (values.size() == 1) values.assign(static_cast<std::size_t>(channels), values[0]);
    return values;
}

struct Match {
    std::size_t affine;          // index of the Mul/Add in graph.nodes
    std::vector<double> factor;  // per output channel
};

std::optional<Match> match(const Graph& graph, std::size_t conv_index) {
    const Node& conv = graph.nodes[conv_index];
    if (conv.op_type != "Conv" || !in_default_domain(conv) || conv.outputs.size() != 1) return std::nullopt;
    const Tensor* weight = graph.initializer(conv.input(1));
    if (!weight || (weight->dtype() != DataType::Float && weight->dtype() != DataType::Double)) return std::nullopt;
    if (!conv.input(2).empty() && !graph.initializer(conv.input(2))) return std::nullopt;
    const std::string& y = conv.outputs[0];
    std::vector<std::size_t> y_readers = readers(graph, y);
    if (graph.is_output(y) || y_readers.size() != 1) return std::nullopt;
    const Node& affine = graph.nodes[y_readers[0]];
    if ((affine.op_type != "Mul" && affine.op_type != "Add") || !in_default_domain(affine) ||
        affine.inputs.size() != 2 || affine.outputs.size() != 1)
        return std::nullopt;
    const Tensor* constant = graph.initializer(affine.inputs[0] == y ? affine.inputs[1] : affine.inputs[0]);
    if (!constant || constant->dtype() != weight->dtype()) return std::nullopt;
    std::optional<std::vector<double>> factor = per_channel(*constant, weight->rank(), weight->dim(0));
    if (!factor) return std::nullopt;
    return Match{y_readers[0], std::move(*factor)};
}

// Stores `value` as the Conv's input `slot`, in place unless another reader shares that initializer.
void set_conv_constant(Graph& graph, std::size_t conv_index, std::size_t slot, Tensor value, const std::string& base) {
    Node& conv = graph.nodes[conv_index];
    if (conv.inputs.size() <= slot) conv.inputs.resize(slot + 1);
    std::string& name = conv.inputs[slot];
    if (name.empty() || readers(graph, name).size() > 1 || graph.is_output(name)) name = graph.fresh_name(base);
    graph.initializers[name] = std::move(value);
}

void rewrite(Graph& graph, std::size_t conv_index, const Match& match) {
    Node& conv = graph.nodes[conv_index];
    const Tensor& weight = *graph.initializer(conv.input(1));
    const std::string weight_name = conv.input(1);
    auto channels = static_cast<std::size_t>(weight.dim(0));
    std::vector<double> bias(channels, 0.0);
    if (const Tensor* given = graph.initializer(conv.input(2))) bias = given->to_doubles();
    Tensor new_bias;
    if (graph.nodes[match.affine].op_type == "Mul") {
        std::vector<double> w = weight.to_doubles();
        std::size_t per_channel_count = w.size() / channels;
        for (std::size_t o = 0; o < channels; ++o) {
            for (std::size_t j = 0; j < per_channel_count; ++j) w[o * per_channel_count + j] *= match.factor[o];
            bias[o] *= match.factor[o];
        }
        Tensor new_weight = Tensor::from_doubles(weight.dtype(), weight.dims(), w);
        new_bias = Tensor::from_doubles(weight.dtype(), {static_cast<int64_t>(channels)}, bias);
        set_conv_constant(graph, conv_index, 1, std::move(new_weight), weight_name);
    } else {
        for (std::size_t o = 0; o < channels; ++o) bias[o] += match.factor[o];
        new_bias = Tensor::from_doubles(weight.dtype(), {static_cast<int64_t>(channels)}, bias);
    }
    set_conv_constant(graph, conv_index, 2, std::move(new_bias), weight_name + "_bias");
    std::string old_output = graph.nodes[conv_index].outputs[0];
    graph.nodes[conv_index].outputs[0] = graph.nodes[match.affine].outputs[0];
    graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(match.affine));
    std::erase_if(graph.value_info, [&](const ValueInfo& info) { return info.name == old_output; });
}

class FoldChannelAffine final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        if (model.opset_version() < 7) return 0;
        Graph& graph = model.graph;
        int folded = 0;
        // A Conv stays at its index after a fold, so a Mul then an Add after it fold in the same run.
        for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
            while (std::optional<Match> found = match(graph, i)) {
                rewrite(graph, i, *found);
                ++folded;
            }
        }
        return folded;
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(FoldChannelAffine, "fold_channel_affine",
                        "fold a per-channel Mul or Add after a Conv into its weights and bias");

}  // namespace mobileone
