// constants_to_initializers: turn Constant nodes into initializers so weight-folding passes see one kind of constant.
//
// Before:  Constant(value=W) -> w ; Conv(x, w)        After:  initializer w = W ; Conv(x, w)
//
// Scalar and list forms (value_float, value_ints, ...) become 0-d / 1-d tensors, as the ONNX spec defines them.
#include "compiler/pass.h"
#include "passes/constant_eval.h"

namespace mobileone {
namespace {

bool matches(const Node& node, const Graph& graph) {
    return node.op_type == "Constant" && (node.domain.empty() || node.domain == "ai.onnx") &&
           node.outputs.size() == 1 && !node.outputs[0].empty() && !graph.is_output(node.outputs[0]);
}

class ConstantsToInitializers final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        int changes = 0;
        std::erase_if(graph.nodes, [&](const Node& node) {
            if (!matches(node, graph)) return false;
            std::optional<Tensor> value = constant_node_value(node);
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
