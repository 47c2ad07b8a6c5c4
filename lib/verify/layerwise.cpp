#include "verify/layerwise.h"

#include <unordered_map>

namespace mobileone {
namespace {

const std::string& display_name(const Node& node) { return node.name.empty() ? node.outputs.front() : node.name; }

}  // namespace

std::vector<MatchedTensor> match_tensors(const Graph& reference, const Graph& candidate) {
    std::unordered_map<std::string, const Node*> candidate_producers;
    for (const Node& node : candidate.nodes)
        for (const std::string& output : node.outputs)
            if (!output.empty()) candidate_producers[output] = &node;

    std::vector<MatchedTensor> matches;
    for (const Node& node : reference.nodes)
        for (const std::string& output : node.outputs) {
            auto it = candidate_producers.find(output);
            if (output.empty() || it == candidate_producers.end()) continue;
            matches.push_back({output, display_name(node), node.op_type, display_name(*it->second), it->second->op_type});
        }
    return matches;
}

}  // namespace mobileone
