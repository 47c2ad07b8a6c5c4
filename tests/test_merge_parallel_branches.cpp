#include <gtest/gtest.h>

#include "compiler/pipeline.h"
#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;

const Node& only_conv(const Model& model) {
    const Node* found = nullptr;
    for (const Node& node : model.graph.nodes) {
        if (node.op_type != "Conv") continue;
        EXPECT_EQ(found, nullptr) << "more than one Conv";
        found = &node;
    }
    if (!found) throw std::runtime_error("no Conv left");
    return *found;
}

void expect_equivalent_and_valid(const Model& before, Model& after) {
    EXPECT_LT(max_output_difference(before, after, random_inputs(before, 11)), 1e-5);
    EXPECT_NO_THROW(check_model(after, "merged.onnx"));
    EXPECT_EQ(run_pass("merge_parallel_branches", after), 0);
}

TEST(ReferenceConv, SlidesAKernelOverTheInput) {
    Values x{{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
    Values ones{{1, 1, 2, 2}, {1, 1, 1, 1}};
    Values y = reference_conv(x, ones, std::nullopt, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1);
    EXPECT_EQ(y.dims, (std::vector<int64_t>{1, 1, 2, 2}));
    EXPECT_EQ(y.data, (std::vector<double>{12, 16, 24, 28}));

    Values dilated = reference_conv(x, ones, std::nullopt, {1, 1}, {0, 0, 0, 0}, {2, 2}, 1);
    EXPECT_EQ(dilated.data, (std::vector<double>{1 + 3 + 7 + 9}));
}

TEST(ReferenceConv, HonoursGroupsStridesPaddingAndBias) {
    Values x{{1, 2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}};
    Values weight{{2, 1, 1, 1}, {1, 10}};
    // Stride 2 over a 1-padded 3×3 samples input rows and columns -1, 1, 3: only (1, 1) is inside.
    Values y = reference_conv(x, weight, Values{{2}, {0.5, -1}}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 2);
    EXPECT_EQ(y.dims, (std::vector<int64_t>{1, 2, 3, 3}));
    EXPECT_EQ(y.data, (std::vector<double>{0.5, 0.5, 0.5, 0.5, 5.5, 0.5, 0.5, 0.5, 0.5,  //
                                           -1, -1, -1, -1, 139, -1, -1, -1, -1}));
}

// s = γ/√(var+ε) = {1/2, 4/2}; shift = β − μ·s = {1 − 1, 1 − 0}.
const BatchnormParams kSkip{{1, 4}, {1, 1}, {2, 0}, {3, 3}, 1.0f};

TEST(MergeParallelBranches, MergesAMobileOneBlockIntoOneConv) {
    // 3×3 taps are 0.25 except the centres [[1, 2], [3, 4]]; the 1×1 kernel is [[10, 20], [30, 40]].
    std::vector<float> taps(2 * 2 * 9, 0.25f);
    taps[0 * 9 + 4] = 1, taps[1 * 9 + 4] = 2, taps[2 * 9 + 4] = 3, taps[3 * 9 + 4] = 4;
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    std::string conv3 =
        builder.conv("conv3x3", x, float_tensor({2, 2, 3, 3}, taps), float_tensor({2}, {1, 2}), {.pads = {1, 1, 1, 1}});
    std::string conv1 =
        builder.conv("conv1x1", x, float_tensor({2, 2, 1, 1}, {10, 20, 30, 40}), float_tensor({2}, {0.25f, 0.5f}));
    std::string sum = builder.add("sum1", builder.add("sum0", conv3, conv1), builder.batchnorm("skip", x, kSkip));
    builder.output(builder.relu("relu", sum));
    Model before = builder.model();
    Model& model = builder.model();

    ASSERT_EQ(run_pass("batchnorm_to_conv", model), 1);
    PassLog log;
    EXPECT_EQ(run_pass("merge_parallel_branches", model, log), 1);
    EXPECT_TRUE(log.notes.empty());

    ASSERT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Relu"}));
    const Node& merged = model.graph.nodes[0];
    EXPECT_EQ(merged.name, "sum1_reparam_conv") << "named for the block, as Apple's deploy model names it";
    EXPECT_EQ(merged.input(1), "sum1_reparam_conv.weight");
    EXPECT_EQ(merged.input(0), "x");
    EXPECT_EQ(merged.outputs, (std::vector<std::string>{"sum1_out"}));
    EXPECT_EQ(merged.attribute_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    std::vector<float> weight = floats_of(model, merged.input(1));
    ASSERT_EQ(weight.size(), 36u);
    // Centre = 3×3 centre + 1×1 + identity (s on the diagonal).
    EXPECT_EQ(weight[0 * 9 + 4], 1 + 10 + 0.5f);
    EXPECT_EQ(weight[1 * 9 + 4], 2 + 20);
    EXPECT_EQ(weight[2 * 9 + 4], 3 + 30);
    EXPECT_EQ(weight[3 * 9 + 4], 4 + 40 + 2);
    EXPECT_EQ(weight[0], 0.25f);
    EXPECT_EQ(weight[3 * 9 + 8], 0.25f);
    // Bias = b3 + b1 + shift.
    EXPECT_EQ(floats_of(model, merged.input(2)), (std::vector<float>{1 + 0.25f + 0, 2 + 0.5f + 1}));
    expect_equivalent_and_valid(before, model);
}

// A MobileOne train-time block as exported with training=PRESERVE: every branch is a bias-free Conv and a BN.
GraphBuilder preserved_block(int64_t channels, int64_t group, int64_t stride, int conv_branches) {
    GraphBuilder builder;
    std::string x = builder.input("x", {2, channels, 6, 6});
    auto bn = [&](const std::string& name, const std::string& input, uint32_t seed) {
        Tensor g = random_tensor({channels}, seed), b = random_tensor({channels}, seed + 1),
               m = random_tensor({channels}, seed + 2), v = random_tensor({channels}, seed + 3);
        BatchnormParams params;
        for (int64_t c = 0; c < channels; ++c) {
            params.gamma.push_back(g.data<float>()[c]);
            params.beta.push_back(b.data<float>()[c]);
            params.mean.push_back(m.data<float>()[c]);
            params.variance.push_back(1.5f + v.data<float>()[c]);
        }
        return builder.batchnorm(name, input, params);
    };
    std::vector<int64_t> strides = {stride, stride};
    std::string sum;
    auto accumulate = [&](const std::string& branch) {
        sum = sum.empty() ? branch : builder.add("sum_" + branch, sum, branch);
    };
    if (stride == 1) accumulate(bn("skip", x, 100));
    accumulate(bn("scale_bn", builder.conv("scale", x, random_tensor({channels, channels / group, 1, 1}, 200),
                                           std::nullopt, {.strides = strides, .group = group}),
                  210));
    for (int i = 0; i < conv_branches; ++i) {
        std::string name = "conv" + std::to_string(i);
        accumulate(bn(name + "_bn",
                      builder.conv(name, x, random_tensor({channels, channels / group, 3, 3}, 300 + 10 * i),
                                   std::nullopt, {.pads = {1, 1, 1, 1}, .strides = strides, .group = group}),
                      305 + 10 * i));
    }
    builder.output(builder.relu("relu", sum));
    return builder;
}

void expect_reparameterizes_to_one_conv(GraphBuilder builder) {
    Model before = builder.model();
    Model& model = builder.model();
    run_pipeline(model, {"fold_batchnorm", "batchnorm_to_conv", "merge_parallel_branches", "eliminate_dead_code"});
    EXPECT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Relu"}));
    EXPECT_EQ(model.graph.initializers.size(), 2u);
    expect_equivalent_and_valid(before, model);
}

TEST(MergeParallelBranches, ReparameterizesAPreservedBlockWithTwoConvBranches) {
    expect_reparameterizes_to_one_conv(preserved_block(3, 1, 1, 2));
}

TEST(MergeParallelBranches, ReparameterizesADepthwiseBlock) {
    expect_reparameterizes_to_one_conv(preserved_block(4, 4, 1, 3));
}

TEST(MergeParallelBranches, ReparameterizesAStrideTwoBlockWithItsScaleBranch) {
    expect_reparameterizes_to_one_conv(preserved_block(4, 2, 2, 2));
}

TEST(MergeParallelBranches, ReparameterizesAGroupedBlock) {
    expect_reparameterizes_to_one_conv(preserved_block(4, 2, 1, 1));
}

// Four biased branches on x, summed in the shape `combine` gives them.
template <typename Combine>
void expect_any_bracketing_merges(Combine combine) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    std::vector<std::string> branches;
    for (int i = 0; i < 4; ++i) {
        int64_t k = i % 2 ? 1 : 3;
        branches.push_back(builder.conv("conv" + std::to_string(i), x, random_tensor({2, 2, k, k}, 20 + i),
                                        random_tensor({2}, 30 + i), {.pads = {k / 2, k / 2, k / 2, k / 2}}));
    }
    builder.output(builder.relu("relu", combine(builder, branches)));
    Model before = builder.model();
    Model& model = builder.model();

    EXPECT_EQ(run_pass("merge_parallel_branches", model), 1);

    ASSERT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Relu"}));
    EXPECT_EQ(model.graph.nodes[0].outputs[0], model.graph.nodes[1].inputs[0]);
    EXPECT_EQ(model.graph.nodes[0].outputs[0], "root_out");
    expect_equivalent_and_valid(before, model);
}

TEST(MergeParallelBranches, MergesARightNestedSum) {
    expect_any_bracketing_merges([](GraphBuilder& b, const std::vector<std::string>& c) {
        return b.add("root", c[0], b.add("inner", c[1], b.add("innermost", c[2], c[3])));
    });
}

TEST(MergeParallelBranches, MergesABalancedSum) {
    expect_any_bracketing_merges([](GraphBuilder& b, const std::vector<std::string>& c) {
        return b.add("root", b.add("left", c[0], c[1]), b.add("right", c[2], c[3]));
    });
}

TEST(MergeParallelBranches, MergesASumStartingFromZero) {
    expect_any_bracketing_merges([](GraphBuilder& b, const std::vector<std::string>& c) {
        std::string zero = b.constant("zero", Tensor::scalar(0.0f));
        std::string sum = b.add("start", zero, c[0]);
        for (std::size_t i = 1; i + 1 < c.size(); ++i) sum = b.add("partial" + std::to_string(i), sum, c[i]);
        return b.add("root", sum, c.back());
    });
}

TEST(MergeParallelBranches, MergesCrossShapedKernelsIntoTheirBoundingKernel) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    std::string wide = builder.conv("wide", x, random_tensor({2, 2, 1, 3}, 40), std::nullopt, {.pads = {0, 1, 0, 1}});
    std::string tall =
        builder.conv("tall", x, random_tensor({2, 2, 3, 1}, 41), random_tensor({2}, 42), {.pads = {1, 0, 1, 0}});
    builder.output(builder.add("sum", wide, tall));
    Model before = builder.model();
    Model& model = builder.model();

    EXPECT_EQ(run_pass("merge_parallel_branches", model), 1);

    const Node& merged = only_conv(model);
    EXPECT_EQ(merged.attribute_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(merged.attribute_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    expect_equivalent_and_valid(before, model);
}

// A stride-2 3×3 with auto_pad=SAME_UPPER and a 1×1: SAME pads the 3×3 by 1 and 1 on a 5-wide input (centred),
// but by 0 and 1 on a 6-wide one, where the 1×1 lines up with no tap of it.
GraphBuilder same_padded_branches(int64_t size) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, size, size});
    std::string a = builder.conv("big", x, random_tensor({2, 2, 3, 3}, 45), std::nullopt, {.strides = {2, 2}});
    builder.node("big").attributes["auto_pad"] = std::string("SAME_UPPER");
    std::string b = builder.conv("small", x, random_tensor({2, 2, 1, 1}, 46), std::nullopt, {.strides = {2, 2}});
    builder.output(builder.add("sum", a, b));
    return builder;
}

TEST(MergeParallelBranches, ResolvesSamePaddingFromTheInputSize) {
    GraphBuilder centred = same_padded_branches(5);
    Model& model = centred.model();
    Tensor big = *model.graph.initializer("big.weight");
    Tensor small = *model.graph.initializer("small.weight");

    EXPECT_EQ(run_pass("merge_parallel_branches", model), 1);

    const Node& merged = only_conv(model);
    EXPECT_EQ(merged.attribute_string("auto_pad"), "SAME_UPPER");
    std::vector<float> weight = floats_of(model, merged.input(1));
    for (std::size_t slice = 0; slice < 4; ++slice) {
        EXPECT_EQ(weight[slice * 9 + 4], big.data<float>()[slice * 9 + 4] + small.data<float>()[slice]);
        EXPECT_EQ(weight[slice * 9], big.data<float>()[slice * 9]);
    }
    EXPECT_NO_THROW(check_model(model, "merged.onnx"));

    GraphBuilder off_centre = same_padded_branches(6);
    PassLog log;
    EXPECT_EQ(run_pass("merge_parallel_branches", off_centre.model(), log), 0);
    ASSERT_EQ(log.notes.size(), 1u);
    EXPECT_NE(log.notes[0].find("not centred"), std::string::npos) << log.notes[0];
}

TEST(MergeParallelBranches, MergesTheConvsOfOneInputAndKeepsTheOthersSummed) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    std::string y = builder.input("y", {1, 2, 5, 5});
    std::string a =
        builder.conv("a", x, random_tensor({2, 2, 3, 3}, 50), random_tensor({2}, 51), {.pads = {1, 1, 1, 1}});
    std::string c = builder.conv("c", y, random_tensor({2, 2, 1, 1}, 52), random_tensor({2}, 53));
    std::string b = builder.conv("b", x, random_tensor({2, 2, 1, 1}, 54), std::nullopt);
    builder.output(builder.add("root", builder.add("inner", a, c), b));
    Model before = builder.model();
    Model& model = builder.model();

    EXPECT_EQ(run_pass("merge_parallel_branches", model), 1);

    EXPECT_EQ(op_types(model), (std::vector<std::string>{"Conv", "Conv", "Add"}));
    EXPECT_EQ(model.graph.nodes.back().outputs[0], "root_out");
    expect_equivalent_and_valid(before, model);
}

// The sum is left byte-for-byte alone, with one note naming its root Add and containing `reason`.
void expect_refused(Model& model, const std::string& reason) {
    std::string before = serialize_model(model);
    PassLog log;
    EXPECT_EQ(run_pass("merge_parallel_branches", model, log), 0);
    EXPECT_EQ(serialize_model(model), before);
    ASSERT_EQ(log.notes.size(), 1u);
    EXPECT_NE(log.notes[0].find("'sum' (Add)"), std::string::npos) << log.notes[0];
    EXPECT_NE(log.notes[0].find(reason), std::string::npos) << log.notes[0];
    EXPECT_EQ(log.notes[0].find('\n'), std::string::npos) << log.notes[0];
}

GraphBuilder two_branches(const ConvOptions& big, const ConvOptions& small) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    std::string a = builder.conv("big", x, random_tensor({2, 2, 3, 3}, 60), random_tensor({2}, 61), big);
    std::string b = builder.conv("small", x, random_tensor({2, 2 / small.group, 1, 1}, 62), std::nullopt, small);
    builder.output(builder.add("sum", a, b));
    EXPECT_NO_THROW(check_model(builder.model(), "unmergeable.onnx"));
    return builder;
}

TEST(MergeParallelBranches, LeavesBranchesWithDifferentStrides) {
    // 3×3 at stride 1 and 1×1 at stride 2 both map 5×5 to 3×3, but sample different places.
    GraphBuilder builder = two_branches({}, {.strides = {2, 2}});
    expect_refused(builder.model(), "strides");
}

TEST(MergeParallelBranches, LeavesAKernelPaddedOffCentre) {
    // Same output size, but the 1×1 lines up with the 3×3's top-left tap.
    GraphBuilder builder = two_branches({.pads = {0, 0, 2, 2}}, {});
    expect_refused(builder.model(), "not centred");
}

TEST(MergeParallelBranches, LeavesBranchesWithDifferentGroups) {
    GraphBuilder builder = two_branches({.pads = {1, 1, 1, 1}}, {.group = 2});
    expect_refused(builder.model(), "group");
}

TEST(MergeParallelBranches, LeavesABranchWhoseOutputIsAlsoUsedElsewhere) {
    GraphBuilder builder = two_branches({.pads = {1, 1, 1, 1}}, {});
    builder.output("small_out");
    expect_refused(builder.model(), "'small' (Conv) is also used outside the sum");
}

TEST(MergeParallelBranches, LeavesAResidualSumOfTwoInputs) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    std::string y = builder.input("y", {1, 2, 5, 5});
    std::string a = builder.conv("a", x, random_tensor({2, 2, 1, 1}, 70), std::nullopt);
    std::string b = builder.conv("b", y, random_tensor({2, 2, 1, 1}, 71), std::nullopt);
    builder.output(builder.add("sum", a, b));
    expect_refused(builder.model(), "different inputs");
}

TEST(MergeParallelBranches, IgnoresSumsWithoutConvBranches) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 5, 5});
    builder.output(builder.add("sum", builder.relu("relu", x), x));
    std::string before = serialize_model(builder.model());
    PassLog log;
    EXPECT_EQ(run_pass("merge_parallel_branches", builder.model(), log), 0);
    EXPECT_EQ(serialize_model(builder.model()), before);
    EXPECT_TRUE(log.notes.empty());
}

}  // namespace
}  // namespace mobileone
