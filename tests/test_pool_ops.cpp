// The pooling kernels on small inputs whose windows are worked out by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "support/op_runner.h"

namespace mobileone {
namespace {

using Shape = std::vector<int64_t>;

// 1..count in row-major order.
std::vector<float> counting(int count) {
    std::vector<float> values;
    for (int i = 1; i <= count; ++i) values.push_back(static_cast<float>(i));
    return values;
}

OpCall pool(const std::string& op, Tensor x, std::map<std::string, Attribute> attributes) {
    return {op, {runtime_value(std::move(x))}, std::move(attributes)};
}

TEST(GlobalAveragePool, AveragesEachPlane) {
    Tensor y = run_single(pool("GlobalAveragePool", floats({1, 2, 2, 2}, counting(8)), {}));
    EXPECT_EQ(y.dims(), (Shape{1, 2, 1, 1}));
    EXPECT_EQ(values_of<float>(y), (std::vector<float>{2.5f, 6.5f}));
    Tensor one_d = run_single(pool("GlobalAveragePool", doubles({2, 1, 3}, {1, 2, 6, -1, -2, -6}), {}));
    EXPECT_EQ(one_d.dims(), (Shape{2, 1, 1}));
    EXPECT_EQ(values_of<double>(one_d), (std::vector<double>{3, -3}));
}

TEST(AveragePool, PaddingCountsOnlyWithCountIncludePad) {
    // 3x3 input 1..9, 3x3 windows, stride 2, pad 1: each window covers a 2x2 corner of the input.
    std::map<std::string, Attribute> attributes = {
        {"kernel_shape", Shape{3, 3}}, {"strides", Shape{2, 2}}, {"pads", Shape{1, 1, 1, 1}}};
    Tensor excluded = run_single(pool("AveragePool", floats({1, 1, 3, 3}, counting(9)), attributes));
    EXPECT_EQ(excluded.dims(), (Shape{1, 1, 2, 2}));
    EXPECT_EQ(values_of<float>(excluded), (std::vector<float>{12 / 4.0f, 16 / 4.0f, 24 / 4.0f, 28 / 4.0f}));
    attributes["count_include_pad"] = int64_t{1};
    Tensor included = run_single(pool("AveragePool", floats({1, 1, 3, 3}, counting(9)), attributes));
    EXPECT_EQ(values_of<float>(included), (std::vector<float>{12 / 9.0f, 16 / 9.0f, 24 / 9.0f, 28 / 9.0f}));
}

TEST(AveragePool, CeilModeAddsPartialWindowsAveragedOverTheirTaps) {
    // 3x3 input, 2x2 windows, stride 2: floor gives one output per axis, ceil a second, partial one.
    Tensor y = run_single(pool("AveragePool", floats({1, 1, 3, 3}, counting(9)),
                               {{"kernel_shape", Shape{2, 2}}, {"strides", Shape{2, 2}}, {"ceil_mode", int64_t{1}}}));
    EXPECT_EQ(y.dims(), (Shape{1, 1, 2, 2}));
    EXPECT_EQ(values_of<float>(y), (std::vector<float>{3.0f, 4.5f, 7.5f, 9.0f}));
}

TEST(AveragePool, SameUpperPadsTheEndAndSameLowerTheStart) {
    // 5 inputs, window 2, stride 2: ceil(5 / 2) = 3 outputs need one pad.
    Tensor x = floats({1, 1, 5}, {1, 2, 3, 4, 5});
    Tensor upper =
        run_single(pool("AveragePool", x,
                        {{"kernel_shape", Shape{2}}, {"strides", Shape{2}}, {"auto_pad", std::string("SAME_UPPER")}}));
    EXPECT_EQ(values_of<float>(upper), (std::vector<float>{1.5f, 3.5f, 5.0f}));
    Tensor lower =
        run_single(pool("AveragePool", x,
                        {{"kernel_shape", Shape{2}}, {"strides", Shape{2}}, {"auto_pad", std::string("SAME_LOWER")}}));
    EXPECT_EQ(values_of<float>(lower), (std::vector<float>{1.0f, 2.5f, 4.5f}));
}

TEST(MaxPool, PaddingNeverWinsOverNegativeValues) {
    Tensor y = run_single(
        pool("MaxPool", floats({1, 1, 3}, {-3, -1, -2}), {{"kernel_shape", Shape{2}}, {"pads", Shape{1, 1}}}));
    EXPECT_EQ(values_of<float>(y), (std::vector<float>{-3, -1, -1, -2}));
}

TEST(MaxPool, DilationSpreadsTheWindow) {
    // Window taps i and i + 2: max(3, 4), max(1, 1), max(4, 5).
    Tensor y = run_single(
        pool("MaxPool", floats({1, 1, 5}, {3, 1, 4, 1, 5}), {{"kernel_shape", Shape{2}}, {"dilations", Shape{2}}}));
    EXPECT_EQ(values_of<float>(y), (std::vector<float>{4, 1, 5}));
}

TEST(MaxPool, IndicesAreFlatInputPositionsInEitherStorageOrder) {
    // Two 3x3 planes (1..9 and 10..18), 2x2 windows, stride 2, ceil_mode: each window's max is its bottom-right tap.
    OpCall call = pool("MaxPool", floats({1, 2, 3, 3}, counting(18)),
                       {{"kernel_shape", Shape{2, 2}}, {"strides", Shape{2, 2}}, {"ceil_mode", int64_t{1}}});
    call.outputs = 2;
    std::vector<Tensor> row_major = run_op(call);
    EXPECT_EQ(values_of<float>(row_major[0]), (std::vector<float>{5, 6, 8, 9, 14, 15, 17, 18}));
    EXPECT_EQ(row_major[1].dtype(), DataType::Int64);
    EXPECT_EQ(values_of<int64_t>(row_major[1]), (std::vector<int64_t>{4, 5, 7, 8, 13, 14, 16, 17}));
    // Column-major: (h, w) in plane p is at p * 9 + w * 3 + h.
    call.attributes["storage_order"] = int64_t{1};
    EXPECT_EQ(values_of<int64_t>(run_op(call)[1]), (std::vector<int64_t>{4, 7, 5, 8, 13, 16, 14, 17}));
}

TEST(MaxPool, IntegerInputsKeepTheirType) {
    Tensor x = Tensor::from_values<uint8_t>({1, 1, 4}, std::vector<uint8_t>{7, 200, 3, 9});
    Tensor y = run_single(pool("MaxPool", x, {{"kernel_shape", Shape{2}}, {"strides", Shape{2}}}));
    EXPECT_EQ(values_of<uint8_t>(y), (std::vector<uint8_t>{200, 9}));
}

TEST(Pooling, MalformedNodesAreOneLineErrorsNamingTheNode) {
    std::string no_kernel = run_error(pool("MaxPool", floats({1, 1, 4}, counting(4)), {}));
    EXPECT_EQ(no_kernel, "node 'node_under_test' (MaxPool): kernel_shape is required");
    std::string too_big =
        run_error(pool("AveragePool", floats({1, 1, 2, 2}, counting(4)), {{"kernel_shape", Shape{3, 3}}}));
    EXPECT_NE(too_big.find("'node_under_test' (AveragePool)"), std::string::npos) << too_big;
    EXPECT_NE(too_big.find("does not fit"), std::string::npos) << too_big;
    std::string bad_pads =
        run_error(pool("MaxPool", floats({1, 1, 4}, counting(4)), {{"kernel_shape", Shape{2}}, {"pads", Shape{1}}}));
    EXPECT_EQ(bad_pads, "node 'node_under_test' (MaxPool): 'pads' has 1 values, expected 2");
}

}  // namespace
}  // namespace mobileone
