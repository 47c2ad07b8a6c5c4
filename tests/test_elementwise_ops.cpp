// Runtime kernels of Add, Sub, Mul, Div and the activations, driven one node at a time through the op registry.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/op_runner.h"

namespace mobileone {
namespace {

TEST(Binary, AddBroadcastsTrailingVector) {
    OpCall add{"Add", {runtime_value(floats({2, 3, 4}, iota_floats(24))), known(floats({4}, {100, 200, 300, 400}))}};
    Tensor out = run_single(add);
    ASSERT_EQ(out.dims(), (std::vector<int64_t>{2, 3, 4}));
    std::vector<float> values = values_of<float>(out);
    for (std::size_t i = 0; i < 24; ++i) EXPECT_EQ(values[i], static_cast<float>(i) + 100.0f * (i % 4 + 1)) << i;
    EXPECT_EQ(values[23], 423.0f);
}

TEST(Binary, MulBroadcastsBothInputs) {
    OpCall mul{"Mul", {runtime_value(floats({2, 1, 4}, {1, 2, 3, 4, 5, 6, 7, 8})), runtime_value(floats({3, 1}, {10, 20, 30}))}};
    EXPECT_EQ(infer_op(mul).front().shape, (std::vector<int64_t>{2, 3, 4}));
    Tensor out = run_single(mul);
    EXPECT_EQ(out.dims(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{10,  20,  30,  40,  20,  40,  60,  80,  30,  60,  90,  120,
                                                         50,  60,  70,  80,  100, 120, 140, 160, 150, 180, 210, 240}));
}

TEST(Binary, ScalarOnEitherSide) {
    Tensor x = floats({2, 2}, {5, 6, 7, 8});
    Tensor scalar = floats({}, {1.5f});
    EXPECT_EQ(values_of<float>(run_single({"Sub", {runtime_value(x), known(scalar)}})),
              (std::vector<float>{3.5f, 4.5f, 5.5f, 6.5f}));
    Tensor reversed = run_single({"Sub", {known(scalar), runtime_value(x)}});
    EXPECT_EQ(reversed.dims(), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(values_of<float>(reversed), (std::vector<float>{-3.5f, -4.5f, -5.5f, -6.5f}));
    Tensor both = run_single({"Mul", {known(scalar), known(floats({}, {4}))}});
    EXPECT_TRUE(both.dims().empty());
    EXPECT_EQ(values_of<float>(both), std::vector<float>{6});
}

TEST(Binary, DivideFloatAndDouble) {
    EXPECT_EQ(values_of<float>(run_single({"Div", {runtime_value(floats({3}, {1, 2, 3})), known(floats({1}, {2}))}})),
              (std::vector<float>{0.5f, 1.0f, 1.5f}));
    Tensor out = run_single({"Div", {runtime_value(doubles({2}, {1, 2})), known(doubles({}, {3}))}});
    EXPECT_EQ(values_of<double>(out), (std::vector<double>{1.0 / 3.0, 2.0 / 3.0}));
}

TEST(Binary, Int64ShapeArithmetic) {
    Tensor dims = int64s({3}, {7, -7, 9});
    Tensor two = int64s({1}, {2});
    EXPECT_EQ(values_of<int64_t>(run_single({"Add", {runtime_value(dims), known(two)}})), (std::vector<int64_t>{9, -5, 11}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Sub", {runtime_value(dims), known(two)}})), (std::vector<int64_t>{5, -9, 7}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Mul", {runtime_value(dims), known(two)}})),
              (std::vector<int64_t>{14, -14, 18}));
    // Integer division truncates toward zero.
    EXPECT_EQ(values_of<int64_t>(run_single({"Div", {runtime_value(dims), known(two)}})), (std::vector<int64_t>{3, -3, 4}));
    const int64_t lowest = std::numeric_limits<int64_t>::lowest();
    EXPECT_EQ(values_of<int64_t>(run_single({"Div", {known(int64s({}, {lowest})), known(int64s({}, {-1}))}})),
              std::vector<int64_t>{lowest});
}

TEST(Binary, NarrowIntegersWrapLikeNumpy) {
    Tensor a = Tensor::from_values<uint8_t>({2}, std::vector<uint8_t>{200, 7});
    Tensor b = Tensor::from_values<uint8_t>({2}, std::vector<uint8_t>{100, 2});
    EXPECT_EQ(values_of<uint8_t>(run_single({"Add", {runtime_value(a), runtime_value(b)}})), (std::vector<uint8_t>{44, 9}));
    EXPECT_EQ(values_of<uint8_t>(run_single({"Sub", {runtime_value(b), runtime_value(a)}})),
              (std::vector<uint8_t>{156, 251}));
    EXPECT_EQ(values_of<uint8_t>(run_single({"Div", {runtime_value(a), runtime_value(b)}})), (std::vector<uint8_t>{2, 3}));
    Tensor c = Tensor::from_values<int32_t>({2}, std::vector<int32_t>{-7, 65536});
    EXPECT_EQ(values_of<int32_t>(run_single({"Div", {runtime_value(c), known(Tensor::from_values<int32_t>({}, std::vector<int32_t>{2}))}})),
              (std::vector<int32_t>{-3, 32768}));
    EXPECT_EQ(values_of<int32_t>(run_single({"Mul", {runtime_value(c), runtime_value(c)}})), (std::vector<int32_t>{49, 0}));
}

TEST(Binary, IntegerDivisionByZeroNamesTheNode) {
    expect_error_names_node({"Div", {runtime_value(int64s({2}, {4, 6})), runtime_value(int64s({2}, {2, 0}))}},
                            "division by zero");
}

TEST(Binary, RejectsShapesThatDoNotBroadcast) {
    expect_error_names_node({"Add", {runtime_value(floats({2, 3}, iota_floats(6))), known(floats({2}, {1, 2}))}},
                            "do not broadcast");
}

TEST(Binary, RejectsMixedAndUnsupportedTypes) {
    expect_error_names_node({"Add", {runtime_value(floats({1}, {1})), known(doubles({1}, {1}))}}, "different types");
    Tensor flags(DataType::Bool, {2});
    expect_error_names_node({"Mul", {runtime_value(flags), known(flags)}}, "bool");
}

TEST(Binary, LegacyBroadcastAlignsAtAxis) {
    OpCall add{"Add",
               {runtime_value(floats({2, 3, 2}, iota_floats(12))), known(floats({3}, {100, 200, 300}))},
               {{"broadcast", int64_t{1}}, {"axis", int64_t{1}}},
               6};
    EXPECT_EQ(values_of<float>(run_single(add)),
              (std::vector<float>{100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311}));
    // Without an axis B is aligned with A's last dims.
    OpCall suffix{"Add",
                  {runtime_value(floats({2, 3}, iota_floats(6))), known(floats({3}, {10, 20, 30}))},
                  {{"broadcast", int64_t{1}}},
                  6};
    EXPECT_EQ(values_of<float>(run_single(suffix)), (std::vector<float>{10, 21, 32, 13, 24, 35}));
    OpCall unflagged{"Add", {runtime_value(floats({2, 3}, iota_floats(6))), known(floats({3}, {10, 20, 30}))}, {}, 6};
    expect_error_names_node(unflagged, "broadcast=0");
    // The same node at opset 7 broadcasts numpy-style.
    unflagged.opset = 7;
    EXPECT_EQ(values_of<float>(run_single(unflagged)), (std::vector<float>{10, 21, 32, 13, 24, 35}));
}

TEST(Binary, ResultDoesNotDependOnThreadCount) {
    std::vector<float> a;
    for (int i = 0; i < 64 * 3 * 300; ++i) a.push_back(std::sin(static_cast<float>(i)));
    OpCall div{"Div", {runtime_value(floats({64, 3, 300}, a)), known(floats({3, 1}, {3, 7, 11}))}};
    Tensor single = run_single(div, 1);
    EXPECT_EQ(run_single(div, 3), single);
    EXPECT_EQ(values_of<float>(single)[300 + 5], a[300 + 5] / 7.0f);
}

TEST(Activation, Relu) {
    EXPECT_EQ(values_of<float>(run_single({"Relu", {runtime_value(floats({4}, {-2, -0.5f, 0, 3}))}})),
              (std::vector<float>{0, 0, 0, 3}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Relu", {runtime_value(int64s({3}, {-4, 0, 5}))}})),
              (std::vector<int64_t>{0, 0, 5}));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(values_of<float>(run_single({"Relu", {runtime_value(floats({1}, {nan}))}}))[0]));
}

TEST(Activation, SigmoidAndTanh) {
    std::vector<float> sigmoid = values_of<float>(run_single({"Sigmoid", {runtime_value(floats({3}, {0, 2, -2}))}}));
    EXPECT_EQ(sigmoid[0], 0.5f);
    EXPECT_NEAR(sigmoid[1], 0.8807970779778823, 1e-7);
    EXPECT_NEAR(sigmoid[2], 0.11920292202211755, 1e-7);
    std::vector<double> precise = values_of<double>(run_single({"Sigmoid", {runtime_value(doubles({1}, {2}))}}));
    EXPECT_NEAR(precise[0], 0.8807970779778823, 1e-15);
    std::vector<float> tanh = values_of<float>(run_single({"Tanh", {runtime_value(floats({2}, {0, 1}))}}));
    EXPECT_EQ(tanh[0], 0.0f);
    EXPECT_NEAR(tanh[1], 0.7615941559557649, 1e-7);
    expect_error_names_node({"Sigmoid", {runtime_value(int64s({1}, {1}))}}, "int64");
}

TEST(Activation, LeakyReluHardSigmoidHardSwish) {
    EXPECT_EQ(values_of<float>(run_single({"LeakyRelu", {runtime_value(floats({2}, {-10, 5}))}, {{"alpha", 0.5f}}})),
              (std::vector<float>{-5, 5}));
    EXPECT_EQ(values_of<float>(run_single({"LeakyRelu", {runtime_value(floats({1}, {-100}))}}))[0], -100 * 0.01f);

    // Defaults alpha 0.2, beta 0.5: the line 0.2x + 0.5 clamped to [0, 1].
    std::vector<float> hard_sigmoid =
        values_of<float>(run_single({"HardSigmoid", {runtime_value(floats({3}, {-3, 1, 3}))}}));
    EXPECT_EQ(hard_sigmoid[0], 0.0f);
    EXPECT_NEAR(hard_sigmoid[1], 0.7, 1e-7);
    EXPECT_EQ(hard_sigmoid[2], 1.0f);
    OpCall tuned{"HardSigmoid", {runtime_value(floats({1}, {1}))}, {{"alpha", 0.25f}, {"beta", 0.0f}}};
    EXPECT_EQ(values_of<float>(run_single(tuned))[0], 0.25f);

    std::vector<float> hard_swish =
        values_of<float>(run_single({"HardSwish", {runtime_value(floats({4}, {-4, -1, 1, 4}))}}));
    EXPECT_EQ(hard_swish[0], 0.0f);
    EXPECT_NEAR(hard_swish[1], -1.0 / 3.0, 1e-7);
    EXPECT_NEAR(hard_swish[2], 2.0 / 3.0, 1e-7);
    EXPECT_EQ(hard_swish[3], 4.0f);
}

TEST(Activation, ClipBoundsAreAttributesBeforeOpset11) {
    OpCall relu6{"Clip", {runtime_value(floats({3}, {-1, 3, 7}))}, {{"min", 0.0f}, {"max", 6.0f}}, 6};
    EXPECT_EQ(values_of<float>(run_single(relu6)), (std::vector<float>{0, 3, 6}));
    OpCall upper_only{"Clip", {runtime_value(floats({3}, {-1, 3, 7}))}, {{"max", 2.0f}}, 6};
    EXPECT_EQ(values_of<float>(run_single(upper_only)), (std::vector<float>{-1, 2, 2}));
    OpCall bound_input{"Clip", {runtime_value(floats({1}, {1})), known(floats({}, {0}))}, {}, 6};
    expect_error_names_node(bound_input, "inputs");
}

TEST(Activation, ClipBoundsAreOptionalInputsFromOpset11) {
    Tensor x = floats({3}, {-1, 3, 7});
    EXPECT_EQ(values_of<float>(run_single({"Clip", {runtime_value(x), known(floats({}, {0}))}})),
              (std::vector<float>{0, 3, 7}));
    EXPECT_EQ(values_of<float>(run_single({"Clip", {runtime_value(x), omitted(), runtime_value(floats({}, {2}))}})),
              (std::vector<float>{-1, 2, 2}));
    // A min above the max sets everything to the max.
    EXPECT_EQ(values_of<float>(run_single({"Clip", {runtime_value(x), known(floats({}, {5})), known(floats({}, {1}))}})),
              (std::vector<float>{1, 1, 1}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Clip", {runtime_value(int64s({3}, {-9, 4, 9})), known(int64s({}, {0})),
                                                      known(int64s({}, {5}))}})),
              (std::vector<int64_t>{0, 4, 5}));
    Tensor bytes = Tensor::from_values<int8_t>({3}, std::vector<int8_t>{-128, 0, 127});
    EXPECT_EQ(values_of<int8_t>(run_single({"Clip", {runtime_value(bytes), omitted(),
                                                     known(Tensor::from_values<int8_t>({}, std::vector<int8_t>{100}))}})),
              (std::vector<int8_t>{-128, 0, 100}));
    // Attributes are ignored from opset 11 on.
    OpCall attributes{"Clip", {runtime_value(x)}, {{"min", 0.0f}}, 11};
    EXPECT_EQ(values_of<float>(run_single(attributes)), (std::vector<float>{-1, 3, 7}));
    expect_error_names_node({"Clip", {runtime_value(x), known(floats({2}, {0, 1}))}}, "scalar");
    expect_error_names_node({"Clip", {runtime_value(x), known(doubles({}, {0}))}}, "different types");
}

TEST(Activation, ResultDoesNotDependOnThreadCount) {
    std::vector<float> x;
    for (int i = 0; i < 100000; ++i) x.push_back(std::cos(static_cast<float>(i)) * 8);
    for (const char* op : {"Sigmoid", "HardSwish", "Tanh"}) {
        OpCall call{op, {runtime_value(floats({100000}, x))}};
        EXPECT_EQ(run_single(call, 3), run_single(call, 1)) << op;
    }
}

}  // namespace
}  // namespace mobileone
