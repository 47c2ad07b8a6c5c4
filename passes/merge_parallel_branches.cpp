// merge_parallel_branches: sum parallel Conv branches on one input into a single Conv.
//
// Before:  X -> Conv(W1, b1; 3×3, pads 1) -> a ; X -> Conv(W2, b2; 1×1, pads 0) -> c ; (0 + a) + c -> Y
// After:   X -> Conv(W, b; 3×3, pads 1) -> Y      W = W1 + pad(W2),  b = b1 + b2
//
// Convolution is linear in its kernel, so branches with one input, stride, dilation, group and channel count add up
// to one Conv once each smaller kernel is zero-padded to the largest (per axis K): pad(W) puts it in the middle, which
// is right when its padding keeps it centred, pad_small + (K − k)/2·dilation = pad_big on every side. A missing bias
// is 0 and all-zero constant operands vanish. The sum may be bracketed any way (see branch_sum.h); the merged Conv
// keeps the largest kernel's attributes and takes the root Add's output name. Leaves of the sum that are not part of
// the merge (another input, a skip that is still a BatchNormalization, ...) stay summed with the merged Conv.
// A sum of Convs that does not line up is left alone with a note saying why.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compiler/pass.h"
#include "passes/branch_sum.h"
#include "passes/conv_geometry.h"

namespace mobileone {
namespace {

struct ConvLeaf {
    std::size_t node;
    ConvGeometry geometry;
};

struct MergePlan {
    std::vector<ConvLeaf> convs;           // one entry per time a Conv is summed
    std::vector<std::string> kept_leaves;  // still summed alongside the merged Conv
    ConvGeometry geometry;                 // of the merged Conv
};

// Either a plan, or the reason why the sum's Convs cannot merge; neither when there is nothing to merge.
struct Verdict {
    std::optional<MergePlan> plan;
    std::string refusal;
};

const Node* producing_conv(const std::string& value, const Graph& graph, const GraphIndex& index) {
    std::optional<std::size_t> producer = index.producer(value);
    if (!producer) return nullptr;
    const Node& node = graph.nodes[*producer];
    return node.op_type == "Conv" && node.domain.empty() && node.outputs.size() == 1 ? &node : nullptr;
}

// A constant zero whose broadcast cannot enlarge a Conv output of `rank` dimensions, so dropping it changes nothing.
bool is_vanishing_zero(const std::string& value, std::size_t rank, const Graph& graph) {
    const Tensor* constant = foldable_initializer(graph, value);
    if (!constant || constant->rank() > rank) return false;
    std::vector<double> values = constant->to_doubles();
    return std::all_of(constant->dims().begin(), constant->dims().end(), [](int64_t d) { return d == 1; }) &&
           std::all_of(values.begin(), values.end(), [](double v) { return v == 0.0; });
}

// The Convs in `sum` reading the input read most often, one entry per time each is summed.
std::vector<std::size_t> largest_input_group(const BranchSum& sum, const Graph& graph, const GraphIndex& index,
                                             std::size_t& conv_leaves) {
    std::vector<std::string> inputs;  // in order of first appearance, so ties pick the first
    std::map<std::string, std::vector<std::size_t>> groups;
    conv_leaves = 0;
    for (const std::string& leaf : sum.leaves) {
        if (!producing_conv(leaf, graph, index)) continue;
        std::size_t node = *index.producer(leaf);
        const std::string& input = graph.nodes[node].input(0);
        if (!groups.contains(input)) inputs.push_back(input);
        groups[input].push_back(node);
        ++conv_leaves;
    }
    std::vector<std::size_t> largest;
    for (const std::string& input : inputs)
        if (groups[input].size() > largest.size()) largest = groups[input];
    return largest;
}

std::string constant_weights_refusal(const Node& conv, const Graph& graph) {
    const Tensor* weight = foldable_initializer(graph, conv.input(1));
    if (!weight || weight->rank() < 3) return fmt::format("the weight of {} is not a float initializer", conv.label());
    if (conv.input(2).empty()) return {};
    const Tensor* bias = foldable_initializer(graph, conv.input(2));
    if (!bias || bias->numel() != weight->dim(0) || bias->dtype() != weight->dtype())
        return fmt::format("the bias of {} is not a float initializer matching its weight", conv.label());
    return {};
}

std::string geometry_refusal(const ConvLeaf& first, const ConvLeaf& other, const Graph& graph) {
    const ConvGeometry& a = first.geometry;
    const ConvGeometry& b = other.geometry;
    auto differ = [&](const char* what, const auto& x, const auto& y) {
        return fmt::format("{} and {} differ in {} ({} vs {})", graph.nodes[first.node].label(),
                           graph.nodes[other.node].label(), what, x, y);
    };
    if (a.spatial_rank() != b.spatial_rank()) return differ("kernel rank", a.spatial_rank(), b.spatial_rank());
    if (a.strides != b.strides) return differ("strides", a.strides, b.strides);
    if (a.dilations != b.dilations) return differ("dilations", a.dilations, b.dilations);
    if (a.group != b.group) return differ("group", a.group, b.group);
    if (a.out_channels != b.out_channels) return differ("output channels", a.out_channels, b.out_channels);
    if (a.in_channels != b.in_channels) return differ("input channels", a.in_channels, b.in_channels);
    DataType type_a = graph.initializer(graph.nodes[first.node].input(1))->dtype();
    DataType type_b = graph.initializer(graph.nodes[other.node].input(1))->dtype();
    if (type_a != type_b) return differ("weight type", to_string(type_a), to_string(type_b));
    return {};
}

// The geometry of the merged Conv (largest kernel per axis, its padding), or the reason the kernels are not centred
// on one another.
std::optional<ConvGeometry> merged_geometry(const std::vector<ConvLeaf>& convs, const Graph& graph,
                                            std::string& refusal) {
    ConvGeometry merged = convs.front().geometry;
    std::size_t rank = merged.spatial_rank();
    for (const ConvLeaf& leaf : convs) {
        for (std::size_t axis = 0; axis < rank; ++axis) {
            if (leaf.geometry.kernel[axis] <= merged.kernel[axis]) continue;
            merged.kernel[axis] = leaf.geometry.kernel[axis];
            merged.pads[axis] = leaf.geometry.pad_begin(axis);
            merged.pads[rank + axis] = leaf.geometry.pad_end(axis);
        }
    }
    for (const ConvLeaf& leaf : convs) {
        for (std::size_t axis = 0; axis < rank; ++axis) {
            int64_t growth = merged.kernel[axis] - leaf.geometry.kernel[axis];
            int64_t shift = growth / 2 * merged.dilations[axis];
            bool centred = growth % 2 == 0 && leaf.geometry.pad_begin(axis) + shift == merged.pad_begin(axis) &&
                           leaf.geometry.pad_end(axis) + shift == merged.pad_end(axis);
            if (centred) continue;
            refusal = fmt::format("the kernel of {} (size {}, pads {}) is not centred in the {}-wide merged kernel "
                                  "(pads {}) on spatial axis {}",
                                  graph.nodes[leaf.node].label(), leaf.geometry.kernel[axis], leaf.geometry.pads,
                                  merged.kernel[axis], merged.pads, axis);
            return std::nullopt;
        }
    }
    return merged;
}

Verdict plan_merge(const BranchSum& sum, const Graph& graph, const GraphIndex& index) {
    std::size_t conv_leaves = 0;
    std::vector<std::size_t> group = largest_input_group(sum, graph, index, conv_leaves);
    if (group.empty()) return {};

    MergePlan plan;
    std::set<std::size_t> group_nodes(group.begin(), group.end());
    const Tensor* first_weight = graph.initializer(graph.nodes[group.front()].input(1));
    std::size_t output_rank = first_weight ? first_weight->rank() : 0;
    std::size_t dropped_zeros = 0;
    for (const std::string& leaf : sum.leaves) {
        std::optional<std::size_t> producer = index.producer(leaf);
        if (producer && group_nodes.contains(*producer)) continue;
        if (is_vanishing_zero(leaf, output_rank, graph)) ++dropped_zeros;
        else plan.kept_leaves.push_back(leaf);
    }
    if (group.size() < 2 && dropped_zeros == 0) {
        if (conv_leaves < 2) return {};
        return {{}, "its Conv branches read different inputs"};
    }

    for (std::size_t node : group_nodes) {
        const Node& conv = graph.nodes[node];
        auto summed = static_cast<std::size_t>(std::count(group.begin(), group.end(), node));
        if (index.use_count(conv.outputs[0]) != summed)
            return {{}, fmt::format("the output of {} is also used outside the sum", conv.label())};
        if (std::string refusal = constant_weights_refusal(conv, graph); !refusal.empty()) return {{}, refusal};
    }
    for (std::size_t node : group) {
        std::optional<ConvGeometry> geometry = read_conv_geometry(graph.nodes[node], graph);
        if (!geometry)
            return {{}, fmt::format("the padding of {} depends on an input size the graph does not record",
                                    graph.nodes[node].label())};
        plan.convs.push_back({node, *geometry});
    }
    for (const ConvLeaf& leaf : plan.convs)
        if (std::string refusal = geometry_refusal(plan.convs.front(), leaf, graph); !refusal.empty())
            return {{}, refusal};
    std::string refusal;
    std::optional<ConvGeometry> geometry = merged_geometry(plan.convs, graph, refusal);
    if (!geometry) return {{}, refusal};
    plan.geometry = *geometry;
    return {std::move(plan), {}};
}

// Adds `kernel` (dims [O, I, k...]) into `merged` (dims [O, I, K...]) at offset (K − k)/2 on every spatial axis.
void add_centred(const Tensor& kernel, std::vector<double>& merged, const std::vector<int64_t>& merged_dims) {
    std::vector<int64_t> small(kernel.dims().begin() + 2, kernel.dims().end());
    std::vector<int64_t> big(merged_dims.begin() + 2, merged_dims.end());
    // Where each tap of one small kernel slice lands in a big one.
    std::vector<std::size_t> landing;
    for (int64_t tap = 0; tap < element_count(small); ++tap) {
        int64_t rest = tap, target = 0, stride = 1;
        for (std::size_t axis = small.size(); axis-- > 0;) {
            target += (rest % small[axis] + (big[axis] - small[axis]) / 2) * stride;
            rest /= small[axis];
            stride *= big[axis];
        }
        landing.push_back(static_cast<std::size_t>(target));
    }
    std::vector<double> values = kernel.to_doubles();
    auto big_taps = static_cast<std::size_t>(element_count(big));
    for (std::size_t slice = 0; slice * landing.size() < values.size(); ++slice)
        for (std::size_t tap = 0; tap < landing.size(); ++tap)
            merged[slice * big_taps + landing[tap]] += values[slice * landing.size() + tap];
}

// Apple's deploy-time model calls a block's single conv `reparam_conv`; the merged Conv takes that name in the scope
// of the block's sum, as PyTorch would export it (/stage1/stage1.1/Add_2 -> /stage1/stage1.1/reparam_conv/Conv, weights
// /stage1/stage1.1/reparam_conv.weight); an unscoped sum `s` gives s_reparam_conv.
struct ReparamNames {
    std::string node;
    std::string parameters;  // prefix of .weight and .bias
};

ReparamNames reparam_names(const Node& root, const Graph& graph) {
    const std::string& id = root.name.empty() ? root.outputs[0] : root.name;
    auto slash = id.rfind('/');
    if (slash == std::string::npos) {
        std::string name = graph.fresh_name(id + "_reparam_conv");
        return {name, name};
    }
    std::string scope = id.substr(0, slash) + "/reparam_conv";
    return {graph.fresh_name(scope + "/Conv"), scope};
}

// The merged Conv, with the largest kernel's attributes, writing `output`.
Node merged_conv(const MergePlan& plan, const Node& root, const std::string& output, Graph& graph) {
    const ConvGeometry& geometry = plan.geometry;
    const ConvLeaf& largest = *std::max_element(plan.convs.begin(), plan.convs.end(), [](const auto& a, const auto& b) {
        return element_count(a.geometry.kernel) < element_count(b.geometry.kernel);
    });
    const Node& template_conv = graph.nodes[largest.node];
    DataType type = graph.initializer(template_conv.input(1))->dtype();

    std::vector<int64_t> dims = {geometry.out_channels, geometry.in_channels / geometry.group};
    dims.insert(dims.end(), geometry.kernel.begin(), geometry.kernel.end());
    std::vector<double> weights(static_cast<std::size_t>(element_count(dims)), 0.0);
    std::vector<double> biases(static_cast<std::size_t>(geometry.out_channels), 0.0);
    std::string first_bias;  // its name goes to the merged bias when nothing else reads it
    for (const ConvLeaf& leaf : plan.convs) {
        const Node& conv = graph.nodes[leaf.node];
        add_centred(*graph.initializer(conv.input(1)), weights, dims);
        if (conv.input(2).empty()) continue;
        if (first_bias.empty()) first_bias = conv.input(2);
        std::vector<double> bias = graph.initializer(conv.input(2))->to_doubles();
        for (std::size_t o = 0; o < biases.size(); ++o) biases[o] += bias[o];
    }

    Node merged = template_conv;
    ReparamNames names = reparam_names(root, graph);
    merged.name = names.node;
    std::string weight_name = graph.fresh_name(names.parameters + ".weight");
    graph.initializers[weight_name] = Tensor::from_doubles(type, dims, weights);
    merged.inputs = {template_conv.input(0), weight_name};
    if (!first_bias.empty()) {
        std::string bias_name = graph.fresh_name(names.parameters + ".bias");
        graph.initializers[bias_name] = Tensor::from_doubles(type, {geometry.out_channels}, biases);
        merged.inputs.push_back(bias_name);
    }
    merged.outputs = {output};
    if (geometry != largest.geometry) write_conv_geometry(geometry, merged);
    return merged;
}

// The merged Conv, then a chain of Adds over it and the kept leaves, reusing the old Adds' names and ending in
// the root's output.
std::vector<Node> rewritten_sum(const BranchSum& sum, const MergePlan& plan, Graph& graph) {
    const Node& root = graph.nodes[sum.root];
    if (plan.kept_leaves.empty()) return {merged_conv(plan, root, root.outputs[0], graph)};
    std::string merged_output = graph.fresh_name(root.outputs[0] + "_merged_branches");
    std::vector<Node> nodes = {merged_conv(plan, root, merged_output, graph)};
    std::string partial = merged_output;
    for (std::size_t i = 0; i < plan.kept_leaves.size(); ++i) {
        bool last = i + 1 == plan.kept_leaves.size();
        Node add = last ? root : graph.nodes[sum.adds[i]];
        add.inputs = {partial, plan.kept_leaves[i]};
        partial = add.outputs[0];
        nodes.push_back(std::move(add));
    }
    return nodes;
}

class MergeParallelBranches final : public Pass {
public:
    int run(Model& model, PassLog& log) const override {
        Graph& graph = model.graph;
        GraphIndex index(graph);
        std::map<std::size_t, std::vector<Node>> replacements;  // by root index: the nodes taking its place
        std::vector<bool> removed(graph.nodes.size(), false);
        std::set<std::string> stale_shapes;
        for (const BranchSum& sum : find_branch_sums(graph, index)) {
            const Node& root = graph.nodes[sum.root];
            Verdict verdict = plan_merge(sum, graph, index);
            if (!verdict.plan) {
                if (!verdict.refusal.empty())
                    log.note(fmt::format("{}: branch Convs not merged: {}", root.label(), verdict.refusal));
                continue;
            }
            replacements[sum.root] = rewritten_sum(sum, *verdict.plan, graph);
            for (std::size_t add : sum.adds) removed[add] = true;
            for (const ConvLeaf& leaf : verdict.plan->convs) removed[leaf.node] = true;
            // The old Adds' outputs may be reused for partial sums of another shape.
            for (std::size_t add : sum.adds)
                if (add != sum.root) stale_shapes.insert(graph.nodes[add].outputs[0]);
            for (const ConvLeaf& leaf : verdict.plan->convs) stale_shapes.insert(graph.nodes[leaf.node].outputs[0]);
        }
        if (replacements.empty()) return 0;

        std::vector<Node> nodes;
        for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
            if (auto it = replacements.find(i); it != replacements.end())
                nodes.insert(nodes.end(), it->second.begin(), it->second.end());
            else if (!removed[i]) nodes.push_back(std::move(graph.nodes[i]));
        }
        graph.nodes = std::move(nodes);
        std::erase_if(graph.value_info, [&](const ValueInfo& info) { return stale_shapes.contains(info.name); });
        return static_cast<int>(replacements.size());
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(MergeParallelBranches, "merge_parallel_branches",
                        "merge Conv branches of one input that are summed into a single Conv");

}  // namespace mobileone
