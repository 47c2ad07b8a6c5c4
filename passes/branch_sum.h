#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mobileone {

// A sum of parallel branches, however the exporter bracketed it: a tree of Adds in which every Add except the root
// produces a value read only by the next Add up. ((a+b)+c)+d, (a+b)+(c+d) and a+(b+(c+d)) all have leaves a, b, c, d.
struct BranchSum {
    std::size_t root = 0;              // index in graph.nodes of the Add producing the sum
    std::vector<std::size_t> adds;     // every Add of the tree, root included, in graph order
    std::vector<std::string> leaves;   // the summed values, left to right (a value summed twice appears twice)
};

// Every branch sum of `graph`, in the order of their roots. The trees are disjoint.
std::vector<BranchSum> find_branch_sums(const Graph& graph, const GraphIndex& index);

}  // namespace mobileone
