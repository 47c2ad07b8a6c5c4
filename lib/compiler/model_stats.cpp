#include "compiler/model_stats.h"

#include "compiler/pipeline.h"
#include "ir/onnx_io.h"

namespace mobileone {
namespace {

bool is_floating(DataType type) {
    return type == DataType::Float || type == DataType::Double || type == DataType::Float16 ||
           type == DataType::BFloat16;
}

std::vector<int64_t> dims_or_one(const ValueInfo& info) {
    std::vector<int64_t> dims;
    for (const Dim& dim : info.shape.value_or(std::vector<Dim>{})) dims.push_back(dim.value.value_or(1));
    return dims;
}

std::vector<int64_t> shape_of(const std::map<std::string, ValueInfo>& shapes, const std::string& name) {
    auto it = shapes.find(name);
    return it == shapes.end() ? std::vector<int64_t>{} : dims_or_one(it->second);
}

int64_t node_macs(const Node& node, const std::map<std::string, ValueInfo>& shapes) {
    if (node.op_type == "Conv") {
        auto weight = shape_of(shapes, node.input(1));
        auto output = shape_of(shapes, node.outputs[0]);
        if (weight.size() < 3 || output.size() != weight.size()) return 0;
        // Every output element costs one kernel window over the group's input channels.
        return element_count(output) * element_count(std::span(weight).subspan(1));
    }
    if (node.op_type == "Gemm" || node.op_type == "MatMul") {
        auto a = shape_of(shapes, node.input(0));
        auto output = shape_of(shapes, node.outputs[0]);
        if (a.empty() || output.empty()) return 0;
        bool transposed = node.op_type == "Gemm" && node.attribute_int("transA", 0) != 0;
        int64_t inner = transposed ? a.front() : a.back();
        return element_count(output) * inner;
    }
    return 0;
}

}  // namespace

ModelStats compute_stats(const Model& model) {
    ModelStats stats;
    for (const auto& [name, tensor] : model.graph.initializers)
        if (is_floating(tensor.dtype())) stats.parameters += tensor.numel();
    for (const Node& node : model.graph.nodes) {
        ++stats.nodes_by_op[node.op_type];
        ++stats.node_count;
        if (node.op_type == "Constant")
            if (const Tensor* value = node.attribute_tensor("value"); value && is_floating(value->dtype()))
                stats.parameters += value->numel();
    }
    // ONNX 1.12's shape inference stops at Reshape targets built by Unsqueeze/Concat chains (SE blocks of the
    // no-folding export style); folding them on a copy first lets it see every Conv's output shape.
    Model folded = model;
    run_pipeline(folded, {"constants_to_initializers", "fold_constants"});
    std::map<std::string, ValueInfo> shapes;
    try {
        shapes = infer_shapes(folded);
    } catch (const std::exception&) {
        return stats;  // MACs need shapes; a model ONNX cannot infer still gets its counts
    }
    for (const Node& node : model.graph.nodes) stats.macs += node_macs(node, shapes);
    return stats;
}

}  // namespace mobileone
