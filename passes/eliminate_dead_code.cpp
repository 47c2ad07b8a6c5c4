// eliminate_dead_code: drop nodes whose outputs nobody reads, and initializers no node reads.
//
// Before:  X -> Conv -> Y (graph output)        After:  X -> Conv -> Y
//          X -> Relu -> Z (read by nothing)
//          initializer W_old (read by nothing)
//
// Walks the graph backwards from its outputs, so a whole dead chain goes in one run.
#include <unordered_set>

#include "compiler/pass.h"

namespace mobileone {
namespace {

bool is_live(const Node& node, const std::unordered_set<std::string>& needed) {
    for (const std::string& output : node.outputs)
        if (!output.empty() && needed.contains(output)) return true;
    return false;
}

class EliminateDeadCode final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        std::unordered_set<std::string> needed;
        for (const ValueInfo& output : graph.outputs) needed.insert(output.name);
        std::vector<bool> keep(graph.nodes.size(), false);
        for (std::size_t i = graph.nodes.size(); i-- > 0;) {
            const Node& node = graph.nodes[i];
            if (!is_live(node, needed)) continue;
            keep[i] = true;
            needed.insert(node.inputs.begin(), node.inputs.end());
        }
        int removed = 0;
        std::vector<Node> live_nodes;
        for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
            if (keep[i]) live_nodes.push_back(std::move(graph.nodes[i]));
            else ++removed;
        }
        graph.nodes = std::move(live_nodes);
        std::erase_if(graph.initializers, [&](const auto& entry) {
            bool unused = !needed.contains(entry.first);
            removed += unused ? 1 : 0;
            return unused;
        });
        std::erase_if(graph.value_info, [&](const ValueInfo& info) { return !needed.contains(info.name); });
        return removed;
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(EliminateDeadCode, "eliminate_dead_code", "remove nodes nobody reads and unused initializers");

}  // namespace mobileone
