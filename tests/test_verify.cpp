#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/convert.h"
#include "ir/error.h"
#include "models/mobileone.h"
#include "runtime/session.h"
#include "support/verify_fixtures.h"
#include "verify/random_inputs.h"
#include "verify/verify.h"

namespace mobileone {
namespace {

Tensor floats(std::vector<int64_t> dims, std::vector<float> values) { return Tensor::from_values<float>(dims, values); }

VerifyOptions few_samples() {
    VerifyOptions options;
    options.samples = 4;
    options.threads = 1;
    return options;
}

TEST(NormalGenerator, IsReproducibleAndStandardNormal) {
    NormalGenerator a(7), b(7), c(8);
    std::vector<double> values;
    for (int i = 0; i < 200000; ++i) {
        double value = a.next();
        EXPECT_EQ(value, b.next());
        values.push_back(value);
    }
    EXPECT_NE(values[0], c.next());
    double mean = 0, square = 0;
    int beyond_two_sigma = 0;
    for (double value : values) {
        mean += value;
        square += value * value;
        beyond_two_sigma += std::abs(value) > 2;
    }
    mean /= values.size();
    double variance = square / values.size() - mean * mean;
    // Standard errors at n = 2e5: mean 0.0022, variance 0.0032, tail fraction (4.55%) 0.05%.
    EXPECT_NEAR(mean, 0, 0.01);
    EXPECT_NEAR(variance, 1, 0.015);
    EXPECT_NEAR(beyond_two_sigma / 200000.0, 0.0455, 0.0025);
}

TEST(ComparisonBuilder, MeasuresOverAllSamples) {
    ComparisonBuilder builder("t", false);
    builder.add(floats({4}, {1, -4, 2, 0}), floats({4}, {1, -4, 2.5f, 0}));
    builder.add(floats({4}, {3, 0, 0, 1}), floats({4}, {3, 0.25f, 0, 1}));
    Comparison result = builder.finish({0.1, 0.05});
    EXPECT_EQ(result.samples, 2);
    EXPECT_EQ(result.shape, (std::vector<int64_t>{4}));
    EXPECT_DOUBLE_EQ(result.max_abs_reference, 4);
    EXPECT_DOUBLE_EQ(result.max_abs_diff, 0.5);
    EXPECT_DOUBLE_EQ(result.max_rel_diff, 0.5 / 4);
    EXPECT_DOUBLE_EQ(result.mean_abs_diff, 0.75 / 8);
    EXPECT_EQ(result.worst_sample, 0);
    EXPECT_EQ(result.worst_element, 2);
    // Sample 0: (1 + 16 + 5) / sqrt(21 * 23.25); sample 1: 10 / sqrt(10 * 10.0625).
    EXPECT_NEAR(result.cosine_similarity, 22 / std::sqrt(21 * 23.25), 1e-12);
    EXPECT_DOUBLE_EQ(result.tolerance, 0.05 + 0.1 * 4);
    EXPECT_FALSE(result.classes);
    EXPECT_FALSE(result.pass);  // 0.5 > 0.45
    EXPECT_TRUE(builder.finish({0.1, 0.1}).pass);  // 0.5 <= 0.5
}

TEST(ComparisonBuilder, DecisiveTopOneMismatchFailsWithinTolerance) {
    // Classes 0 and 1 trade places; the reference leads by 0.3 and the tolerance is 0.2 (margin decides), or 0.4.
    std::vector<float> reference = {5.0f, 4.7f, 1, 2, 3, 0};
    std::vector<float> candidate = {4.8f, 4.9f, 1, 2, 3, 0};
    ComparisonBuilder builder("logits", true);
    builder.add(floats({1, 6}, reference), floats({1, 6}, candidate));
    Comparison strict = builder.finish({0.0, 0.2});
    ASSERT_TRUE(strict.classes);
    EXPECT_EQ(strict.classes->classes, 6);
    EXPECT_EQ(strict.classes->predictions, 1);
    EXPECT_EQ(strict.classes->top1_matches, 0);
    EXPECT_EQ(strict.classes->top5_matches, 1);  // {0, 1, 4, 3, 2} either way
    EXPECT_EQ(strict.classes->decisive_top1_mismatches, 1);
    EXPECT_FALSE(strict.pass);  // 0.2 <= 0.2 but a clear winner changed

    Comparison loose = builder.finish({0.0, 0.4});
    EXPECT_EQ(loose.classes->decisive_top1_mismatches, 0);  // a 0.3 lead is within rounding reach of 0.4
    EXPECT_TRUE(loose.pass);
}

TEST(ComparisonBuilder, TopFiveComparesSetsPerBatchItem) {
    // Item 0: same five in another order; item 1: class 5 replaces class 4 in the five.
    ComparisonBuilder builder("logits", true);
    builder.add(floats({2, 6, 1, 1}, {9, 8, 7, 6, 5, 0, 9, 8, 7, 6, 5, 4}),
                floats({2, 6, 1, 1}, {9, 7, 8, 5, 6, 0, 9, 8, 7, 6, 4, 5}));
    Comparison result = builder.finish({0.0, 10});
    ASSERT_TRUE(result.classes);
    EXPECT_EQ(result.classes->predictions, 2);
    EXPECT_EQ(result.classes->top1_matches, 2);
    EXPECT_EQ(result.classes->top5_matches, 1);
    EXPECT_DOUBLE_EQ(result.classes->top5_rate(), 0.5);
}

TEST(ComparisonBuilder, FeatureMapsAndFewClassesHaveNoTopK) {
    EXPECT_TRUE(is_class_scores({1, 1000}));
    EXPECT_TRUE(is_class_scores({1, 5, 1, 1}));
    EXPECT_FALSE(is_class_scores({1, 4}));
    EXPECT_FALSE(is_class_scores({1, 64, 7, 7}));
    EXPECT_FALSE(is_class_scores({1000}));
}

TEST(ComparisonBuilder, NanFailsAndIsNotHidden) {
    ComparisonBuilder builder("t", false);
    builder.add(floats({3}, {1, 2, 3}), floats({3}, {1, std::numeric_limits<float>::quiet_NaN(), 3}));
    Comparison result = builder.finish({1, 1});
    EXPECT_TRUE(std::isinf(result.max_abs_diff));
    EXPECT_EQ(result.worst_element, 1);
    EXPECT_TRUE(std::isnan(result.cosine_similarity));
    EXPECT_FALSE(result.pass);
}

TEST(ComparisonBuilder, ShapeChangeIsAnError) {
    ComparisonBuilder builder("t", false);
    EXPECT_THROW(builder.add(floats({2}, {1, 2}), floats({1, 2}, {1, 2})), Error);
}

TEST(MatchTensors, FollowsReferenceOrderAndNamesProducers) {
    std::vector<MatchedTensor> matches = match_tensors(affine_reference().graph, affine_candidate().graph);
    ASSERT_EQ(matches.size(), 2u);
    EXPECT_EQ(matches[0].name, "sum");
    EXPECT_EQ(matches[0].reference_node, "add");
    EXPECT_EQ(matches[0].reference_op, "Add");
    EXPECT_EQ(matches[0].candidate_node, "merged");
    EXPECT_EQ(matches[0].candidate_op, "Mul");
    EXPECT_EQ(matches[1].name, "y");
}

TEST(VerifyModels, RewrittenArithmeticIsEquivalent) {
    VerifyOptions options = few_samples();
    options.layerwise = true;
    options.float64_reference = true;
    VerifyReport report = verify_models(affine_reference(), affine_candidate(), options);
    EXPECT_TRUE(report.equivalent);
    ASSERT_EQ(report.outputs.size(), 1u);
    const Comparison& y = report.outputs[0];
    EXPECT_EQ(y.samples, 4);
    EXPECT_EQ(y.shape, (std::vector<int64_t>{1, kAffineClasses}));  // symbolic batch runs as 1
    EXPECT_GT(y.max_abs_reference, 0.5);  // standard normal inputs, weights up to 4
    EXPECT_LE(y.max_rel_diff, 1e-6);      // one float32 rounding apart
    ASSERT_TRUE(y.classes);
    EXPECT_EQ(y.classes->top1_matches, 4);
    ASSERT_EQ(report.candidate_vs_float64.size(), 1u);
    EXPECT_LE(report.candidate_vs_float64[0].max_rel_diff, 1e-6);
    EXPECT_GT(report.candidate_vs_float64[0].max_abs_diff, 0);  // float64 really was computed in float64
    ASSERT_TRUE(report.layerwise);
    EXPECT_EQ(report.layerwise->tensors.size(), 2u);
    EXPECT_FALSE(report.layerwise->first_divergence);
}

TEST(VerifyModels, SameSeedSameNumbersOtherSeedOthers) {
    VerifyOptions options = few_samples();
    Model reference = affine_reference(), candidate = affine_candidate(1e-3f);
    double first = verify_models(reference, candidate, options).outputs[0].max_abs_diff;
    EXPECT_EQ(verify_models(reference, candidate, options).outputs[0].max_abs_diff, first);
    options.seed = 99;
    EXPECT_NE(verify_models(reference, candidate, options).outputs[0].max_abs_diff, first);
}

TEST(VerifyModels, PerturbedWeightFailsAndLayerwiseFindsIt) {
    VerifyOptions options = few_samples();
    options.layerwise = true;
    VerifyReport report = verify_models(affine_reference(), affine_candidate(1e-2f), options);
    EXPECT_FALSE(report.equivalent);
    const Comparison& y = report.outputs[0];
    EXPECT_FALSE(y.pass);
    EXPECT_EQ(y.worst_element, 3);
    EXPECT_GT(y.max_abs_diff, 1e-3);  // 1e-2 * |x| for some standard normal x of four, before the Relu
    ASSERT_TRUE(report.layerwise->first_divergence);
    const LayerComparison& first = report.layerwise->tensors[*report.layerwise->first_divergence];
    EXPECT_EQ(first.tensor.name, "sum");
    EXPECT_EQ(first.tensor.reference_node, "add");
    EXPECT_EQ(first.tensor.candidate_node, "merged");
}

TEST(VerifyModels, MismatchedInputNamesAreAnError) {
    Model candidate = affine_candidate();
    candidate.graph.inputs[0].name = "image";
    for (Node& node : candidate.graph.nodes)
        for (std::string& input : node.inputs)
            if (input == "x") input = "image";
    VerifyOptions options = few_samples();
    options.reference_source = "train.onnx";
    options.candidate_source = "deploy.onnx";
    try {
        verify_models(affine_reference(), candidate, options);
        FAIL() << "mismatched inputs accepted";
    } catch (const Error& error) {
        std::string message = error.what();
        EXPECT_NE(message.find("'x'"), std::string::npos) << message;
        EXPECT_NE(message.find("deploy.onnx"), std::string::npos) << message;
        EXPECT_NE(message.find("'image'"), std::string::npos) << message;
    }
}

TEST(VerifyModels, MismatchedInputShapesAreAnError) {
    Model candidate = affine_candidate();
    (*candidate.graph.inputs[0].shape)[1] = Dim{kAffineClasses + 1, {}};
    try {
        verify_models(affine_reference(), candidate, few_samples());
        FAIL() << "mismatched input shapes accepted";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("input 'x' is float32 [1, 8] in reference but float32 [1, 9] in "
                                                 "candidate"),
                  std::string::npos)
            << error.what();
    }
}

TEST(VerifyModels, MismatchedOutputShapesAreAnError) {
    Model candidate = affine_candidate();
    Graph& graph = candidate.graph;
    graph.nodes.back().outputs[0] = "activated";
    graph.initializers["flat"] = Tensor::from_values<int64_t>({1}, std::vector<int64_t>{kAffineClasses});
    graph.nodes.push_back({"flatten", "Reshape", "", {"activated", "flat"}, {"y"}, {}, {}});
    graph.outputs[0].shape = std::vector<Dim>{{kAffineClasses, {}}};
    try {
        verify_models(affine_reference(), candidate, few_samples());
        FAIL() << "mismatched output shapes accepted";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("output 'y' is [1, 8] in reference but [8] in candidate"),
                  std::string::npos)
            << error.what();
    }
}

TEST(VerifyModels, NothingToCompareIsAnError) {
    VerifyOptions options = few_samples();
    options.samples = 0;
    EXPECT_THROW(verify_models(affine_reference(), affine_candidate(), options), Error);
}

// build_mobileone fixes the input at 224 x 224; equivalence does not depend on resolution, so these tests run at
// 64 x 64, where every stride-2 stage still halves evenly (32, 16, 8, 4, 2). S4's squeeze-excitation pools with a
// window as large as the feature map (14 or 7 at 224), which shrinks with it.
constexpr int64_t kTestSize = 64;

Model small_mobileone(MobileOneVariant variant, ExportStyle style) {
    Model model = build_mobileone(variant, style, 3);
    std::vector<Dim>& dims = *model.graph.inputs[0].shape;
    dims[2] = dims[3] = Dim{kTestSize, {}};
    for (Node& node : model.graph.nodes) {
        if (node.op_type != "AveragePool") continue;
        for (const char* key : {"kernel_shape", "strides"}) {
            std::vector<int64_t> window = node.attribute_ints(key);
            for (int64_t& size : window) size = size * kTestSize / 224;
            node.attributes[key] = window;
        }
    }
    return model;
}

Model converted(Model model) {
    convert_model(model, {}, "test");
    return model;
}

VerifyOptions mobileone_options() {
    VerifyOptions options;
    options.samples = 2;
    options.threads = 2;
    return options;
}

const Node& node_named(const Graph& graph, const std::string& name) {
    for (const Node& node : graph.nodes)
        if (node.name == name) return node;
    throw Error("no node " + name);
}

// The deploy graph's Conv computing block `block`'s sum (its output keeps the name of the train graph's Add).
Node& deploy_block_conv(Graph& deploy, const std::string& block) {
    for (Node& node : deploy.nodes)
        if (node.op_type == "Conv" && node.outputs[0].starts_with(block + "/Add")) return node;
    throw Error("no Conv for block " + block);
}

class EveryMobileOne : public ::testing::TestWithParam<std::tuple<MobileOneVariant, ExportStyle>> {};

TEST_P(EveryMobileOne, ConvertedModelIsEquivalent) {
    auto [variant, style] = GetParam();
    Model train = small_mobileone(variant, style);
    Model deploy = converted(train);
    ASSERT_LT(deploy.graph.nodes.size(), train.graph.nodes.size() / 2);  // really reparameterized
    VerifyOptions options = mobileone_options();
    options.layerwise = true;
    VerifyReport report = verify_models(train, deploy, options);
    EXPECT_TRUE(report.equivalent) << format_summary(report);
    // Each block's sum and Relu, S4's squeeze-excitation, the pooled features and the logits.
    EXPECT_GT(report.layerwise->tensors.size(), 2 * 22u);
    EXPECT_FALSE(report.layerwise->first_divergence);
    ASSERT_EQ(report.outputs.size(), 1u);
    const Comparison& logits = report.outputs[0];
    EXPECT_EQ(logits.shape, (std::vector<int64_t>{1, 1000}));
    EXPECT_LT(logits.max_rel_diff, kDefaultRtol / 10) << format_summary(report);
    EXPECT_GT(logits.cosine_similarity, 1 - 1e-9);
    ASSERT_TRUE(logits.classes);
    EXPECT_EQ(logits.classes->top1_matches, 2);
    EXPECT_EQ(logits.classes->top5_matches, 2);
}

INSTANTIATE_TEST_SUITE_P(
    VariantsAndStyles, EveryMobileOne,
    ::testing::Combine(::testing::Values(MobileOneVariant::S0, MobileOneVariant::S1, MobileOneVariant::S2,
                                         MobileOneVariant::S3, MobileOneVariant::S4),
                       ::testing::Values(ExportStyle::Prefused, ExportStyle::BatchNorm)),
    [](const auto& info) {
        return std::string(to_string(std::get<0>(info.param))) + "_" + std::string(to_string(std::get<1>(info.param)));
    });

// The deploy graph is no further from the float64 truth than the train graph's own float32 result is.
TEST(Float64Reference, DeployAddsNoErrorBeyondFloat32Noise) {
    Model train = small_mobileone(MobileOneVariant::S0, ExportStyle::BatchNorm);
    VerifyOptions options = mobileone_options();
    options.float64_reference = true;
    VerifyReport report = verify_models(train, converted(train), options);
    ASSERT_EQ(report.reference_vs_float64.size(), 1u);
    ASSERT_EQ(report.candidate_vs_float64.size(), 1u);
    double train_noise = report.reference_vs_float64[0].max_rel_diff;
    double deploy_noise = report.candidate_vs_float64[0].max_rel_diff;
    EXPECT_GT(train_noise, 1e-8);  // float32 rounding is there to see
    EXPECT_LT(train_noise, 1e-5);
    EXPECT_LT(deploy_noise, 3 * train_noise);
    EXPECT_NE(format_summary(report).find("candidate output"), std::string::npos) << format_summary(report);
}

class BrokenMobileOne : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        train_ = new Model(small_mobileone(MobileOneVariant::S0, ExportStyle::BatchNorm));
        deploy_ = new Model(converted(*train_));
    }
    static void TearDownTestSuite() {
        delete train_;
        delete deploy_;
    }
    static Model* train_;
    static Model* deploy_;
};
Model* BrokenMobileOne::train_ = nullptr;
Model* BrokenMobileOne::deploy_ = nullptr;

TEST_F(BrokenMobileOne, PerturbedWeightTensorFails) {
    Model deploy = *deploy_;
    const Node& conv = deploy_block_conv(deploy.graph, "/stage2/stage2.3");
    for (float& weight : deploy.graph.initializer(conv.inputs[1])->data<float>()) weight += 1e-2f;
    VerifyReport report = verify_models(*train_, deploy, mobileone_options());
    EXPECT_FALSE(report.equivalent);
    EXPECT_GT(report.outputs[0].max_abs_diff, report.outputs[0].tolerance);
    EXPECT_NE(format_summary(report).find("output 'output': max abs diff"), std::string::npos) << format_summary(report);
}

// One weight of one block off by 1e-2 barely moves the logits (see verify.h), but it moves that block's output far
// beyond float32 noise: the layerwise comparison fails there, and names the block in both graphs.
TEST_F(BrokenMobileOne, PerturbedSingleWeightIsNamedLayerwise) {
    Model deploy = *deploy_;
    const Node& conv = deploy_block_conv(deploy.graph, "/stage2/stage2.3");
    std::string conv_name = conv.name, conv_output = conv.outputs[0];
    deploy.graph.initializer(conv.inputs[1])->data<float>()[0] += 1e-2f;

    VerifyOptions options = mobileone_options();
    options.layerwise = true;
    VerifyReport report = verify_models(*train_, deploy, options);
    EXPECT_FALSE(report.equivalent);
    ASSERT_TRUE(report.layerwise);
    ASSERT_TRUE(report.layerwise->first_divergence) << format_summary(report);
    const LayerComparison& first = report.layerwise->tensors[*report.layerwise->first_divergence];
    EXPECT_EQ(first.tensor.name, conv_output);
    EXPECT_EQ(first.tensor.candidate_node, conv_name);
    EXPECT_EQ(first.tensor.reference_op, "Add");
    EXPECT_EQ(node_named(train_->graph, first.tensor.reference_node).outputs[0], conv_output);
    // The stem and 7 blocks before it matched (each sum and Relu), so the comparison really walked the graph.
    EXPECT_EQ(*report.layerwise->first_divergence, 2 * 8u);
    EXPECT_TRUE(report.layerwise->shape_mismatches.empty());
    EXPECT_NE(format_summary(report).find("first divergence: '" + conv_output + "'"), std::string::npos);
}

TEST_F(BrokenMobileOne, DroppedBiasFails) {
    Model deploy = *deploy_;
    Node& conv = deploy_block_conv(deploy.graph, "/stage1/stage1.2");
    ASSERT_EQ(conv.inputs.size(), 3u);
    deploy.graph.initializers.erase(conv.inputs[2]);
    conv.inputs.pop_back();
    VerifyReport report = verify_models(*train_, deploy, mobileone_options());
    EXPECT_FALSE(report.equivalent);
    EXPECT_FALSE(report.outputs[0].pass);
}

// Swapping the rows of two classes in the classifier makes the candidate name the reference's second-best class...
// wherever the reference's best is one of the two: so swap the best class of the first sample with its worst.
TEST_F(BrokenMobileOne, SwappedOutputChannelsFailOnTopK) {
    runtime::Session session(*deploy_, {DataType::Float, 2, false, {}});
    NormalGenerator generator(mobileone_options().seed);
    Tensor first_input = random_normal_tensor({1, 3, kTestSize, kTestSize}, generator);
    runtime::RunResult result = session.run({{"input", first_input}});
    std::span<const float> logits = result.outputs.at("output").data<float>();
    auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    auto worst = std::min_element(logits.begin(), logits.end()) - logits.begin();

    Model deploy = *deploy_;
    Node gemm = *std::find_if(deploy.graph.nodes.begin(), deploy.graph.nodes.end(),
                              [](const Node& node) { return node.op_type == "Gemm"; });
    ASSERT_EQ(gemm.attribute_int("transB", 0), 1);  // weight rows are classes
    std::span<float> weight = deploy.graph.initializer(gemm.inputs[1])->data<float>();
    std::span<float> bias = deploy.graph.initializer(gemm.inputs[2])->data<float>();
    int64_t features = static_cast<int64_t>(weight.size()) / 1000;
    std::swap_ranges(weight.begin() + best * features, weight.begin() + (best + 1) * features,
                     weight.begin() + worst * features);
    std::swap(bias[best], bias[worst]);

    VerifyReport report = verify_models(*train_, deploy, mobileone_options());
    EXPECT_FALSE(report.equivalent);
    const ClassAgreement& classes = *report.outputs[0].classes;
    EXPECT_EQ(classes.predictions, 2);
    EXPECT_LT(classes.top1_matches, 2);
    EXPECT_LT(classes.top5_matches, 2);
    EXPECT_GE(classes.decisive_top1_mismatches, 1);
    EXPECT_NE(format_summary(report).find("top-1 differs on"), std::string::npos) << format_summary(report);
}

}  // namespace
}  // namespace mobileone
