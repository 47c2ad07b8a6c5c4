// The runtime's Pad kernel: constant, edge and reflect modes, cropping, and the opset differences in its inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "support/op_runner.h"

namespace mobileone {
namespace {

using Shape = std::vector<int64_t>;

OpCall pad(Tensor x, Shape pads, std::string mode = "constant") {
    return {"Pad", {runtime_value(std::move(x)), known(int64s({static_cast<int64_t>(pads.size())}, pads))},
            {{"mode", std::move(mode)}}};
}

TEST(Pad, ConstantModeWithDefaultAndGivenValue) {
    Tensor x = floats({2, 2}, {1, 2, 3, 4});
    // pads = [rows_begin, cols_begin, rows_end, cols_end]
    OpCall call = pad(x, {1, 0, 0, 1});
    Tensor out = run_single(call);
    EXPECT_EQ(out.dims(), (Shape{3, 3}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{0, 0, 0, 1, 2, 0, 3, 4, 0}));
    call.inputs.push_back(runtime_value(floats({}, {9})));
    EXPECT_EQ(values_of<float>(run_single(call)), (std::vector<float>{9, 9, 9, 1, 2, 9, 3, 4, 9}));
}

TEST(Pad, PadsAndValueAreAttributesBeforeOpset11) {
    OpCall call{"Pad",
                {runtime_value(floats({3}, {1, 2, 3}))},
                {{"pads", Shape{2, 1}}, {"value", 5.0f}},
                2};
    EXPECT_EQ(values_of<float>(run_single(call)), (std::vector<float>{5, 5, 1, 2, 3, 5}));
    OpCall opset1{"Pad", {runtime_value(floats({1}, {1}))}, {{"paddings", Shape{1, 0}}}, 1};
    EXPECT_EQ(values_of<float>(run_single(opset1)), (std::vector<float>{0, 1}));
    call.opset = 11;  // from 11 pads must be an input
    expect_error_names_node(call, "inputs");
}

TEST(Pad, EdgeAndReflect) {
    Tensor x = floats({4}, {1, 2, 3, 4});
    EXPECT_EQ(values_of<float>(run_single(pad(x, {2, 2}, "edge"))), (std::vector<float>{1, 1, 1, 2, 3, 4, 4, 4}));
    EXPECT_EQ(values_of<float>(run_single(pad(x, {2, 2}, "reflect"))), (std::vector<float>{3, 2, 1, 2, 3, 4, 3, 2}));
    // Pads longer than the axis keep reflecting back and forth (as numpy.pad does).
    EXPECT_EQ(values_of<float>(run_single(pad(floats({3}, {1, 2, 3}), {4, 0}, "reflect"))),
              (std::vector<float>{1, 2, 3, 2, 1, 2, 3}));
}

TEST(Pad, ReflectIn2D) {
    Tensor x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor out = run_single(pad(x, {1, 1, 1, 1}, "reflect"));
    EXPECT_EQ(out.dims(), (Shape{4, 5}));
    EXPECT_EQ(values_of<float>(out),
              (std::vector<float>{5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2}));
}

TEST(Pad, NegativePadsCropBeforePadding) {
    Tensor x = floats({4}, {1, 2, 3, 4});
    EXPECT_EQ(values_of<float>(run_single(pad(x, {-1, 2}))), (std::vector<float>{2, 3, 4, 0, 0}));
    // The reflection is of what remains after cropping: [2, 3, 4].
    EXPECT_EQ(values_of<float>(run_single(pad(x, {-1, 2}, "reflect"))), (std::vector<float>{2, 3, 4, 3, 2}));
    Tensor rows = run_single(pad(floats({3, 2}, {1, 2, 3, 4, 5, 6}), {-1, 0, -1, 0}));
    EXPECT_EQ(rows.dims(), (Shape{1, 2}));
    EXPECT_EQ(values_of<float>(rows), (std::vector<float>{3, 4}));
    expect_error_names_node(pad(x, {-3, -2}), "below zero");
}

TEST(Pad, AxesInputFromOpset18) {
    OpCall call = pad(floats({2, 3}, {1, 2, 3, 4, 5, 6}), {1, 0});
    call.inputs.push_back(omitted());
    call.inputs.push_back(known(int64s({1}, {-1})));
    call.opset = 18;
    Tensor out = run_single(call);
    EXPECT_EQ(out.dims(), (Shape{2, 4}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{0, 1, 2, 3, 0, 4, 5, 6}));
}

TEST(Pad, IntegerAndDoubleTypes) {
    Tensor dims = run_single(pad(int64s({2}, {3, 4}), {1, 0}, "edge"));
    EXPECT_EQ(values_of<int64_t>(dims), (Shape{3, 3, 4}));
    Tensor narrow = run_single(pad(Tensor::from_values<int32_t>({2}, std::vector<int32_t>{5, 6}), {0, 2}, "reflect"));
    EXPECT_EQ(values_of<int32_t>(narrow), (std::vector<int32_t>{5, 6, 5, 6}));
    OpCall call = pad(doubles({1}, {0.25}), {0, 1});
    call.inputs.push_back(known(doubles({}, {-1})));
    EXPECT_EQ(values_of<double>(run_single(call)), (std::vector<double>{0.25, -1}));
}

TEST(Pad, RejectsWhatItCannotRun) {
    Tensor x = floats({2}, {1, 2});
    OpCall dynamic{"Pad", {runtime_value(x), runtime_value(int64s({2}, {1, 1}))}};
    expect_error_names_node(dynamic, "constant");
    expect_error_names_node(pad(x, {1, 1, 1, 1}), "4 pads");
    expect_error_names_node(pad(x, {1, 1}, "wrap"), "wrap");
    expect_error_names_node(pad(floats({0}, {}), {1, 1}, "edge"), "no elements");
    OpCall vector_value = pad(x, {1, 1});
    vector_value.inputs.push_back(known(floats({2}, {1, 2})));
    expect_error_names_node(vector_value, "scalar");
}

TEST(Pad, ResultDoesNotDependOnThreadCount) {
    std::vector<float> values;
    for (int i = 0; i < 3 * 64 * 64; ++i) values.push_back(std::sin(static_cast<float>(i)));
    for (const char* mode : {"constant", "reflect", "edge"}) {
        OpCall call = pad(floats({1, 3, 64, 64}, values), {0, 0, 3, 2, 0, 0, 1, 4}, mode);
        Tensor out = run_single(call, 3);
        EXPECT_EQ(out.dims(), (Shape{1, 3, 68, 70}));
        EXPECT_EQ(run_single(call, 1), out) << mode;
        EXPECT_EQ(values_of<float>(out)[3 * 70 + 2], values[0]) << mode;
    }
}

}  // namespace
}  // namespace mobileone
