// remove_noops: drop nodes that hand their input on unchanged at inference time.
//
// Before:  X -> Conv -> a -> Identity -> b -> Relu        After:  X -> Conv -> a -> Relu
//
// Matches Identity; Dropout whose mask output nobody reads and that is not forced into training mode (inference
// runs it as identity); Pad whose pads are all zero (in every mode nothing is added); and Reshape to the shape its
// input already has (squeeze-excite's view(-1, C, 1, 1) of a [N, C, 1, 1] tensor), decided per dim: 0 copies the
// dim, a fixed size must equal the input's static dim, and a single -1 then necessarily equals the one left. Readers of the node's
// output are rewired to its input. When that output is a graph output, whose name must not change, the producer of
// the input takes the output's name instead; if the input is a graph input, initializer or graph output itself,
// there is no producer to rename and the node stays.
#include <algorithm>

#include "compiler/pass.h"
#include "ir/onnx_io.h"

namespace mobileone {
namespace {

bool is_read(const Graph& graph, const std::string& tensor) {
    if (graph.is_output(tensor)) return true;
    return std::any_of(graph.nodes.begin(), graph.nodes.end(), [&](const Node& node) {
        return std::find(node.inputs.begin(), node.inputs.end(), tensor) != node.inputs.end();
    });
}

// Dropout-12 made training mode an input; only a constant false (or no input) guarantees identity.
bool is_inference_dropout(const Node& node, const Graph& graph) {
    if (node.outputs.size() > 1 && !node.outputs[1].empty() && is_read(graph, node.outputs[1])) return false;
    const std::string& training_mode = node.input(2);
    if (training_mode.empty()) return true;
    const Tensor* flag = graph.initializer(training_mode);
    if (!flag || flag->numel() != 1) return false;
    return flag->to_int64s()[0] == 0;
}

// Pad-1 called its attribute `paddings`, Pad-2 `pads`; Pad-11 made pads an input.
bool has_zero_pads(const Node& node, const Graph& graph, int64_t opset) {
    std::vector<int64_t> pads;
    if (opset >= 11) {
        const Tensor* tensor = graph.initializer(node.input(1));
        if (!tensor) return false;
        pads = tensor->to_int64s();
    } else {
        pads = node.attribute_ints(opset < 2 ? "paddings" : "pads");
    }
    return std::all_of(pads.begin(), pads.end(), [](int64_t pad) { return pad == 0; });
}

bool is_identity_reshape(const Node& node, const Graph& graph, const std::map<std::string, ValueInfo>& shapes) {
    const Tensor* target_tensor = graph.initializer(node.input(1));
    auto input = shapes.find(node.input(0));
    if (!target_tensor || input == shapes.end() || !input->second.shape) return false;
    std::vector<int64_t> target = target_tensor->to_int64s();
    const std::vector<Dim>& dims = *input->second.shape;
    bool allow_zero = node.attribute_int("allowzero", 0) != 0;
    if (target.size() != dims.size() || std::ranges::count(target, -1) > 1) return false;
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] == -1 || (target[i] == 0 && !allow_zero)) continue;
        if (dims[i].value != target[i]) return false;
    }
    return true;
}

bool is_noop(const Node& node, const Graph& graph, int64_t opset, const std::map<std::string, ValueInfo>& shapes) {
    if (!node.domain.empty() && node.domain != "ai.onnx") return false;
    if (node.input(0).empty() || node.outputs.empty() || node.outputs[0].empty()) return false;
    if (node.op_type == "Identity") return true;
    if (node.op_type == "Dropout") return is_inference_dropout(node, graph);
    if (node.op_type == "Pad") return has_zero_pads(node, graph, opset);
    if (node.op_type == "Reshape") return is_identity_reshape(node, graph, shapes);
    return false;
}

void rename_everywhere(Graph& graph, const std::string& from, const std::string& to) {
    for (Node& node : graph.nodes) {
        std::replace(node.inputs.begin(), node.inputs.end(), from, to);
        std::replace(node.outputs.begin(), node.outputs.end(), from, to);
    }
}

// Removes graph.nodes[index], keeping its output name alive as described above; false if the node must stay.
bool bypass(Graph& graph, std::size_t index) {
    Node node = graph.nodes[index];
    const std::string& input = node.inputs[0];
    const std::string& output = node.outputs[0];
    bool keep_output_name = graph.is_output(output);
    if (keep_output_name && (graph.is_input(input) || graph.initializer(input) || graph.is_output(input))) return false;
    graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(index));
    if (keep_output_name) rename_everywhere(graph, input, output);
    else rename_everywhere(graph, output, input);
    std::vector<std::string> vanished(node.outputs.begin() + 1, node.outputs.end());  // an unread Dropout mask
    vanished.push_back(keep_output_name ? input : output);
    std::erase_if(graph.value_info, [&](const ValueInfo& info) { return std::ranges::count(vanished, info.name) > 0; });
    return true;
}

class RemoveNoops final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        int64_t opset = model.opset_version();
        bool has_reshape = std::ranges::any_of(graph.nodes, [](const Node& n) { return n.op_type == "Reshape"; });
        std::map<std::string, ValueInfo> shapes = has_reshape ? infer_shapes(model) : std::map<std::string, ValueInfo>{};
        int removed = 0;
        for (std::size_t i = 0; i < graph.nodes.size();) {
            if (is_noop(graph.nodes[i], graph, opset, shapes) && bypass(graph, i)) ++removed;
            else ++i;
        }
        return removed;
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(RemoveNoops, "remove_noops",
                        "remove Identity, inference Dropout, all-zero Pad and shape-preserving Reshape nodes");

}  // namespace mobileone
