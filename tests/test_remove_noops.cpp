#include <gtest/gtest.h>

#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;
using Ops = std::vector<std::string>;
using Names = std::vector<std::string>;

// The shape of "x", of every graph output and of the values between.
const std::vector<Dim> kDims = {fixed(1), fixed(2), fixed(3), fixed(3)};

TEST(RemoveNoops, IdentityIsBypassedAndItsReadersRewired) {
    Model model = model_with(13,
                             {make_node("Relu", {"x"}, {"a"}), make_node("Identity", {"a"}, {"b"}),
                              make_node("Sigmoid", {"b"}, {"y"})},
                             {"y"}, kDims);
    model.graph.value_info = {float_value("a", kDims), float_value("b", kDims)};
    EXPECT_EQ(run_pass("remove_noops", model), 1);
    EXPECT_EQ(op_types(model), (Ops{"Relu", "Sigmoid"}));
    EXPECT_EQ(model.graph.nodes[1].inputs, (Names{"a"}));
    ASSERT_EQ(model.graph.value_info.size(), 1u);
    EXPECT_EQ(model.graph.value_info[0].name, "a");
    EXPECT_EQ(run_pass("remove_noops", model), 0);
    EXPECT_NO_THROW(check_model(model, "identity"));
}

TEST(RemoveNoops, ProducerTakesTheGraphOutputName) {
    Model model = model_with(13,
                             {make_node("Relu", {"x"}, {"a"}), make_node("Identity", {"a"}, {"y"}),
                              make_node("Sigmoid", {"a"}, {"z"})},
                             {"y", "z"}, kDims);
    EXPECT_EQ(run_pass("remove_noops", model), 1);
    EXPECT_EQ(op_types(model), (Ops{"Relu", "Sigmoid"}));
    EXPECT_EQ(model.graph.nodes[0].outputs, (Names{"y"}));
    EXPECT_EQ(model.graph.nodes[1].inputs, (Names{"y"}));
    EXPECT_EQ(model.graph.outputs[0].name, "y");
    EXPECT_EQ(model.graph.outputs[1].name, "z");
    EXPECT_NO_THROW(check_model(model, "output"));
}

TEST(RemoveNoops, IdentityFromGraphInputToGraphOutputStays) {
    Model model = model_with(13, {make_node("Identity", {"x"}, {"y"})}, {"y"}, kDims);
    EXPECT_EQ(run_pass("remove_noops", model), 0);
    EXPECT_EQ(op_types(model), (Ops{"Identity"}));
}

TEST(RemoveNoops, IdentityFromInitializerToGraphOutputStays) {
    Model model = model_with(13, {make_node("Identity", {"w"}, {"y"})}, {"y"}, kDims);
    model.graph.initializers["w"] = Tensor(DataType::Float, {1, 2, 3, 3});
    EXPECT_EQ(run_pass("remove_noops", model), 0);
    EXPECT_EQ(op_types(model), (Ops{"Identity"}));
}

TEST(RemoveNoops, IdentityBetweenTwoGraphOutputsStays) {
    Model model =
        model_with(13, {make_node("Relu", {"x"}, {"a"}), make_node("Identity", {"a"}, {"y"})}, {"a", "y"}, kDims);
    EXPECT_EQ(run_pass("remove_noops", model), 0);
    EXPECT_EQ(op_types(model), (Ops{"Relu", "Identity"}));
}

TEST(RemoveNoops, ChainOfNoopsEndingInAGraphOutputGoesInOneRun) {
    Model model = model_with(13,
                             {make_node("Relu", {"x"}, {"a"}), make_node("Identity", {"a"}, {"b"}),
                              make_node("Dropout", {"b"}, {"c"}), make_node("Identity", {"c"}, {"y"})},
                             {"y"}, kDims);
    EXPECT_EQ(run_pass("remove_noops", model), 3);
    EXPECT_EQ(op_types(model), (Ops{"Relu"}));
    EXPECT_EQ(model.graph.nodes[0].inputs, (Names{"x"}));
    EXPECT_EQ(model.graph.nodes[0].outputs, (Names{"y"}));
    EXPECT_NO_THROW(check_model(model, "chain"));
}

TEST(RemoveNoops, DropoutWithAnUnreadMaskIsRemoved) {
    Model model =
        model_with(13, {make_node("Dropout", {"x"}, {"d", "mask"}), make_node("Relu", {"d"}, {"y"})}, {"y"}, kDims);
    model.graph.value_info = {{"mask", DataType::Bool, std::nullopt, {}}};
    EXPECT_EQ(run_pass("remove_noops", model), 1);
    EXPECT_EQ(op_types(model), (Ops{"Relu"}));
    EXPECT_EQ(model.graph.nodes[0].inputs, (Names{"x"}));
    EXPECT_TRUE(model.graph.value_info.empty());
    EXPECT_NO_THROW(check_model(model, "dropout"));
}

TEST(RemoveNoops, DropoutWhoseMaskIsReadStays) {
    Model model =
        model_with(13, {make_node("Dropout", {"x"}, {"d", "mask"}), make_node("Relu", {"d"}, {"y"})}, {"y"}, kDims);
    model.graph.outputs.push_back({"mask", DataType::Bool, std::nullopt, {}});
    EXPECT_EQ(run_pass("remove_noops", model), 0);
    EXPECT_EQ(op_types(model), (Ops{"Dropout", "Relu"}));
}

TEST(RemoveNoops, DropoutStaysOnlyWhenTrainingModeMayBeOn) {
    for (bool training : {false, true}) {
        Model model = model_with(13, {make_node("Dropout", {"x", "ratio", "training"}, {"d"}),
                                      make_node("Relu", {"d"}, {"y"})},
                                 {"y"}, kDims);
        model.graph.initializers["ratio"] = Tensor::scalar(0.5f);
        Tensor flag(DataType::Bool, {});
        flag.data<bool>()[0] = training;
        model.graph.initializers["training"] = flag;
        EXPECT_EQ(run_pass("remove_noops", model), training ? 0 : 1) << "training_mode=" << training;
    }
    Model runtime_flag = model_with(13, {make_node("Dropout", {"x", "", "flag"}, {"y"})}, {"y"}, kDims);
    runtime_flag.graph.inputs.push_back({"flag", DataType::Bool, std::vector<Dim>{}, {}});
    EXPECT_EQ(run_pass("remove_noops", runtime_flag), 0);
}

TEST(RemoveNoops, ZeroPadFromAnInitializerIsRemoved) {
    Model model =
        model_with(13, {make_node("Pad", {"x", "pads"}, {"p"}), make_node("Relu", {"p"}, {"y"})}, {"y"}, kDims);
    model.graph.initializers["pads"] = Tensor(DataType::Int64, {8});
    EXPECT_EQ(run_pass("remove_noops", model), 1);
    EXPECT_EQ(op_types(model), (Ops{"Relu"}));
    EXPECT_EQ(model.graph.nodes[0].inputs, (Names{"x"}));
    EXPECT_NO_THROW(check_model(model, "pad13"));
}

TEST(RemoveNoops, ZeroPadFromAnAttributeIsRemovedBeforeOpset11) {
    Node pad = make_node("Pad", {"x"}, {"p"});
    pad.attributes["pads"] = std::vector<int64_t>(8, 0);
    Model model = model_with(10, {pad, make_node("Relu", {"p"}, {"y"})}, {"y"}, kDims);
    EXPECT_EQ(run_pass("remove_noops", model), 1);
    EXPECT_EQ(op_types(model), (Ops{"Relu"}));
    EXPECT_NO_THROW(check_model(model, "pad10"));
}

TEST(RemoveNoops, PadThatPadsStays) {
    Model model = model_with(13, {make_node("Pad", {"x", "pads"}, {"y"})}, {"y"}, kDims);
    model.graph.outputs[0].shape = std::vector<Dim>{{1, {}}, {2, {}}, {5, {}}, {5, {}}};
    model.graph.initializers["pads"] =
        Tensor::from_values<int64_t>({8}, std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
    EXPECT_EQ(run_pass("remove_noops", model), 0);

    Node old_pad = make_node("Pad", {"x"}, {"y"});
    old_pad.attributes["pads"] = std::vector<int64_t>{0, 0, 0, 1, 0, 0, 0, 0};
    Model old_model = model_with(10, {old_pad}, {"y"}, kDims);
    EXPECT_EQ(run_pass("remove_noops", old_model), 0);
}

TEST(RemoveNoops, PadWithComputedPadsStays) {
    Model model = model_with(13, {make_node("Pad", {"x", "pads"}, {"y"})}, {"y"}, kDims);
    model.graph.inputs.push_back({"pads", DataType::Int64, std::vector<Dim>{{8, {}}}, {}});
    EXPECT_EQ(run_pass("remove_noops", model), 0);
}

Model reshape_model(std::vector<Dim> input_dims, std::vector<int64_t> target, int64_t allow_zero = 0) {
    Model model = model_with(14, {}, {"y"}, kDims);
    model.graph.inputs = {{"x", DataType::Float, input_dims, {}}};
    model.graph.outputs = {{"y", DataType::Float, std::nullopt, {}}};
    model.graph.initializers["shape"] =
        Tensor::from_values<int64_t>({static_cast<int64_t>(target.size())}, target);
    Node reshape = make_node("Reshape", {"s", "shape"}, {"r"});
    if (allow_zero) reshape.attributes["allowzero"] = allow_zero;
    model.graph.nodes = {make_node("Sigmoid", {"x"}, {"s"}), reshape, make_node("Relu", {"r"}, {"y"})};
    return model;
}

TEST(RemoveNoops, ReshapeToTheSameShapeGoesEvenWithASymbolicBatch) {
    Model model = reshape_model({{{}, "batch"}, {8, {}}, {1, {}}, {1, {}}}, {-1, 8, 1, 1});
    EXPECT_EQ(run_pass("remove_noops", model), 1);
    EXPECT_EQ(op_types(model), (Ops{"Sigmoid", "Relu"}));
    EXPECT_EQ(model.graph.nodes[1].inputs, (Names{"s"}));

    Model copy_dims = reshape_model({{{}, "batch"}, {8, {}}, {2, {}}, {2, {}}}, {0, 8, 0, 2});
    EXPECT_EQ(run_pass("remove_noops", copy_dims), 1);
}

TEST(RemoveNoops, ReshapeThatChangesTheShapeStays) {
    for (Model model : {reshape_model({{1, {}}, {8, {}}, {2, {}}, {2, {}}}, {1, -1}),
                        reshape_model({{1, {}}, {8, {}}, {2, {}}, {2, {}}}, {1, 8, 4, 1}),
                        reshape_model({{{}, "batch"}, {8, {}}, {1, {}}, {1, {}}}, {1, 8, 1, 1}),
                        reshape_model({{2, {}}, {8, {}}, {1, {}}, {1, {}}}, {0, 8, 1, 1}, 1)}) {
        EXPECT_EQ(run_pass("remove_noops", model), 0);
        EXPECT_EQ(op_types(model), (Ops{"Sigmoid", "Reshape", "Relu"}));
    }
}

}  // namespace
}  // namespace mobileone
