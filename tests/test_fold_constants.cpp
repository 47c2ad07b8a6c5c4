#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "compiler/pipeline.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "passes/constant_eval.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using pass_test::fixed;
using pass_test::make_node;
using pass_test::model_with;
using pass_test::run_pass;
using pass_test::symbol;
using Ints = std::vector<int64_t>;
using Floats = std::vector<float>;
using Names = std::vector<std::string>;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

Tensor ints(Ints dims, Ints values) { return Tensor::from_values<int64_t>(std::move(dims), values); }
Tensor vector_of(Ints values) { return ints({static_cast<int64_t>(values.size())}, values); }
Tensor scalar_of(int64_t value) { return ints({}, {value}); }
Ints values_of(const Tensor& tensor) { return tensor.to_int64s(); }

// Evaluates `op` on the given constants; the inputs are named in0, in1, ... ("" where a tensor is nullptr).
std::optional<Tensor> evaluate(const std::string& op, std::vector<const Tensor*> inputs, int64_t opset = 13,
                               std::map<std::string, Attribute> attributes = {}) {
    Names names;
    for (std::size_t i = 0; i < inputs.size(); ++i) names.push_back(inputs[i] ? "in" + std::to_string(i) : "");
    return evaluate_constant_node(make_node(op, names, {"out"}, std::move(attributes)), inputs, opset);
}

Tensor evaluated(const std::string& op, std::vector<const Tensor*> inputs, int64_t opset = 13,
                 std::map<std::string, Attribute> attributes = {}) {
    std::optional<Tensor> result = evaluate(op, std::move(inputs), opset, std::move(attributes));
    if (!result) throw std::runtime_error(op + " was not evaluated");
    return *result;
}

// --- evaluation of single ops -------------------------------------------------------------------------------------

TEST(ConstantEval, GatherTakesNegativeIndicesAndAnyAxis) {
    Tensor data = ints({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor last = scalar_of(-1);
    Tensor columns = vector_of({2, 0});
    Tensor rows = evaluated("Gather", {&data, &last});
    EXPECT_EQ(rows.dims(), (Ints{3}));
    EXPECT_EQ(values_of(rows), (Ints{4, 5, 6}));
    Tensor picked = evaluated("Gather", {&data, &columns}, 13, {{"axis", int64_t{-1}}});
    EXPECT_EQ(picked.dims(), (Ints{2, 2}));
    EXPECT_EQ(values_of(picked), (Ints{3, 1, 6, 4}));
    Tensor out_of_range = scalar_of(3);
    EXPECT_THROW(evaluate("Gather", {&data, &out_of_range}, 13, {{"axis", int64_t{1}}}), Error);
}

TEST(ConstantEval, UnsqueezeAxesComeFromTheAttributeBeforeOpset13AndTheInputSince) {
    Tensor data = vector_of({7, 8, 9});
    // Output rank 3: axis -1 is 2.
    Tensor old_style = evaluated("Unsqueeze", {&data}, 11, {{"axes", Ints{0, -1}}});
    EXPECT_EQ(old_style.dims(), (Ints{1, 3, 1}));
    Tensor axes = vector_of({-1, 0});
    Tensor new_style = evaluated("Unsqueeze", {&data, &axes}, 13);
    EXPECT_EQ(new_style.dims(), (Ints{1, 3, 1}));
    EXPECT_EQ(values_of(new_style), (Ints{7, 8, 9}));
    Tensor twice = vector_of({0, -3});
    EXPECT_THROW(evaluate("Unsqueeze", {&data, &twice}, 13), Error);
}

TEST(ConstantEval, SqueezeRemovesGivenOrAllUnitAxes) {
    Tensor data = ints({1, 3, 1}, {4, 5, 6});
    EXPECT_EQ(evaluated("Squeeze", {&data}, 11, {{"axes", Ints{-1}}}).dims(), (Ints{1, 3}));
    EXPECT_EQ(evaluated("Squeeze", {&data}, 13).dims(), (Ints{3}));
    Tensor axes = vector_of({0});
    EXPECT_EQ(evaluated("Squeeze", {&data, &axes}, 13).dims(), (Ints{3, 1}));
    Tensor not_unit = vector_of({1});
    EXPECT_THROW(evaluate("Squeeze", {&data, &not_unit}, 13), Error);
}

TEST(ConstantEval, ConcatJoinsAlongANegativeAxis) {
    Tensor a = ints({2, 1}, {1, 2});
    Tensor b = ints({2, 2}, {3, 4, 5, 6});
    Tensor joined = evaluated("Concat", {&a, &b}, 13, {{"axis", int64_t{-1}}});
    EXPECT_EQ(joined.dims(), (Ints{2, 3}));
    EXPECT_EQ(values_of(joined), (Ints{1, 3, 4, 2, 5, 6}));
    EXPECT_THROW(evaluate("Concat", {&a, &b}, 13, {{"axis", int64_t{0}}}), Error);
}

TEST(ConstantEval, SliceClampsBoundsAndHonoursSteps) {
    Tensor data = vector_of({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    Tensor minus_three = vector_of({-3}), to_end = vector_of({kInt64Max});
    EXPECT_EQ(values_of(evaluated("Slice", {&data, &minus_three, &to_end})), (Ints{7, 8, 9}));
    // Backwards from the clamped start 9 to the very beginning, every other element.
    Tensor from_end = vector_of({kInt64Max}), to_start = vector_of({kInt64Min}), axis0 = vector_of({0}),
           minus_two = vector_of({-2});
    EXPECT_EQ(values_of(evaluated("Slice", {&data, &from_end, &to_start, &axis0, &minus_two})), (Ints{9, 7, 5, 3, 1}));
    // An end of -1 means "before the last element", so slicing backwards from the last element gives nothing.
    Tensor minus_one = vector_of({-1}), step_back = vector_of({-1});
    EXPECT_EQ(evaluated("Slice", {&data, &minus_one, &minus_one, nullptr, &step_back}).dims(), (Ints{0}));
    Tensor zero_step = vector_of({0});
    EXPECT_THROW(evaluate("Slice", {&data, &axis0, &to_end, nullptr, &zero_step}), Error);
}

TEST(ConstantEval, SliceSelectsAxesAndTakesAttributesBeforeOpset10) {
    Tensor matrix = ints({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
    Tensor one = vector_of({1}), minus_one = vector_of({-1});
    Tensor columns = evaluated("Slice", {&matrix, &one, &minus_one, &one});
    EXPECT_EQ(columns.dims(), (Ints{2, 2}));
    EXPECT_EQ(values_of(columns), (Ints{1, 2, 5, 6}));
    Tensor old_style =
        evaluated("Slice", {&matrix}, 9, {{"starts", Ints{1}}, {"ends", Ints{1000}}, {"axes", Ints{-1}}});
    EXPECT_EQ(values_of(old_style), (Ints{1, 2, 3, 5, 6, 7}));
}

TEST(ConstantEval, CastTruncatesTowardZeroAndLeavesUndefinedCastsAlone) {
    Tensor floats = Tensor::from_values<float>({3}, Floats{2.7f, -2.7f, 0.0f});
    EXPECT_EQ(values_of(evaluated("Cast", {&floats}, 13, {{"to", int64_t{7}}})), (Ints{2, -2, 0}));
    Tensor to_float = evaluated("Cast", {&floats}, 13, {{"to", int64_t{1}}});
    EXPECT_EQ(to_float, floats);
    Tensor integers = vector_of({0, 5});
    Tensor flags = evaluated("Cast", {&integers}, 13, {{"to", int64_t{9}}});
    EXPECT_EQ(flags.dtype(), DataType::Bool);
    EXPECT_EQ(values_of(flags), (Ints{0, 1}));
    Tensor nan = Tensor::scalar(std::nanf(""));
    EXPECT_FALSE(evaluate("Cast", {&nan}, 13, {{"to", int64_t{7}}}).has_value());
    EXPECT_FALSE(evaluate("Cast", {&integers}, 13, {{"to", int64_t{10}}}).has_value()) << "float16 is not folded";
}

TEST(ConstantEval, ReshapeCopiesZerosAndInfersMinusOne) {
    Tensor data = ints({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor copy_then_infer = vector_of({0, -1}), infer_then_two = vector_of({-1, 2});
    EXPECT_EQ(evaluated("Reshape", {&data, &copy_then_infer}).dims(), (Ints{2, 3}));
    Tensor reshaped = evaluated("Reshape", {&data, &infer_then_two});
    EXPECT_EQ(reshaped.dims(), (Ints{3, 2}));
    EXPECT_EQ(values_of(reshaped), (Ints{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(evaluated("Reshape", {&data}, 4, {{"shape", Ints{6}}}).dims(), (Ints{6}));
    Tensor two_unknowns = vector_of({-1, -1}), wrong_count = vector_of({4});
    EXPECT_THROW(evaluate("Reshape", {&data, &two_unknowns}), Error);
    EXPECT_THROW(evaluate("Reshape", {&data, &wrong_count}), Error);
}

TEST(ConstantEval, FlattenSplitsAtANegativeAxis) {
    Tensor data(DataType::Int64, {2, 3, 4});
    EXPECT_EQ(evaluated("Flatten", {&data}, 13, {{"axis", int64_t{-1}}}).dims(), (Ints{6, 4}));
    EXPECT_EQ(evaluated("Flatten", {&data}, 13, {{"axis", int64_t{0}}}).dims(), (Ints{1, 24}));
    EXPECT_EQ(evaluated("Flatten", {&data}).dims(), (Ints{2, 12}));
}

TEST(ConstantEval, Int64ArithmeticBroadcastsAndDivisionTruncates) {
    Tensor column = ints({2, 1}, {1, 2});
    Tensor row = vector_of({10, 20, 30});
    Tensor sum = evaluated("Add", {&column, &row});
    EXPECT_EQ(sum.dims(), (Ints{2, 3}));
    EXPECT_EQ(values_of(sum), (Ints{11, 21, 31, 12, 22, 32}));
    EXPECT_EQ(values_of(evaluated("Sub", {&column, &row})), (Ints{-9, -19, -29, -8, -18, -28}));
    Tensor dividends = vector_of({7, -7}), two = scalar_of(2), zero = scalar_of(0);
    EXPECT_EQ(values_of(evaluated("Div", {&dividends, &two})), (Ints{3, -3}));
    EXPECT_EQ(values_of(evaluated("Mul", {&dividends, &two})), (Ints{14, -14}));
    EXPECT_THROW(evaluate("Div", {&dividends, &zero}), Error);
    Tensor floats = Tensor::scalar(1.5f);
    EXPECT_FALSE(evaluate("Add", {&floats, &floats}).has_value()) << "only int64 arithmetic is folded";
    EXPECT_FALSE(evaluate("Add", {&column, &row}, 6).has_value()) << "opset 6 broadcasts differently";
}

TEST(ConstantEval, ConstantOfShapeFillsWithItsValue) {
    Tensor shape = vector_of({2, 3});
    Tensor sevens = evaluated("ConstantOfShape", {&shape}, 13, {{"value", ints({1}, {7})}});
    EXPECT_EQ(sevens.dims(), (Ints{2, 3}));
    EXPECT_EQ(values_of(sevens), (Ints{7, 7, 7, 7, 7, 7}));
    Tensor zeros = evaluated("ConstantOfShape", {&shape});
    EXPECT_EQ(zeros, Tensor(DataType::Float, {2, 3}));
    Tensor huge = vector_of({1024, 1024});
    EXPECT_FALSE(evaluate("ConstantOfShape", {&huge}).has_value());
}

TEST(ConstantEval, ConstantForms) {
    Node node = make_node("Constant", {}, {"c"}, {{"value_ints", Ints{3, -1}}});
    EXPECT_EQ(constant_node_value(node), vector_of({3, -1}));
    node.attributes = {{"value_float", 2.5f}};
    EXPECT_EQ(constant_node_value(node), Tensor::scalar(2.5f));
    node.attributes = {{"value_string", std::string("text")}};
    EXPECT_FALSE(constant_node_value(node).has_value());
}

// --- the pass --------------------------------------------------------------------------------------------------------

Model model_with_input(int64_t opset, const std::vector<Dim>& input_dims, std::vector<Dim> output_dims) {
    Model model = model_with(opset, {}, {"y"}, input_dims);
    model.graph.outputs[0].shape = std::move(output_dims);
    return model;
}

const std::vector<std::string> kCleanup = {"constants_to_initializers", "remove_noops", "fold_constants",
                                           "eliminate_dead_code"};

// PyTorch's x.view(x.size(<dim>), -1), as torch.onnx.export writes it (opset 11: Unsqueeze axes attribute; 13: input).
void add_view_by_size(Model& model, int64_t opset, int64_t dim) {
    auto constant = [](const std::string& name, Tensor value) {
        return Node{name, "Constant", "", {}, {name}, {{"value", std::move(value)}}, {}};
    };
    std::vector<Node>& nodes = model.graph.nodes;
    nodes.push_back(make_node("Shape", {"x"}, {"shape"}));
    nodes.push_back(constant("index", scalar_of(dim)));
    nodes.push_back(make_node("Gather", {"shape", "index"}, {"size"}, {{"axis", int64_t{0}}}));
    nodes.push_back(constant("minus_one", scalar_of(-1)));
    if (opset < 13) {
        nodes.push_back(make_node("Unsqueeze", {"size"}, {"size_1d"}, {{"axes", Ints{0}}}));
        nodes.push_back(make_node("Unsqueeze", {"minus_one"}, {"minus_one_1d"}, {{"axes", Ints{0}}}));
    } else {
        nodes.push_back(constant("axes", vector_of({0})));
        nodes.push_back(make_node("Unsqueeze", {"size", "axes"}, {"size_1d"}));
        nodes.push_back(make_node("Unsqueeze", {"minus_one", "axes"}, {"minus_one_1d"}));
    }
    nodes.push_back(make_node("Concat", {"size_1d", "minus_one_1d"}, {"view_shape"}, {{"axis", int64_t{0}}}));
    nodes.push_back(make_node("Reshape", {"x", "view_shape"}, {"y"}));
}

void expect_reshape_of_x_to(const Model& model, const Ints& shape) {
    ASSERT_EQ(model.graph.nodes.size(), 1u);
    const Node& reshape = model.graph.nodes[0];
    EXPECT_EQ(reshape.op_type, "Reshape");
    EXPECT_EQ(reshape.inputs[0], "x");
    const Tensor* constant = model.graph.initializer(reshape.inputs[1]);
    ASSERT_NE(constant, nullptr);
    EXPECT_EQ(constant->dims(), (Ints{static_cast<int64_t>(shape.size())}));
    EXPECT_EQ(values_of(*constant), shape);
    EXPECT_EQ(model.graph.initializers.size(), 1u);
}

TEST(FoldConstants, DynamicBatchViewBecomesReshapeZeroMinusOne) {
    for (int64_t opset : {11, 13}) {
        SCOPED_TRACE(opset);
        Model model = model_with_input(opset, {symbol("batch"), fixed(4), fixed(1), fixed(1)},
                                       {symbol("batch"), fixed(4)});
        add_view_by_size(model, opset, 0);
        run_pipeline(model, kCleanup);
        expect_reshape_of_x_to(model, {0, -1});
        EXPECT_EQ(model.graph.inputs[0].shape->at(0), symbol("batch"));
        EXPECT_NO_THROW(check_model(model, "view"));
        std::map<std::string, ValueInfo> shapes = infer_shapes(model);
        ASSERT_TRUE(shapes.at("y").shape.has_value());
        EXPECT_EQ(shapes.at("y").shape->at(1), fixed(4));
    }
}

TEST(FoldConstants, StaticInputShapeArithmeticFoldsToConstants) {
    Model model = model_with_input(13, {fixed(2), fixed(4), fixed(1), fixed(1)}, {fixed(2), fixed(4)});
    add_view_by_size(model, 13, 0);
    run_pipeline(model, kCleanup);
    expect_reshape_of_x_to(model, {2, -1});
    EXPECT_NO_THROW(check_model(model, "static"));
}

TEST(FoldConstants, StaticDimOfASymbolicShapeFoldsThroughGather) {
    // x.view(x.size(1), -1) with a symbolic batch: dim 1 is 4, dim 0 stays unknown.
    Model model = model_with_input(13, {symbol("batch"), fixed(4), fixed(1), fixed(1)}, {fixed(4), symbol("rest")});
    add_view_by_size(model, 13, 1);
    run_pipeline(model, kCleanup);
    expect_reshape_of_x_to(model, {4, -1});
    EXPECT_NO_THROW(check_model(model, "gather"));
}

TEST(FoldConstants, SymbolicDimAtAnotherPositionIsNotRewritten) {
    // x.view(-1, x.size(0)): position 1 would need dim 0, which Reshape's 0 cannot express.
    Model model = model_with_input(13, {symbol("batch"), fixed(4)}, {symbol("a"), symbol("b")});
    add_view_by_size(model, 13, 0);
    std::swap(model.graph.nodes[7].inputs[0], model.graph.nodes[7].inputs[1]);
    run_pipeline(model, kCleanup);
    EXPECT_EQ(model.graph.nodes.size(), 5u) << "Shape, Gather, Unsqueeze, Concat and Reshape remain";
    EXPECT_EQ(model.graph.nodes.back().inputs[1], "view_shape");
    EXPECT_EQ(values_of(*model.graph.initializer("minus_one_1d")), (Ints{-1}));
    EXPECT_NO_THROW(check_model(model, "swapped"));
}

TEST(FoldConstants, ShapeOfAnotherTensorIsNotRewritten) {
    Model model = model_with_input(13, {symbol("batch"), fixed(4)}, {symbol("a"), symbol("b")});
    model.graph.inputs.push_back({"other", DataType::Float, std::vector<Dim>{symbol("n"), fixed(4)}, {}});
    add_view_by_size(model, 13, 0);
    model.graph.nodes[0].inputs[0] = "other";
    EXPECT_GT(run_pass("fold_constants", model), 0) << "the constants still fold";
    EXPECT_EQ(model.graph.nodes.back().inputs[1], "view_shape");
    EXPECT_EQ(run_pass("fold_constants", model), 0);
}

TEST(FoldConstants, AllowZeroReshapeIsNotRewritten) {
    Model model = model_with_input(14, {symbol("batch"), fixed(4), fixed(1), fixed(1)}, {symbol("a"), symbol("b")});
    add_view_by_size(model, 14, 0);
    model.graph.nodes.back().attributes["allowzero"] = int64_t{1};
    run_pipeline(model, kCleanup);
    EXPECT_EQ(model.graph.nodes.back().inputs[1], "view_shape");
}

TEST(FoldConstants, ShapeStartAndEndSelectStaticDims) {
    Model model = model_with_input(15, {symbol("batch"), fixed(3), fixed(8), fixed(6)}, {fixed(2)});
    model.graph.outputs[0].dtype = DataType::Int64;
    model.graph.nodes = {make_node("Shape", {"x"}, {"tail"}, {{"start", int64_t{-2}}}),
                         make_node("Identity", {"tail"}, {"y"})};
    EXPECT_EQ(run_pass("fold_constants", model), 1);
    EXPECT_EQ(values_of(*model.graph.initializer("tail")), (Ints{8, 6}));
    ASSERT_EQ(model.graph.nodes.size(), 1u) << "the Identity produces a graph output and stays";
    EXPECT_NO_THROW(check_model(model, "shape15"));
}

TEST(FoldConstants, SymbolicShapeIsNotFolded) {
    Model model = model_with_input(13, {symbol("batch"), fixed(3)}, {fixed(2)});
    model.graph.outputs[0].dtype = DataType::Int64;
    model.graph.nodes = {make_node("Shape", {"x"}, {"shape"}), make_node("Identity", {"shape"}, {"y"})};
    EXPECT_EQ(run_pass("fold_constants", model), 0);
    EXPECT_EQ(model.graph.nodes.size(), 2u);
}

TEST(FoldConstants, ConstantsChainsFoldInOneRunAndLeaveFloatMathAlone) {
    // Concat(Cast(Constant [2.9, -1.5]) -> [2, -1], Slice([5, 6, 7], -1:) -> [7]) -> [2, -1, 7]
    Model model = model_with_input(13, {fixed(3)}, {fixed(3)});
    Graph& graph = model.graph;
    graph.initializers["seq"] = vector_of({5, 6, 7});
    graph.initializers["start"] = vector_of({-1});
    graph.initializers["end"] = vector_of({kInt64Max});
    graph.initializers["scale"] = Tensor::scalar(2.0f);
    graph.nodes = {
        make_node("Constant", {}, {"floats"}, {{"value", Tensor::from_values<float>({2}, Floats{2.9f, -1.5f})}}),
        make_node("Cast", {"floats"}, {"cast"}, {{"to", int64_t{7}}}),
        make_node("Slice", {"seq", "start", "end"}, {"last"}),
        make_node("Concat", {"cast", "last"}, {"joined"}, {{"axis", int64_t{0}}}),
        make_node("Mul", {"scale", "scale"}, {"four"}),
        make_node("Mul", {"x", "four"}, {"y"}),
    };
    EXPECT_EQ(run_pass("fold_constants", model), 4);
    EXPECT_EQ(values_of(*graph.initializer("joined")), (Ints{2, -1, 7}));
    ASSERT_EQ(graph.nodes.size(), 2u);
    EXPECT_EQ(graph.nodes[0].outputs[0], "four");
    EXPECT_EQ(run_pass("fold_constants", model), 0);
}

TEST(FoldConstants, OnlyConstantsAlreadyInTheModelMayBeLarge) {
    Model model = model_with_input(13, {fixed(3)}, {fixed(3)});
    Tensor big(DataType::Float, {kMaxFoldedElements + 1});
    Tensor big_shape = vector_of({kMaxFoldedElements + 1});
    model.graph.initializers["big_shape"] = big_shape;
    model.graph.nodes = {make_node("Constant", {}, {"big"}, {{"value", big}}),
                         make_node("ConstantOfShape", {"big_shape"}, {"filled"}),
                         make_node("Relu", {"x"}, {"y"})};
    EXPECT_EQ(run_pass("fold_constants", model), 1);
    EXPECT_EQ(*model.graph.initializer("big"), big);
    EXPECT_EQ(model.graph.nodes[0].op_type, "ConstantOfShape");
}

}  // namespace
}  // namespace mobileone
