#include <gtest/gtest.h>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;
using Names = std::vector<std::string>;

// The shape of "x", of every graph output and of the values between.
const std::vector<Dim> kDims = {fixed(2), fixed(3)};

Node constant_node(const std::string& output, const std::string& attribute, Attribute value) {
    return Node{"make_" + output, "Constant", "", {}, {output}, {{attribute, std::move(value)}}, {}};
}

Names node_names(const Model& model) {
    Names names;
    for (const Node& node : model.graph.nodes) names.push_back(node.name);
    return names;
}

Names initializer_names(const Model& model) {
    Names names;
    for (const auto& [name, tensor] : model.graph.initializers) names.push_back(name);
    return names;
}

// --- eliminate_dead_code ------------------------------------------------------------------------------------------

TEST(EliminateDeadCode, RemovesAWholeDeadChainAndUnreadInitializers) {
    // x -> Add(x, w) -> a -> Relu -> y (output);  x -> Mul(x, v) -> d -> Sigmoid -> e (read by nothing)
    Model model = model_with(13,
                             {make_node("Add", {"x", "w"}, {"a"}), make_node("Mul", {"x", "v"}, {"d"}),
                              make_node("Sigmoid", {"d"}, {"e"}), make_node("Relu", {"a"}, {"y"})},
                             {"y"}, kDims);
    model.graph.initializers["w"] = Tensor(DataType::Float, {3});
    model.graph.initializers["v"] = Tensor(DataType::Float, {3});
    model.graph.initializers["unused"] = Tensor(DataType::Float, {3});
    model.graph.value_info = {float_value("a", kDims), float_value("d", kDims), float_value("e", kDims)};
    EXPECT_EQ(run_pass("eliminate_dead_code", model), 4) << "Mul, Sigmoid, v and unused";
    EXPECT_EQ(node_names(model), (Names{"Add_a", "Relu_y"}));
    EXPECT_EQ(initializer_names(model), (Names{"w"}));
    ASSERT_EQ(model.graph.value_info.size(), 1u);
    EXPECT_EQ(model.graph.value_info[0].name, "a");
    EXPECT_EQ(run_pass("eliminate_dead_code", model), 0);
    EXPECT_NO_THROW(check_model(model, "dead"));
}

TEST(EliminateDeadCode, KeepsANodeWhenAnyOutputIsReadAndKeepsUnusedGraphInputs) {
    Model model =
        model_with(13, {make_node("Dropout", {"x"}, {"d", "mask"}), make_node("Relu", {"d"}, {"y"})}, {"y"}, kDims);
    model.graph.inputs.push_back(float_value("spare", kDims));
    EXPECT_EQ(run_pass("eliminate_dead_code", model), 0);
    EXPECT_EQ(node_names(model), (Names{"Dropout_d", "Relu_y"}));
    EXPECT_EQ(model.graph.inputs.size(), 2u);
}

TEST(EliminateDeadCode, KeepsInitializersAndInputsThatAreGraphOutputs) {
    Model model = model_with(13, {}, {"w", "x"}, kDims);
    model.graph.initializers["w"] = Tensor(DataType::Float, {2, 3});
    EXPECT_EQ(run_pass("eliminate_dead_code", model), 0);
    EXPECT_EQ(initializer_names(model), (Names{"w"}));
}

// --- constants_to_initializers ------------------------------------------------------------------------------------

TEST(ConstantsToInitializers, EveryValueFormBecomesAnInitializerOfTheSpecifiedShape) {
    Model model = model_with(13,
                             {constant_node("t", "value", Tensor::from_values<float>({3}, std::vector<float>{1, 2, 3})),
                              constant_node("f", "value_float", 0.5f),
                              constant_node("i", "value_int", int64_t{-4}),
                              constant_node("fs", "value_floats", std::vector<float>{1.5f, 2.5f}),
                              constant_node("is", "value_ints", std::vector<int64_t>{2, -1}),
                              make_node("Add", {"x", "t"}, {"y"})},
                             {"y"}, kDims);
    EXPECT_EQ(run_pass("constants_to_initializers", model), 5);
    EXPECT_EQ(node_names(model), (Names{"Add_y"}));
    const Graph& graph = model.graph;
    EXPECT_EQ(*graph.initializer("t"), Tensor::from_values<float>({3}, std::vector<float>{1, 2, 3}));
    EXPECT_EQ(*graph.initializer("f"), Tensor::scalar(0.5f));
    EXPECT_EQ(*graph.initializer("i"), Tensor::from_values<int64_t>({}, std::vector<int64_t>{-4}));
    EXPECT_EQ(*graph.initializer("fs"), Tensor::from_values<float>({2}, std::vector<float>{1.5f, 2.5f}));
    EXPECT_EQ(*graph.initializer("is"), Tensor::from_values<int64_t>({2}, std::vector<int64_t>{2, -1}));
    EXPECT_EQ(run_pass("constants_to_initializers", model), 0);
    EXPECT_NO_THROW(check_model(model, "constants"));
}

TEST(ConstantsToInitializers, ConstantProducingAGraphOutputStays) {
    Model model = model_with(
        13, {constant_node("y", "value", Tensor::from_values<float>({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6}))},
        {"y"}, kDims);
    EXPECT_EQ(run_pass("constants_to_initializers", model), 0);
    EXPECT_EQ(node_names(model), (Names{"make_y"}));
    EXPECT_TRUE(model.graph.initializers.empty());
}

TEST(ConstantsToInitializers, StringConstantsStay) {
    Model model = model_with(
        13, {constant_node("s", "value_string", std::string("label")), make_node("Relu", {"x"}, {"y"})}, {"y"}, kDims);
    EXPECT_EQ(run_pass("constants_to_initializers", model), 0);
    EXPECT_EQ(model.graph.nodes.size(), 2u);
}

TEST(ConstantsToInitializers, MistypedAttributeIsAnErrorNamingTheNode) {
    Model model = model_with(13,
                             {constant_node("c", "value_floats", std::vector<int64_t>{1, 2}),
                              make_node("Relu", {"x"}, {"y"})},
                             {"y"}, kDims);
    try {
        run_pass("constants_to_initializers", model);
        FAIL() << "a value_floats holding ints was accepted";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("'make_c' (Constant)"), std::string::npos) << error.what();
    }
}

}  // namespace
}  // namespace mobileone
