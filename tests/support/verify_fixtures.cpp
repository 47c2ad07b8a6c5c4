#include "support/verify_fixtures.h"

namespace mobileone {
namespace {

Model affine_model(std::vector<Node> nodes, std::vector<float> weight) {
    Model model;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    std::vector<Dim> shape = {{{}, "batch"}, {kAffineClasses, {}}};
    graph.inputs.push_back({"x", DataType::Float, shape, {}});
    graph.outputs.push_back({"y", DataType::Float, shape, {}});
    graph.initializers["w"] = Tensor::from_values<float>({kAffineClasses}, weight);
    graph.nodes = std::move(nodes);
    graph.nodes.push_back({"relu", "Relu", "", {"sum"}, {"y"}, {}, {}});
    return model;
}

const std::vector<float> kWeight = {0.5f, -1.5f, 2.0f, 0.25f, 3.0f, -0.75f, 1.0f, 0.125f};

}  // namespace

Model affine_reference() {
    return affine_model({{"scale", "Mul", "", {"x", "w"}, {"scaled"}, {}, {}},
                         {"add", "Add", "", {"scaled", "x"}, {"sum"}, {}, {}}},
                        kWeight);
}

Model affine_candidate(float weight_error) {
    std::vector<float> merged = kWeight;
    for (float& w : merged) w += 1;
    merged[3] += weight_error;
    return affine_model({{"merged", "Mul", "", {"x", "w"}, {"sum"}, {}, {}}}, merged);
}

}  // namespace mobileone
