// avgpool_to_global: an AveragePool whose window covers its whole (static) input is a GlobalAveragePool.
//
// Before:  X[N,C,7,7] -> AveragePool(kernel_shape=[7,7], strides=[7,7]) -> Y[N,C,1,1]
// After:   X[N,C,7,7] -> GlobalAveragePool -> Y[N,C,1,1]
//
//   Y[n,c] = mean over h,w of X[n,c,h,w] in both.
//
// Only unpadded, undilated pools qualify: padding moves the window and, with count_include_pad, changes the divisor;
// SAME_* auto_pad pads; a dilated window outgrows the input. With kernel == input there is exactly one window, so
// strides and ceil_mode do not matter. The input's spatial dims come from ONNX shape inference and must be static;
// PyTorch's avg_pool2d(kernel=[h,w]) exports a zero Pad first, which remove_noops takes away.
#include <algorithm>
#include <map>

#include "compiler/pass.h"
#include "ir/onnx_io.h"

namespace mobileone {
namespace {

bool all_equal_to(const std::vector<int64_t>& values, int64_t expected) {
    return std::all_of(values.begin(), values.end(), [&](int64_t value) { return value == expected; });
}

bool is_candidate(const Node& node) {
    if (node.op_type != "AveragePool" || (!node.domain.empty() && node.domain != "ai.onnx")) return false;
    std::string auto_pad = node.attribute_string("auto_pad", "NOTSET");
    return (auto_pad == "NOTSET" || auto_pad == "VALID") && all_equal_to(node.attribute_ints("pads"), 0) &&
           all_equal_to(node.attribute_ints("dilations"), 1) && !node.attribute_ints("kernel_shape").empty();
}

// The dims after N and C, when shape inference knows them all.
std::optional<std::vector<int64_t>> static_spatial_dims(const std::map<std::string, ValueInfo>& shapes,
                                                        const std::string& tensor) {
    auto it = shapes.find(tensor);
    if (it == shapes.end() || !it->second.shape || it->second.shape->size() < 3) return std::nullopt;
    std::vector<int64_t> dims;
    for (auto dim = it->second.shape->begin() + 2; dim != it->second.shape->end(); ++dim) {
        if (!dim->value) return std::nullopt;
        dims.push_back(*dim->value);
    }
    return dims;
}

class AvgPoolToGlobal final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        Graph& graph = model.graph;
        if (std::none_of(graph.nodes.begin(), graph.nodes.end(), is_candidate)) return 0;
        std::map<std::string, ValueInfo> shapes = infer_shapes(model);
        int rewritten = 0;
        for (Node& node : graph.nodes) {
            if (!is_candidate(node)) continue;
            if (static_spatial_dims(shapes, node.input(0)) != node.attribute_ints("kernel_shape")) continue;
            node.op_type = "GlobalAveragePool";
            node.attributes.clear();
            ++rewritten;
        }
        return rewritten;
    }
};

}  // namespace

MOBILEONE_REGISTER_PASS(AvgPoolToGlobal, "avgpool_to_global",
                        "turn an AveragePool whose kernel covers its whole input into GlobalAveragePool");

}  // namespace mobileone
