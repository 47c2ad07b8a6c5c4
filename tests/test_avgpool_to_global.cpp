#include <gtest/gtest.h>

#include "compiler/pipeline.h"
#include "ir/onnx_io.h"
#include "support/pass_test_graphs.h"

namespace mobileone {
namespace {

using namespace pass_test;
using Ints = std::vector<int64_t>;

Node average_pool(const std::string& input, Ints kernel) {
    Node pool{"pool", "AveragePool", "", {input}, {"y"}, {}, {}};
    pool.attributes["kernel_shape"] = kernel;
    pool.attributes["strides"] = kernel;
    return pool;
}

// x -> AveragePool -> y, y's dims left for shape inference
Model pool_model(const std::vector<Dim>& input_dims, Node pool) {
    Model model = model_with(13, {std::move(pool)}, {"y"}, input_dims);
    model.graph.outputs[0].shape = std::vector<Dim>(input_dims.size());
    return model;
}

void expect_global_pool(const Model& model) {
    ASSERT_EQ(model.graph.nodes.size(), 1u);
    const Node& pool = model.graph.nodes[0];
    EXPECT_EQ(pool.op_type, "GlobalAveragePool");
    EXPECT_TRUE(pool.attributes.empty());
    EXPECT_EQ(pool.inputs, std::vector<std::string>{"x"});
    EXPECT_EQ(pool.outputs, std::vector<std::string>{"y"});
    EXPECT_NO_THROW(check_model(model, "global"));
}

TEST(AvgPoolToGlobal, KernelCoveringTheStaticInputBecomesGlobal) {
    Model model = pool_model({symbol("batch"), fixed(3), fixed(7), fixed(5)}, average_pool("x", {7, 5}));
    EXPECT_EQ(run_pass("avgpool_to_global", model), 1);
    expect_global_pool(model);
    EXPECT_EQ(run_pass("avgpool_to_global", model), 0);
}

TEST(AvgPoolToGlobal, CeilModeAndStridesDoNotMatterForASingleWindow) {
    Node pool = average_pool("x", {6, 6});
    pool.attributes["strides"] = Ints{2, 2};
    pool.attributes["ceil_mode"] = int64_t{1};
    pool.attributes["pads"] = Ints{0, 0, 0, 0};
    Model model = pool_model({fixed(1), fixed(3), fixed(6), fixed(6)}, pool);
    EXPECT_EQ(run_pass("avgpool_to_global", model), 1);
    expect_global_pool(model);
}

TEST(AvgPoolToGlobal, UsesInferredShapesOfIntermediateValues) {
    Model model = pool_model({fixed(1), fixed(3), fixed(4), fixed(4)}, average_pool("r", {4, 4}));
    model.graph.nodes.insert(model.graph.nodes.begin(), Node{"relu", "Relu", "", {"x"}, {"r"}, {}, {}});
    EXPECT_EQ(run_pass("avgpool_to_global", model), 1);
    EXPECT_EQ(model.graph.nodes[1].op_type, "GlobalAveragePool");
    EXPECT_NO_THROW(check_model(model, "intermediate"));
}

TEST(AvgPoolToGlobal, KernelSmallerThanTheInputStays) {
    Model model = pool_model({fixed(1), fixed(3), fixed(7), fixed(7)}, average_pool("x", {7, 3}));
    EXPECT_EQ(run_pass("avgpool_to_global", model), 0);
    EXPECT_EQ(model.graph.nodes[0].op_type, "AveragePool");
}

TEST(AvgPoolToGlobal, DynamicSpatialDimsStay) {
    Model model = pool_model({fixed(1), fixed(3), symbol("height"), fixed(7)}, average_pool("x", {7, 7}));
    EXPECT_EQ(run_pass("avgpool_to_global", model), 0);
}

TEST(AvgPoolToGlobal, PaddedPoolStays) {
    // With pads, the 7x7 window slides over a 9x9 padded input: 3x3 outputs, not a global mean.
    Node pool = average_pool("x", {7, 7});
    pool.attributes["strides"] = Ints{1, 1};
    pool.attributes["pads"] = Ints{1, 1, 1, 1};
    Model model = pool_model({fixed(1), fixed(3), fixed(7), fixed(7)}, pool);
    EXPECT_EQ(run_pass("avgpool_to_global", model), 0);
}

TEST(AvgPoolToGlobal, SameAutoPadStays) {
    Node pool = average_pool("x", {7, 7});
    pool.attributes["strides"] = Ints{1, 1};
    pool.attributes["auto_pad"] = std::string("SAME_UPPER");
    Model model = pool_model({fixed(1), fixed(3), fixed(7), fixed(7)}, pool);
    EXPECT_EQ(run_pass("avgpool_to_global", model), 0);
}

TEST(AvgPoolToGlobal, PyTorchSqueezeExciteZeroPadAndPoolBecomeOneGlobalPool) {
    // torch avg_pool2d(x, kernel_size=[h, w]) at opset 13: Pad(x, zeros) -> AveragePool(kernel=[h, w]).
    Model model = pool_model({symbol("batch"), fixed(8), fixed(7), fixed(7)}, average_pool("padded", {7, 7}));
    model.graph.initializers["pads"] = Tensor(DataType::Int64, {8});
    Node pad{"pad", "Pad", "", {"x", "pads"}, {"padded"}, {{"mode", std::string("constant")}}, {}};
    model.graph.nodes.insert(model.graph.nodes.begin(), pad);
    run_pipeline(model, {"remove_noops", "avgpool_to_global", "eliminate_dead_code"});
    expect_global_pool(model);
    EXPECT_TRUE(model.graph.initializers.empty());
}

}  // namespace
}  // namespace mobileone
