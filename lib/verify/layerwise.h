#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace mobileone {

// A tensor computed in both graphs under the same name. The converter keeps each block's output names (the merged
// Conv takes the name of the Add it replaces, the Relu keeps its own), so these are the points where the two graphs
// must agree.
struct MatchedTensor {
    std::string name;
    std::string reference_node;  // producing node's name (its first output when unnamed)
    std::string reference_op;
    std::string candidate_node;
    std::string candidate_op;
};

// Node outputs present in both graphs, in the reference graph's topological order. Graph inputs, initializers and
// values that are a node output in only one of the graphs are not matched.
std::vector<MatchedTensor> match_tensors(const Graph& reference, const Graph& candidate);

}  // namespace mobileone
