#include "passes/branch_sum.h"

#include <algorithm>

namespace mobileone {
namespace {

bool is_add(const Node& node) {
    return node.op_type == "Add" && node.domain.empty() && node.inputs.size() == 2 && node.outputs.size() == 1;
}

// An Add whose result only feeds one other Add is part of that Add's tree rather than a root of its own.
bool is_inner_add(const Node& node, const Graph& graph, const GraphIndex& index) {
    if (!is_add(node) || index.use_count(node.outputs[0]) != 1) return false;
    const auto& consumers = index.consumers(node.outputs[0]);
    return consumers.size() == 1 && is_add(graph.nodes[consumers[0]]);
}

void collect(const Graph& graph, const GraphIndex& index, std::size_t add, BranchSum& sum) {
    sum.adds.push_back(add);
    for (const std::string& operand : graph.nodes[add].inputs) {
        std::optional<std::size_t> producer = index.producer(operand);
        if (producer && is_inner_add(graph.nodes[*producer], graph, index)) collect(graph, index, *producer, sum);
        else sum.leaves.push_back(operand);
    }
}

}  // namespace

std::vector<BranchSum> find_branch_sums(const Graph& graph, const GraphIndex& index) {
    std::vector<BranchSum> sums;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        if (!is_add(node) || is_inner_add(node, graph, index)) continue;
        BranchSum sum;
        sum.root = i;
        collect(graph, index, i, sum);
        std::sort(sum.adds.begin(), sum.adds.end());
        sums.push_back(std::move(sum));
    }
    return sums;
}

}  // namespace mobileone
