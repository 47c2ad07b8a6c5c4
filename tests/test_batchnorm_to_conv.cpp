#include <gtest/gtest.h>

#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;

// A skip branch x -> BN summed with `branches` Convs of x, then ReLU.
struct SkipBlock {
    GraphBuilder builder;
    Model before;
};

SkipBlock skip_block(int64_t channels, const BatchnormParams& skip,
                     const std::vector<std::pair<Tensor, ConvOptions>>& branches) {
    SkipBlock block;
    GraphBuilder& builder = block.builder;
    std::string x = builder.input("x", {1, channels, 5, 5});
    std::string sum = builder.batchnorm("skip", x, skip);
    for (std::size_t i = 0; i < branches.size(); ++i) {
        std::string name = "branch" + std::to_string(i);
        Tensor bias = random_tensor({channels}, static_cast<uint32_t>(50 + i));
        std::string conv = builder.conv(name, x, branches[i].first, bias, branches[i].second);
        sum = builder.add("sum" + std::to_string(i), sum, conv);
    }
    builder.output(builder.relu("relu", sum));
    block.before = builder.model();
    return block;
}

void expect_equivalent_and_valid(const Model& before, Model& after) {
    EXPECT_LT(max_output_difference(before, after, random_inputs(before, 7)), 1e-5);
    EXPECT_NO_THROW(check_model(after, "converted.onnx"));
    EXPECT_EQ(run_pass("batchnorm_to_conv", after), 0);
}

// s = γ/√(var+ε) = {1/2, 4/2}; shift = β − μ·s = {1 − 1, 1 − 0}.
const BatchnormParams kSkip{{1, 4}, {1, 1}, {2, 0}, {3, 3}, 1.0f};

TEST(BatchnormToConv, SkipBecomesACentredIdentityKernelLikeItsSibling) {
    SkipBlock block = skip_block(2, kSkip, {{random_tensor({2, 2, 3, 3}, 1), {.pads = {1, 1, 1, 1}}}});
    Model& model = block.builder.model();

    EXPECT_EQ(run_pass("batchnorm_to_conv", model), 1);

    const Node& skip = block.builder.node("skip");
    EXPECT_EQ(skip.op_type, "Conv");
    EXPECT_EQ(skip.input(0), "x");
    EXPECT_EQ(skip.outputs, (std::vector<std::string>{"skip_out"}));
    EXPECT_EQ(skip.attribute_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(skip.attribute_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(skip.attribute_ints("strides"), (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(skip.attribute_int("group", 1), 1);
    std::vector<float> expected(2 * 2 * 9, 0.0f);
    expected[(0 * 2 + 0) * 9 + 4] = 0.5f;  // [0, 0, 1, 1]
    expected[(1 * 2 + 1) * 9 + 4] = 2.0f;  // [1, 1, 1, 1]
    EXPECT_EQ(floats_of(model, skip.input(1)), expected);
    EXPECT_EQ(model.graph.initializer(skip.input(1))->dims(), (std::vector<int64_t>{2, 2, 3, 3}));
    EXPECT_EQ(floats_of(model, skip.input(2)), (std::vector<float>{0, 1}));
    expect_equivalent_and_valid(block.before, model);
}

TEST(BatchnormToConv, DepthwiseSkipKeepsOneChannelPerGroup) {
    // s = {1, 2, 3}/√(0 + 1).
    SkipBlock block = skip_block(3, {{1, 2, 3}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, 1.0f},
                                 {{random_tensor({3, 1, 3, 3}, 2), {.pads = {1, 1, 1, 1}, .group = 3}}});
    Model& model = block.builder.model();

    EXPECT_EQ(run_pass("batchnorm_to_conv", model), 1);

    const Node& skip = block.builder.node("skip");
    EXPECT_EQ(skip.attribute_int("group", 1), 3);
    EXPECT_EQ(model.graph.initializer(skip.input(1))->dims(), (std::vector<int64_t>{3, 1, 3, 3}));
    std::vector<float> expected(3 * 9, 0.0f);
    expected[0 * 9 + 4] = 1;
    expected[1 * 9 + 4] = 2;
    expected[2 * 9 + 4] = 3;
    EXPECT_EQ(floats_of(model, skip.input(1)), expected);
    expect_equivalent_and_valid(block.before, model);
}

TEST(BatchnormToConv, GroupedSkipPutsEachTapInsideItsGroup) {
    // Group width 2: output channel o reads its group's input channel o mod 2.
    SkipBlock block = skip_block(4, {{1, 2, 3, 4}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, 1.0f},
                                 {{random_tensor({4, 2, 1, 1}, 3), {.group = 2}}});
    Model& model = block.builder.model();

    EXPECT_EQ(run_pass("batchnorm_to_conv", model), 1);

    const Node& skip = block.builder.node("skip");
    EXPECT_EQ(skip.attribute_int("group", 1), 2);
    EXPECT_EQ(skip.attribute_ints("pads"), (std::vector<int64_t>{0, 0, 0, 0}));
    EXPECT_EQ(floats_of(model, skip.input(1)), (std::vector<float>{1, 0, 0, 2, 3, 0, 0, 4}));
    expect_equivalent_and_valid(block.before, model);
}

TEST(BatchnormToConv, CopiesTheLargestSiblingKernelAndItsDilation) {
    SkipBlock block = skip_block(2, kSkip,
                                 {{random_tensor({2, 2, 1, 1}, 4), {}},
                                  {random_tensor({2, 2, 3, 3}, 5), {.pads = {2, 2, 2, 2}, .dilations = {2, 2}}}});
    Model& model = block.builder.model();

    EXPECT_EQ(run_pass("batchnorm_to_conv", model), 1);

    const Node& skip = block.builder.node("skip");
    EXPECT_EQ(skip.attribute_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
    EXPECT_EQ(skip.attribute_ints("dilations"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(skip.attribute_ints("pads"), (std::vector<int64_t>{2, 2, 2, 2}));
    expect_equivalent_and_valid(block.before, model);
}

void expect_untouched(Model& model) {
    std::string before = serialize_model(model);
    EXPECT_EQ(run_pass("batchnorm_to_conv", model), 0);
    EXPECT_EQ(serialize_model(model), before);
}

TEST(BatchnormToConv, LeavesABatchnormOutsideAnyBranchSum) {
    GraphBuilder builder;
    builder.output(builder.relu("relu", builder.batchnorm("bn", builder.input("x", {1, 2, 3, 3}), kSkip)));
    expect_untouched(builder.model());
}

TEST(BatchnormToConv, LeavesABatchnormSummedWithoutAConvSibling) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 3, 3});
    builder.output(builder.add("sum", builder.batchnorm("bn", x, kSkip), builder.input("y", {1, 2, 3, 3})));
    expect_untouched(builder.model());
}

TEST(BatchnormToConv, LeavesABatchnormWhoseSiblingConvReadsAnotherTensor) {
    GraphBuilder builder;
    std::string x = builder.input("x", {1, 2, 3, 3});
    std::string other = builder.conv("conv", builder.input("y", {1, 2, 3, 3}), random_tensor({2, 2, 3, 3}, 6),
                                     std::nullopt, {.pads = {1, 1, 1, 1}});
    builder.output(builder.add("sum", builder.batchnorm("bn", x, kSkip), other));
    expect_untouched(builder.model());
}

}  // namespace
}  // namespace mobileone
