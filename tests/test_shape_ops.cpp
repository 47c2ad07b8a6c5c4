// Runtime kernels of the shape and data-movement ops, driven one node at a time through the op registry.
#include <gtest/gtest.h>

#include "support/op_runner.h"

namespace mobileone {
namespace {

using Shape = std::vector<int64_t>;

TEST(Reshape, ZeroCopiesAndMinusOneInfers) {
    Tensor x = floats({2, 3, 4}, iota_floats(24));
    Tensor out = run_single({"Reshape", {runtime_value(x), known(int64s({2}, {0, -1}))}});
    EXPECT_EQ(out.dims(), (Shape{2, 12}));
    EXPECT_EQ(values_of<float>(out), iota_floats(24));
    EXPECT_EQ(run_single({"Reshape", {runtime_value(x), known(int64s({3}, {4, 0, -1}))}}).dims(), (Shape{4, 3, 2}));
    EXPECT_EQ(run_single({"Reshape", {runtime_value(x), known(int64s({1}, {-1}))}}).dims(), (Shape{24}));
}

TEST(Reshape, AllowZeroKeepsZeroFromOpset14) {
    Tensor empty(DataType::Float, {0, 4});
    OpCall keep_zero{"Reshape", {runtime_value(empty), known(int64s({2}, {3, 0}))}, {{"allowzero", int64_t{1}}}, 14};
    EXPECT_EQ(infer_op(keep_zero).front().shape, (Shape{3, 0}));
    // Without allowzero (or before opset 14) the 0 copies the input's dim 1, and 3 x 4 elements cannot come from 0.
    keep_zero.opset = 13;
    expect_error_names_node(keep_zero, "cannot reshape");
}

TEST(Reshape, ShapeAttributeBeforeOpset5) {
    OpCall reshape{"Reshape", {runtime_value(floats({2, 3}, iota_floats(6)))}, {{"shape", Shape{3, -1}}}, 4};
    EXPECT_EQ(run_single(reshape).dims(), (Shape{3, 2}));
}

TEST(Reshape, RejectsUnknownOrInvalidShapes) {
    Tensor x = floats({2, 3}, iota_floats(6));
    expect_error_names_node({"Reshape", {runtime_value(x), runtime_value(int64s({1}, {6}))}}, "constant");
    expect_error_names_node({"Reshape", {runtime_value(x), known(int64s({2}, {-1, -1}))}}, "more than one -1");
    expect_error_names_node({"Reshape", {runtime_value(x), known(int64s({2}, {4, -1}))}}, "-1");
    expect_error_names_node({"Reshape", {runtime_value(x), known(int64s({1}, {5}))}}, "cannot reshape");
}

TEST(Flatten, SplitsAtAxis) {
    Tensor x = floats({2, 3, 4, 5}, iota_floats(120));
    auto flattened = [&](int64_t axis) { return infer_op({"Flatten", {runtime_value(x)}, {{"axis", axis}}}).front().shape; };
    EXPECT_EQ(flattened(2), (Shape{6, 20}));
    EXPECT_EQ(flattened(-1), (Shape{24, 5}));
    EXPECT_EQ(flattened(0), (Shape{1, 120}));
    EXPECT_EQ(flattened(4), (Shape{120, 1}));
    Tensor out = run_single({"Flatten", {runtime_value(x)}});
    EXPECT_EQ(out.dims(), (Shape{2, 60}));
    EXPECT_EQ(values_of<float>(out), iota_floats(120));
    expect_error_names_node({"Flatten", {runtime_value(x)}, {{"axis", int64_t{5}}}}, "out of range");
}

TEST(ShapeOp, ReturnsDimsAndSlicesFromOpset15) {
    Tensor x(DataType::Float, {2, 3, 4});
    Tensor dims = run_single({"Shape", {runtime_value(x)}});
    EXPECT_EQ(dims.dtype(), DataType::Int64);
    EXPECT_EQ(values_of<int64_t>(dims), (Shape{2, 3, 4}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Shape", {runtime_value(x)}, {{"start", int64_t{1}}}, 15})), (Shape{3, 4}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Shape", {runtime_value(x)}, {{"end", int64_t{-1}}}, 15})), (Shape{2, 3}));
    EXPECT_EQ(values_of<int64_t>(run_single({"Shape", {runtime_value(x)}, {{"start", int64_t{-10}}}, 15})),
              (Shape{2, 3, 4}));
    EXPECT_EQ(run_single({"Shape", {runtime_value(x)}, {{"start", int64_t{2}}, {"end", int64_t{1}}}, 15}).dims(), (Shape{0}));
    // Before opset 15 the attributes do not exist.
    EXPECT_EQ(values_of<int64_t>(run_single({"Shape", {runtime_value(x)}, {{"start", int64_t{1}}}, 14})),
              (Shape{2, 3, 4}));
}

TEST(Gather, Axis1WithNegativeIndices) {
    Tensor data = floats({2, 3}, {0, 1, 2, 10, 11, 12});
    Tensor out = run_single({"Gather", {runtime_value(data), runtime_value(int64s({2}, {-1, 0}))}, {{"axis", int64_t{1}}}});
    EXPECT_EQ(out.dims(), (Shape{2, 2}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{2, 0, 12, 10}));
    OpCall negative_axis{"Gather", {runtime_value(data), runtime_value(int64s({}, {1}))}, {{"axis", int64_t{-1}}}};
    Tensor column = run_single(negative_axis);
    EXPECT_EQ(column.dims(), (Shape{2}));
    EXPECT_EQ(values_of<float>(column), (std::vector<float>{1, 11}));
}

TEST(Gather, IndexShapeReplacesTheAxis) {
    Tensor data = int64s({3, 2}, {1, 2, 3, 4, 5, 6});
    Tensor indices = Tensor::from_values<int32_t>({2, 2}, std::vector<int32_t>{2, 0, 1, -3});
    Tensor out = run_single({"Gather", {runtime_value(data), known(indices)}});
    EXPECT_EQ(out.dims(), (Shape{2, 2, 2}));
    EXPECT_EQ(values_of<int64_t>(out), (Shape{5, 6, 1, 2, 3, 4, 1, 2}));
    // The common shape-subgraph case: one dim of a Shape output by a scalar index.
    Tensor scalar = run_single({"Gather", {runtime_value(int64s({4}, {8, 3, 224, 224})), known(int64s({}, {0}))}});
    EXPECT_TRUE(scalar.dims().empty());
    EXPECT_EQ(values_of<int64_t>(scalar), Shape{8});
}

TEST(Gather, RejectsOutOfRangeIndicesAndAxes) {
    Tensor data = floats({2, 3}, iota_floats(6));
    OpCall too_far{"Gather", {runtime_value(data), runtime_value(int64s({1}, {3}))}, {{"axis", int64_t{1}}}};
    expect_error_names_node(too_far, "out of range");
    expect_error_names_node({"Gather", {runtime_value(data), runtime_value(int64s({1}, {-3}))}}, "out of range");
    expect_error_names_node({"Gather", {runtime_value(data), known(int64s({1}, {0}))}, {{"axis", int64_t{2}}}},
                            "axis 2");
    expect_error_names_node({"Gather", {runtime_value(data), known(floats({1}, {0}))}}, "indices");
}

TEST(Unsqueeze, AxesAttributeBeforeOpset13InputFrom13) {
    Tensor x = floats({3}, {1, 2, 3});
    OpCall attribute{"Unsqueeze", {runtime_value(x)}, {{"axes", Shape{0, -1}}}, 11};
    Tensor out = run_single(attribute);
    EXPECT_EQ(out.dims(), (Shape{1, 3, 1}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(run_single({"Unsqueeze", {runtime_value(x), known(int64s({2}, {1, 2}))}, {}, 13}).dims(), (Shape{3, 1, 1}));
    expect_error_names_node({"Unsqueeze", {runtime_value(x)}, {{"axes", Shape{0}}}, 13}, "inputs");
    expect_error_names_node({"Unsqueeze", {runtime_value(x), runtime_value(int64s({1}, {0}))}, {}, 13}, "constant");
    expect_error_names_node({"Unsqueeze", {runtime_value(x), known(int64s({2}, {0, -3}))}, {}, 13}, "repeated");
}

TEST(Squeeze, RemovesGivenOrAllUnitDims) {
    Tensor x = floats({1, 3, 1}, {1, 2, 3});
    EXPECT_EQ(run_single({"Squeeze", {runtime_value(x)}, {{"axes", Shape{-1}}}, 11}).dims(), (Shape{1, 3}));
    EXPECT_EQ(run_single({"Squeeze", {runtime_value(x)}, {}, 11}).dims(), (Shape{3}));
    Tensor out = run_single({"Squeeze", {runtime_value(x), known(int64s({1}, {0}))}, {}, 13});
    EXPECT_EQ(out.dims(), (Shape{3, 1}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{1, 2, 3}));
    EXPECT_EQ(run_single({"Squeeze", {runtime_value(x)}, {}, 13}).dims(), (Shape{3}));
    expect_error_names_node({"Squeeze", {runtime_value(x), known(int64s({1}, {1}))}, {}, 13}, "cannot squeeze");
}

TEST(Concat, JoinsAlongAxis) {
    Tensor a = floats({2, 1}, {1, 2});
    Tensor b = floats({2, 2}, {10, 11, 20, 21});
    Tensor out = run_single({"Concat", {runtime_value(a), runtime_value(b)}, {{"axis", int64_t{-1}}}});
    EXPECT_EQ(out.dims(), (Shape{2, 3}));
    EXPECT_EQ(values_of<float>(out), (std::vector<float>{1, 10, 11, 2, 20, 21}));
    Tensor rows = run_single({"Concat", {runtime_value(b), runtime_value(b)}, {{"axis", int64_t{0}}}});
    EXPECT_EQ(values_of<float>(rows), (std::vector<float>{10, 11, 20, 21, 10, 11, 20, 21}));
    // Shape subgraphs concatenate int64 dims.
    Tensor dims = run_single({"Concat", {known(int64s({1}, {8})), known(int64s({1}, {-1}))}, {{"axis", int64_t{0}}}});
    EXPECT_EQ(values_of<int64_t>(dims), (Shape{8, -1}));
}

TEST(Concat, RejectsMismatchedInputs) {
    Tensor a = floats({2, 1}, {1, 2});
    expect_error_names_node({"Concat", {runtime_value(a), runtime_value(floats({3, 1}, {1, 2, 3}))}, {{"axis", int64_t{1}}}},
                            "incompatible");
    expect_error_names_node({"Concat", {runtime_value(a), runtime_value(doubles({2, 1}, {1, 2}))}, {{"axis", int64_t{1}}}},
                            "different types");
    expect_error_names_node({"Concat", {runtime_value(a)}}, "axis is required");
}

TEST(Transpose, DefaultReversesAndPermIsApplied) {
    Tensor x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor reversed = run_single({"Transpose", {runtime_value(x)}});
    EXPECT_EQ(reversed.dims(), (Shape{3, 2}));
    EXPECT_EQ(values_of<float>(reversed), (std::vector<float>{1, 4, 2, 5, 3, 6}));
    Tensor cube = int64s({2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    Tensor swapped = run_single({"Transpose", {runtime_value(cube)}, {{"perm", Shape{0, 2, 1}}}});
    EXPECT_EQ(swapped.dims(), (Shape{2, 3, 2}));
    EXPECT_EQ(values_of<int64_t>(swapped), (Shape{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}));
    expect_error_names_node({"Transpose", {runtime_value(x)}, {{"perm", Shape{0, 0}}}}, "not a permutation");
}

TEST(Transpose, MatchesIndexFormulaOnAnyThreadCount) {
    const Shape dims = {3, 4, 5, 6};
    Tensor x = floats(dims, iota_floats(360));
    OpCall call{"Transpose", {runtime_value(x)}, {{"perm", Shape{2, 0, 3, 1}}}};
    Tensor out = run_single(call, 3);
    ASSERT_EQ(out.dims(), (Shape{5, 3, 6, 4}));
    EXPECT_EQ(run_single(call, 1), out);
    std::vector<float> values = values_of<float>(out);
    std::size_t position = 0;
    for (int64_t c = 0; c < 5; ++c)
        for (int64_t a = 0; a < 3; ++a)
            for (int64_t d = 0; d < 6; ++d)
                for (int64_t b = 0; b < 4; ++b) EXPECT_EQ(values[position++], static_cast<float>(((a * 4 + b) * 5 + c) * 6 + d));
}

TEST(Constant, EveryValueAttribute) {
    Tensor weights = floats({2}, {0.5f, -1});
    Tensor value = run_single({"Constant", {}, {{"value", weights}}});
    EXPECT_EQ(value, weights);
    Tensor one_float = run_single({"Constant", {}, {{"value_float", 2.5f}}});
    EXPECT_TRUE(one_float.dims().empty());
    EXPECT_EQ(values_of<float>(one_float), std::vector<float>{2.5f});
    EXPECT_EQ(values_of<float>(run_single({"Constant", {}, {{"value_floats", std::vector<float>{1, 2}}}})),
              (std::vector<float>{1, 2}));
    Tensor one_int = run_single({"Constant", {}, {{"value_int", int64_t{7}}}});
    EXPECT_EQ(one_int.dtype(), DataType::Int64);
    EXPECT_TRUE(one_int.dims().empty());
    EXPECT_EQ(values_of<int64_t>(one_int), Shape{7});
    EXPECT_EQ(run_single({"Constant", {}, {{"value_ints", Shape{1, -1}}}}), int64s({2}, {1, -1}));
    expect_error_names_node({"Constant", {}, {{"value_string", std::string("x")}}}, "value_string");
    expect_error_names_node({"Constant", {}}, "exactly one");
}

TEST(Identity, CopiesAnyType) {
    Tensor dims = int64s({3}, {1, 2, 3});
    EXPECT_EQ(run_single({"Identity", {runtime_value(dims)}}), dims);
}

TEST(Dropout, CopiesAndReportsEveryElementKept) {
    Tensor x = floats({2, 2}, {1, -2, 3, -4});
    std::vector<Tensor> outputs = run_op({"Dropout", {runtime_value(x), known(floats({}, {0.5f}))}, {}, 13, 2});
    EXPECT_EQ(outputs[0], x);
    ASSERT_EQ(outputs[1].dtype(), DataType::Bool);
    EXPECT_EQ(outputs[1].dims(), (Shape{2, 2}));
    for (bool kept : outputs[1].data<bool>()) EXPECT_TRUE(kept);
    // Before opset 10 the mask has the input's type.
    std::vector<Tensor> legacy = run_op({"Dropout", {runtime_value(x)}, {{"ratio", 0.5f}}, 7, 2});
    EXPECT_EQ(legacy[0], x);
    EXPECT_EQ(legacy[1], floats({2, 2}, {1, 1, 1, 1}));
    EXPECT_EQ(run_single({"Dropout", {runtime_value(x)}, {}, 13}), x);
}

TEST(Dropout, RejectsTrainingMode) {
    Tensor x = floats({2}, {1, 2});
    Tensor on(DataType::Bool, {});
    on.data<bool>()[0] = true;
    Tensor off(DataType::Bool, {});
    EXPECT_EQ(run_single({"Dropout", {runtime_value(x), omitted(), known(off)}}), x);
    expect_error_names_node({"Dropout", {runtime_value(x), omitted(), known(on)}}, "training mode");
    expect_error_names_node({"Dropout", {runtime_value(x), omitted(), runtime_value(off)}}, "constant");
}

}  // namespace
}  // namespace mobileone
