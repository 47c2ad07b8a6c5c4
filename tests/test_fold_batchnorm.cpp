#include <gtest/gtest.h>

#include <cmath>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;

// s = γ/√(var+ε) = {2/√16, 3/√4} = {0.5, 1.5}; shift = β − μ·s = {0.5 − 0.5, 0 − 3} = {0, −3}.
const BatchnormParams kExactBatchnorm{{2, 3}, {0.5f, 0}, {1, 2}, {15, 3}, 1.0f};

GraphBuilder conv_batchnorm_relu(Tensor weight, std::optional<Tensor> bias) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, weight.dim(1), 3, 3});
    std::string conv = builder.conv("conv", x, std::move(weight), std::move(bias));
    builder.output(builder.relu("relu", builder.batchnorm("bn", conv, kExactBatchnorm)));
    return builder;
}

TEST(FoldBatchnorm, FoldsIntoABiasedConv) {
    GraphBuilder builder = conv_batchnorm_relu(float_tensor({2, 1, 1, 1}, {2, 3}), float_tensor({2}, {1, -1}));
    Model before = builder.model();
    Model& model = builder.model();

    EXPECT_EQ(run_pass("fold_batchnorm", model), 1);

    ASSERT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Relu"}));
    const Node& conv = model.graph.nodes[0];
    EXPECT_EQ(conv.name, "conv");
    EXPECT_EQ(conv.outputs, (std::vector<std::string>{"bn_out"}));
    EXPECT_EQ(conv.input(0), "x");
    // W' = {2·0.5, 3·1.5}; b' = {1·0.5 + 0, −1·1.5 − 3}.
    EXPECT_EQ(floats_of(model, conv.input(1)), (std::vector<float>{1, 4.5f}));
    EXPECT_EQ(floats_of(model, conv.input(2)), (std::vector<float>{0.5f, -4.5f}));
    EXPECT_LT(max_output_difference(before, model, random_inputs(before, 1)), 1e-6);
    EXPECT_NO_THROW(check_model(model, "folded.onnx"));
    EXPECT_EQ(run_pass("fold_batchnorm", model), 0);
}

TEST(FoldBatchnorm, FoldsAConvWithoutBias) {
    GraphBuilder builder = conv_batchnorm_relu(float_tensor({2, 1, 1, 2}, {1, 2, 3, 4}), std::nullopt);
    Model before = builder.model();
    Model& model = builder.model();

    EXPECT_EQ(run_pass("fold_batchnorm", model), 1);

    ASSERT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Relu"}));
    const Node& conv = model.graph.nodes[0];
    ASSERT_EQ(conv.inputs.size(), 3u);
    EXPECT_EQ(floats_of(model, conv.input(1)), (std::vector<float>{0.5f, 1, 4.5f, 6}));
    EXPECT_EQ(floats_of(model, conv.input(2)), (std::vector<float>{0, -3}));
    EXPECT_LT(max_output_difference(before, model, random_inputs(before, 2)), 1e-6);
    EXPECT_NO_THROW(check_model(model, "folded.onnx"));
}

TEST(FoldBatchnorm, ComputesInDoubleAndRoundsOnce) {
    GraphBuilder builder;
    std::string conv = builder.conv("conv", builder.input("x", {1, 1, 2, 2}), float_tensor({1, 1, 1, 1}, {0.1f}),
                                    float_tensor({1}, {0.3f}));
    builder.output(builder.batchnorm("bn", conv, {{0.7f}, {0.2f}, {0.9f}, {2.0f}, 1e-5f}));
    Model& model = builder.model();

    ASSERT_EQ(run_pass("fold_batchnorm", model), 1);

    double scale = double(0.7f) / std::sqrt(2.0 + double(1e-5f));
    const Node& folded = model.graph.nodes[0];
    EXPECT_EQ(floats_of(model, folded.input(1))[0], static_cast<float>(double(0.1f) * scale));
    EXPECT_EQ(floats_of(model, folded.input(2))[0],
              static_cast<float>((double(0.3f) - double(0.9f)) * scale + double(0.2f)));
}

TEST(FoldBatchnorm, NonPositiveVariancePlusEpsilonNamesTheBatchnorm) {
    GraphBuilder builder;
    std::string conv = builder.conv("conv", builder.input("x", {1, 1, 2, 2}), float_tensor({2, 1, 1, 1}, {1, 1}),
                                    std::nullopt);
    // var + ε is exactly 0 for channel 1.
    builder.output(builder.batchnorm("bn", conv, {{1, 1}, {0, 0}, {0, 0}, {1, -1e-5f}, 1e-5f}));
    try {
        run_pass("fold_batchnorm", builder.model());
        FAIL() << "a zero variance + epsilon was folded";
    } catch (const Error& error) {
        std::string message = error.what();
        EXPECT_NE(message.find("'bn' (BatchNormalization)"), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

void expect_untouched(Model& model) {
    std::string before = serialize_model(model);
    EXPECT_EQ(run_pass("fold_batchnorm", model), 0);
    EXPECT_EQ(serialize_model(model), before);
}

TEST(FoldBatchnorm, LeavesAConvWhoseOutputIsAlsoReadElsewhere) {
    GraphBuilder builder = conv_batchnorm_relu(float_tensor({2, 1, 1, 1}, {2, 3}), std::nullopt);
    builder.output("conv_out");
    expect_untouched(builder.model());
}

// x -> Conv -> BatchNormalization "bn", the graph output, at `opset`.
GraphBuilder conv_batchnorm(int64_t opset) {
    GraphBuilder builder(opset);
    std::string conv = builder.conv("conv", builder.input("x", {1, 1, 2, 2}), float_tensor({2, 1, 1, 1}, {1, 1}),
                                    std::nullopt);
    builder.output(builder.batchnorm("bn", conv, kExactBatchnorm));
    return builder;
}

TEST(FoldBatchnorm, LeavesATrainingModeBatchnorm) {
    GraphBuilder builder = conv_batchnorm(15);
    builder.node("bn").attributes["training_mode"] = int64_t{1};
    expect_untouched(builder.model());
}

TEST(FoldBatchnorm, LeavesABatchnormWhoseRunningStatisticsAreRead) {
    GraphBuilder builder = conv_batchnorm(13);
    builder.node("bn").outputs.push_back("running_mean");
    builder.model().graph.outputs.push_back({"running_mean", DataType::Float, std::vector<Dim>{{2, {}}}, {}});
    expect_untouched(builder.model());
}

TEST(FoldBatchnorm, LeavesAConvWhoseWeightIsNotAnInitializer) {
    GraphBuilder builder = conv_batchnorm_relu(float_tensor({2, 1, 1, 1}, {2, 3}), std::nullopt);
    builder.node("conv").inputs[1] = builder.input("w", {2, 1, 1, 1});
    builder.model().graph.initializers.erase("conv.weight");
    expect_untouched(builder.model());
}

TEST(FoldBatchnorm, KeepsTheOutputsOfAGroupedStridedConvAndFoldsEveryBranch) {
    GraphBuilder builder;
    std::string x = builder.input("x", {2, 4, 7, 7});
    BatchnormParams bn{{0.5f, -1.2f, 2, 0.3f}, {0.1f, 0.2f, -0.3f, 0}, {0.4f, -0.6f, 0, 1}, {0.2f, 1.5f, 3, 0.01f}};
    std::string a = builder.conv("conv_a", x, random_tensor({4, 2, 3, 3}, 10), random_tensor({4}, 11),
                                 {.pads = {1, 1, 1, 1}, .strides = {2, 2}, .group = 2});
    std::string b = builder.conv("conv_b", x, random_tensor({4, 4, 1, 1}, 12), std::nullopt, {.strides = {2, 2}});
    builder.output(builder.add("sum", builder.batchnorm("bn_a", a, bn), builder.batchnorm("bn_b", b, bn)));
    Model before = builder.model();
    Model& model = builder.model();

    EXPECT_EQ(run_pass("fold_batchnorm", model), 2);

    EXPECT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Conv", "Add"}));
    EXPECT_LT(max_output_difference(before, model, random_inputs(before, 3)), 1e-5);
    EXPECT_NO_THROW(check_model(model, "folded.onnx"));
}

}  // namespace
}  // namespace mobileone
