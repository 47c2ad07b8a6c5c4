#include <gtest/gtest.h>

#include <filesystem>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

Model tiny_conv_model() {
    Model model;
    model.ir_version = 8;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    graph.name = "tiny";
    graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{{}, "batch"}, {2, {}}, {4, {}}, {4, {}}}, {}});
    graph.outputs.push_back({"y", DataType::Float, std::vector<Dim>{{{}, "batch"}, {3, {}}, {4, {}}, {4, {}}}, {}});
    graph.initializers["w"] = Tensor::from_values<float>({3, 2, 1, 1}, std::vector<float>{1, 2, 3, 4, 5, 6});
    Node conv{"conv0", "Conv", "", {"x", "w"}, {"y"}, {}, {}};
    conv.attributes["kernel_shape"] = std::vector<int64_t>{1, 1};
    graph.nodes.push_back(conv);
    return model;
}

TEST(Tensor, RoundsFoldedDoublesToFloatOnce) {
    std::vector<double> values = {0.1, 1.0 / 3.0};
    Tensor tensor = Tensor::from_doubles(DataType::Float, {2}, values);
    EXPECT_EQ(tensor.data<float>()[0], 0.1f);
    EXPECT_EQ(tensor.data<float>()[1], static_cast<float>(1.0 / 3.0));
    EXPECT_THROW(tensor.data<double>(), Error);
}

TEST(OnnxIo, RoundTripKeepsGraphAndIsDeterministic) {
    Model model = tiny_conv_model();
    std::string bytes = serialize_model(model);
    Model back = parse_model(bytes, "tiny.onnx");
    EXPECT_EQ(serialize_model(back), bytes);
    ASSERT_EQ(back.graph.nodes.size(), 1u);
    EXPECT_EQ(back.graph.nodes[0].attribute_ints("kernel_shape"), (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(back.graph.inputs[0].shape->at(0).symbol, "batch");
    EXPECT_EQ(*back.graph.initializer("w"), *model.graph.initializer("w"));
    EXPECT_NO_THROW(check_model(back, "tiny.onnx"));
}

TEST(OnnxIo, TruncatedFileIsAOneLineErrorNamingTheFile) {
    std::string bytes = serialize_model(tiny_conv_model());
    try {
        parse_model(std::string_view(bytes).substr(0, bytes.size() / 2), "cut.onnx");
        FAIL() << "truncated model parsed";
    } catch (const Error& error) {
        std::string message = error.what();
        EXPECT_NE(message.find("cut.onnx"), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(OnnxIo, MissingInitializerNamesTheNode) {
    Model model = tiny_conv_model();
    model.graph.initializers.clear();
    std::string bytes = serialize_model(model);
    try {
        parse_model(bytes, "m.onnx");
        FAIL() << "dangling weight accepted";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("'conv0' (Conv)"), std::string::npos) << error.what();
    }
}

TEST(OnnxIo, OldExportersInitializerInputsAreNotGraphInputs) {
    Model model = tiny_conv_model();
    model.ir_version = 3;
    Model back = parse_model(serialize_model(model), "old.onnx");
    ASSERT_EQ(back.graph.inputs.size(), 1u);
    EXPECT_EQ(back.graph.inputs[0].name, "x");
    back.graph.initializers["added_by_a_pass"] = Tensor::scalar(1.0f);
    back.graph.nodes.push_back(Node{"scale", "Mul", "", {"y", "added_by_a_pass"}, {"z"}, {}, {}});
    back.graph.outputs[0].name = "z";
    EXPECT_NO_THROW(check_model(back, "old.onnx")) << "IR 3 requires initializers listed as inputs";
}

TEST(OnnxIo, SaveIsAtomicAndFailsCleanlyOnMissingDirectory) {
    TempDir dir;
    auto target = dir.path() / "missing" / "out.onnx";
    EXPECT_THROW(save_model(tiny_conv_model(), target), Error);
    EXPECT_FALSE(std::filesystem::exists(target));
    auto good = dir.path() / "out.onnx";
    save_model(tiny_conv_model(), good);
    EXPECT_EQ(load_model(good).graph.nodes.size(), 1u);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "temporary file left behind";
}

TEST(OnnxIo, InferShapesFillsIntermediateShapes) {
    auto shapes = infer_shapes(tiny_conv_model());
    ASSERT_TRUE(shapes.contains("y"));
    ASSERT_TRUE(shapes.at("y").shape.has_value());
    EXPECT_EQ(shapes.at("y").shape->at(1).value, 3);
}

}  // namespace
}  // namespace mobileone
