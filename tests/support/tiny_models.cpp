#include "support/tiny_models.h"

namespace mobileone {

// x -> Conv(no bias) -> BatchNormalization -> Relu -> y: the smallest graph the default pipeline shrinks.
Model conv_bn_relu(float variance) {
    Model model;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    graph.name = "conv_bn_relu";
    auto dims = [](std::vector<int64_t> values) {
        std::vector<Dim> out;
        for (int64_t v : values) out.push_back(Dim{v, {}});
        return out;
    };
    graph.inputs.push_back({"x", DataType::Float, dims({1, 2, 5, 5}), {}});
    graph.outputs.push_back({"y", DataType::Float, dims({1, 2, 5, 5}), {}});
    graph.initializers["w"] = Tensor::from_values<float>({2, 2, 3, 3}, std::vector<float>(36, 0.25f));
    graph.initializers["gamma"] = Tensor::from_values<float>({2}, std::vector<float>{1.0f, 2.0f});
    graph.initializers["beta"] = Tensor::from_values<float>({2}, std::vector<float>{0.5f, -0.5f});
    graph.initializers["mean"] = Tensor::from_values<float>({2}, std::vector<float>{0.1f, 0.2f});
    graph.initializers["var"] = Tensor::from_values<float>({2}, std::vector<float>{variance, 0.5f});
    Node conv{"conv", "Conv", "", {"x", "w"}, {"c"}, {}, {}};
    conv.attributes["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    graph.nodes.push_back(conv);
    graph.nodes.push_back(Node{"bn", "BatchNormalization", "", {"c", "gamma", "beta", "mean", "var"}, {"b"}, {}, {}});
    graph.nodes.push_back(Node{"relu", "Relu", "", {"b"}, {"y"}, {}, {}});
    return model;
}

}  // namespace mobileone
