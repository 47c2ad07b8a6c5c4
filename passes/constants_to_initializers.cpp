// constants_to_initializers: turn Constant nodes into initializers so weight-folding passes see one kind of constant.
//
// Before:  Constant(value=W) -> w ; Conv(x, w)        After:  initializer w = W ; Conv(x, w)
//
// Scalar and list forms (value_float, value_ints, ...) become 0-d / 1-d tensors, as the ONNX spec defines them.
#include "compiler/pass.h"
#include "ir/error.h"

namespace mobileone {
namespace {

std::optional<Tensor> constant_value(const Node& node) {
    if (const Tensor* tensor = node.attribute_tensor("value")) return *tensor;
    if (node.has_attribute("value_float")) return Tensor::scalar(node.attribute_float("value_float", 0));
    if (node.has_attribute("value_int"))
        return Tensor::from_values<int64_t>({}, std::vector<int64_t>{node.attribute_int("value_int", 0)});
    if (node.has_attribute("value_ints")) {
        auto values = node.attribute_ints("value_ints");
        return Tensor::from_values<int64_t>({static_cast<int64_t>(values.size())}, values);
    }
    if (node.has_attribute("value_floats")) {
        const auto& floats = std::get<std::vector<float>>(node.attributes.at("value_floats"));
        return Tensor::from_values<float>({static_cast<int64_t>(floats.size())}, floats);
    }
    return std::nullopt;
}

bool matches(const Node& node, const Graph& graph) {
    return node.op_type == "Constant" && node.domain.empty() && node.outputs.size() == 1 &&
           !graph.is_output(node.outputs[0]);
}

class ConstantsToInitializers final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        int changes = 0;
        std::erase_if(graph.nodes, [&](const Node& node) {
            if (!matches(node, graph)) return false;
            std::optional<Tensor> value = constant_value(node);
            if (!value) return false;
            graph.initializers[node.outputs[0]] = std::move(*value);
            ++changes;
            return true;
        });
        return changes;
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(ConstantsToInitializers, "constants_to_initializers",
                        "turn Constant nodes into initializers");

}  // namespace mobileone
