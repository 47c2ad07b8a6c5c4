#include <gtest/gtest.h>

#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;
using Floats = std::vector<float>;
using Names = std::vector<std::string>;
using Dims = std::vector<int64_t>;

std::vector<Dim> image_dims(int64_t channels) { return {fixed(1), fixed(channels), fixed(2), fixed(2)}; }

// x[1,1,2,2] -> Conv(W = [2, 3] per output channel, b = [1, -1]) -> y[1,2,2,2] -> <op>(y, c) -> z
Model conv_then(const std::string& op, Tensor constant, bool constant_first = false, bool with_bias = true) {
    Model model;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    graph.name = "affine";
    graph.inputs = {float_value("x", image_dims(1))};
    graph.outputs = {float_value("z", image_dims(2))};
    graph.initializers["W"] = Tensor::from_values<float>({2, 1, 1, 1}, Floats{2, 3});
    Node conv = make_node("Conv", {"x", "W"}, {"y"});
    if (with_bias) {
        graph.initializers["b"] = Tensor::from_values<float>({2}, Floats{1, -1});
        conv.inputs.push_back("b");
    }
    graph.initializers["c"] = std::move(constant);
    graph.nodes = {conv, make_node(op, constant_first ? Names{"c", "y"} : Names{"y", "c"}, {"z"})};
    graph.value_info = {float_value("y", image_dims(2))};
    return model;
}

void expect_single_conv(const Model& model) {
    ASSERT_EQ(model.graph.nodes.size(), 1u);
    const Node& conv = model.graph.nodes[0];
    EXPECT_EQ(conv.op_type, "Conv");
    EXPECT_EQ(conv.outputs, Names{"z"});
    EXPECT_TRUE(model.graph.value_info.empty()) << "value_info of the vanished conv output is left behind";
    EXPECT_NO_THROW(check_model(model, "folded"));
}

TEST(FoldChannelAffine, PerChannelMulScalesWeightsAndBias) {
    Model model = conv_then("Mul", Tensor::from_values<float>({1, 2, 1, 1}, Floats{10, 0.5f}));
    EXPECT_EQ(run_pass("fold_channel_affine", model), 1);
    expect_single_conv(model);
    EXPECT_EQ(floats_of(model, "W"), (Floats{20, 1.5f}));   // 2*10, 3*0.5
    EXPECT_EQ(floats_of(model, "b"), (Floats{10, -0.5f}));  // 1*10, -1*0.5
    EXPECT_EQ(run_pass("fold_channel_affine", model), 0);
}

TEST(FoldChannelAffine, AddWithTheConstantFirstAddsToTheBias) {
    Model model = conv_then("Add", Tensor::from_values<float>({2, 1, 1}, Floats{1, 2}), /*constant_first=*/true);
    EXPECT_EQ(run_pass("fold_channel_affine", model), 1);
    expect_single_conv(model);
    EXPECT_EQ(floats_of(model, "W"), (Floats{2, 3}));
    EXPECT_EQ(floats_of(model, "b"), (Floats{2, 1}));  // 1+1, -1+2
}

TEST(FoldChannelAffine, AddGivesABiaslessConvABias) {
    Model model = conv_then("Add", Tensor::from_values<float>({1, 2, 1, 1}, Floats{0.25f, -4}), false, false);
    EXPECT_EQ(run_pass("fold_channel_affine", model), 1);
    expect_single_conv(model);
    const Node& conv = model.graph.nodes[0];
    ASSERT_EQ(conv.inputs.size(), 3u);
    ASSERT_NE(model.graph.initializer(conv.inputs[2]), nullptr);
    EXPECT_EQ(floats_of(model, conv.inputs[2]), (Floats{0.25f, -4}));
}

TEST(FoldChannelAffine, ScalarAndOneElementConstantsApplyToEveryChannel) {
    for (const Dims& dims : {Dims{}, Dims{1}, Dims{1, 1, 1, 1}}) {
        Model model = conv_then("Mul", Tensor::from_values<float>(dims, Floats{-2}));
        EXPECT_EQ(run_pass("fold_channel_affine", model), 1) << shape_to_string(dims);
        EXPECT_EQ(floats_of(model, "W"), (Floats{-4, -6}));
        EXPECT_EQ(floats_of(model, "b"), (Floats{-2, 2}));
    }
}

TEST(FoldChannelAffine, MulThenAddFoldInOneRun) {
    Model model = conv_then("Mul", Tensor::from_values<float>({2, 1, 1}, Floats{2, 4}));
    model.graph.nodes[1].outputs = {"m"};
    model.graph.initializers["a"] = Tensor::from_values<float>({2, 1, 1}, Floats{5, 6});
    model.graph.nodes.push_back(make_node("Add", {"m", "a"}, {"z"}));
    EXPECT_EQ(run_pass("fold_channel_affine", model), 2);
    expect_single_conv(model);
    EXPECT_EQ(floats_of(model, "W"), (Floats{4, 12}));
    EXPECT_EQ(floats_of(model, "b"), (Floats{7, 2}));  // 1*2+5, -1*4+6
}

TEST(FoldChannelAffine, ConstantsThatVaryAlongOtherAxesAreNotFolded) {
    // [2] aligns with the width axis, [1,2,2,2] varies spatially, [1,1,2,1,1] would raise the rank to 5.
    for (const Dims& dims : {Dims{2}, Dims{1, 2, 2, 2}, Dims{1, 1, 2, 1, 1}}) {
        for (const char* op : {"Mul", "Add"}) {
            Model model = conv_then(op, Tensor(DataType::Float, dims));
            EXPECT_EQ(run_pass("fold_channel_affine", model), 0) << op << shape_to_string(dims);
            EXPECT_EQ(model.graph.nodes.size(), 2u);
        }
    }
}

TEST(FoldChannelAffine, LegacyBroadcastingBeforeOpset7IsLeftAlone) {
    Model model = conv_then("Mul", Tensor::from_values<float>({2, 1, 1}, Floats{2, 4}));
    model.opset_imports = {{"", 6}};
    EXPECT_EQ(run_pass("fold_channel_affine", model), 0);
}

TEST(FoldChannelAffine, ConvOutputReadTwiceIsNotFolded) {
    Model model = conv_then("Mul", Tensor::from_values<float>({2, 1, 1}, Floats{2, 4}));
    model.graph.nodes.push_back(make_node("Relu", {"y"}, {"r"}));
    model.graph.outputs.push_back(float_value("r", image_dims(2)));
    EXPECT_EQ(run_pass("fold_channel_affine", model), 0);
    EXPECT_EQ(floats_of(model, "W"), (Floats{2, 3}));
}

TEST(FoldChannelAffine, ConvOutputThatIsAGraphOutputIsNotFolded) {
    Model model = conv_then("Mul", Tensor::from_values<float>({2, 1, 1}, Floats{2, 4}));
    model.graph.outputs.push_back(float_value("y", image_dims(2)));
    EXPECT_EQ(run_pass("fold_channel_affine", model), 0);
}

TEST(FoldChannelAffine, NonConstantOperandIsNotFolded) {
    Model model = conv_then("Mul", Tensor::from_values<float>({2, 1, 1}, Floats{2, 4}));
    model.graph.initializers.erase("c");
    model.graph.inputs.push_back({"c", DataType::Float, std::vector<Dim>{{2, {}}, {1, {}}, {1, {}}}, {}});
    EXPECT_EQ(run_pass("fold_channel_affine", model), 0);
}

TEST(FoldChannelAffine, SharedWeightsAreCopiedNotEdited) {
    Model model = conv_then("Mul", Tensor::from_values<float>({2, 1, 1}, Floats{10, 10}));
    model.graph.nodes.push_back(make_node("Conv", {"x", "W", "b"}, {"other"}));
    model.graph.outputs.push_back(float_value("other", image_dims(2)));
    EXPECT_EQ(run_pass("fold_channel_affine", model), 1);
    const Node& folded = model.graph.nodes[0];
    EXPECT_NE(folded.inputs[1], "W");
    EXPECT_NE(folded.inputs[2], "b");
    EXPECT_EQ(floats_of(model, folded.inputs[1]), (Floats{20, 30}));
    EXPECT_EQ(floats_of(model, folded.inputs[2]), (Floats{10, -10}));
    EXPECT_EQ(floats_of(model, "W"), (Floats{2, 3}));
    EXPECT_EQ(floats_of(model, "b"), (Floats{1, -1}));
    EXPECT_NO_THROW(check_model(model, "shared"));
}

}  // namespace
}  // namespace mobileone
