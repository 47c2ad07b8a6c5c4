// mobileone-run reparameterizes the model in memory before running it (unless --no-optimize), falls back to the graph
// as written when the converter refuses it, and reports how long startup took.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "compiler/convert.h"
#include "io/npy.h"
#include "ir/onnx_io.h"
#include "models/mobileone.h"
#include "support/process.h"
#include "support/schema.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

nlohmann::json parse_output(const CommandResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    nlohmann::json document = nlohmann::json::parse(result.stdout_text);
    EXPECT_EQ(schema_violation(document, "run-output.schema.json"), "") << document.dump(2);
    return document;
}

std::map<std::string, int> rows_by_op(const nlohmann::json& profile) {
    std::map<std::string, int> counts;
    for (const nlohmann::json& row : profile) ++counts[row["op"].get<std::string>()];
    return counts;
}

int count_nodes(const Graph& graph, const std::string& op_type) {
    return static_cast<int>(std::ranges::count(graph.nodes, op_type, &Node::op_type));
}

void expect_startup_adds_up(const nlohmann::json& document) {
    ASSERT_TRUE(document.contains("startup_ms")) << document.dump(2);
    const nlohmann::json& startup = document["startup_ms"];
    for (const char* part : {"load", "optimize", "plan"}) EXPECT_GE(startup[part].get<double>(), 0) << part;
    EXPECT_NEAR(startup["total"].get<double>(),
                startup["load"].get<double>() + startup["optimize"].get<double>() + startup["plan"].get<double>(),
                1e-9);
}

class RunOptimizeCli : public testing::Test {
protected:
    std::string save(const Model& model, const std::string& name) {
        std::string path = (dir_.path() / name).string();
        save_model(model, path);
        return path;
    }

    TempDir dir_;
};

// MobileOne S0 as exported for training: every block's Conv+BN branches, 1x1 Conv+BN scale branch and (where the
// shapes allow) BN skip, summed by Adds.
TEST_F(RunOptimizeCli, TrainGraphRunsReparameterizedWithTheSamePredictions) {
    Model train = build_mobileone(MobileOneVariant::S0, ExportStyle::BatchNorm, 7);
    std::string model = save(train, "train.onnx");
    std::string command = tool_path("mobileone-run") + " " + model + " " + MOBILEONE_SOURCE_DIR +
                          "/examples/pattern.jpg --profile --json --threads 2";
    nlohmann::json optimized = parse_output(run_command(command));
    nlohmann::json as_written = parse_output(run_command(command + " --no-optimize"));

    EXPECT_EQ(optimized["optimized"], true);
    EXPECT_EQ(as_written["optimized"], false);
    const nlohmann::json& fast = optimized["results"][0]["top"];
    const nlohmann::json& reference = as_written["results"][0]["top"];
    ASSERT_EQ(fast.size(), 5u);
    ASSERT_EQ(reference.size(), 5u);
    for (std::size_t rank = 0; rank < 5; ++rank) {
        EXPECT_EQ(fast[rank]["index"], reference[rank]["index"]) << "rank " << rank;
        double expected = reference[rank]["probability"];
        EXPECT_NEAR(fast[rank]["probability"].get<double>(), expected, 1e-4 * expected) << "rank " << rank;
    }

    // As written, the train graph runs node for node (a Relu may be fused into the kernel before it, layout
    // conversions may be added); optimized, mobileone-convert's deploy graph runs instead.
    std::map<std::string, int> written_ops = rows_by_op(as_written["profile"]);
    EXPECT_EQ(written_ops["Conv"], count_nodes(train.graph, "Conv"));
    EXPECT_EQ(written_ops["BatchNormalization"], count_nodes(train.graph, "BatchNormalization"));
    EXPECT_EQ(written_ops["Add"], count_nodes(train.graph, "Add"));
    Model deploy = train;
    convert_model(deploy, {}, "train.onnx");
    std::map<std::string, int> ops = rows_by_op(optimized["profile"]);
    EXPECT_EQ(ops["Conv"], count_nodes(deploy.graph, "Conv"));
    EXPECT_EQ(ops["Gemm"], 1);
    EXPECT_EQ(ops.count("BatchNormalization"), 0u);
    EXPECT_EQ(ops.count("Add"), 0u);
    EXPECT_LE(ops["Relu"], count_nodes(deploy.graph, "Relu"));  // fused into the Convs by the fast kernels

    expect_startup_adds_up(optimized);
    expect_startup_adds_up(as_written);
    EXPECT_GT(optimized["startup_ms"]["optimize"].get<double>(), 0);
    EXPECT_EQ(as_written["startup_ms"]["optimize"].get<double>(), 0);
    EXPECT_GT(optimized["startup_ms"]["plan"].get<double>(), 0);
}

// x [1, 2, 1, 2] -> Conv (identity) -> BatchNormalization -> y, where channel 1's variance is negative. The converter
// refuses to fold a BatchNormalization whose variance + epsilon is not positive; the runtime computes it as written
// (NaN for that channel), which is what the user asked for.
Model batchnorm_with_negative_variance() {
    Model model;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    graph.name = "negative_variance";
    graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{1, {}}, {2, {}}, {1, {}}, {2, {}}}, {}});
    graph.outputs.push_back({"y", DataType::Float, std::vector<Dim>{{1, {}}, {2, {}}, {1, {}}, {2, {}}}, {}});
    graph.initializers["scale"] = Tensor::from_values<float>({2}, std::vector<float>{2, 1});
    graph.initializers["bias"] = Tensor::from_values<float>({2}, std::vector<float>{1, 0});
    graph.initializers["mean"] = Tensor::from_values<float>({2}, std::vector<float>{0, 0});
    graph.initializers["var"] = Tensor::from_values<float>({2}, std::vector<float>{1, -4});
    graph.initializers["identity"] = Tensor::from_values<float>({2, 2, 1, 1}, std::vector<float>{1, 0, 0, 1});
    graph.nodes.push_back({"conv", "Conv", "", {"x", "identity"}, {"features"}, {}, {}});
    graph.nodes.push_back({"bn", "BatchNormalization", "", {"features", "scale", "bias", "mean", "var"}, {"y"}, {}, {}});
    return model;
}

TEST_F(RunOptimizeCli, ModelTheConverterRefusesRunsAsWrittenAfterOneWarning) {
    std::string model = save(batchnorm_with_negative_variance(), "bn.onnx");
    std::string input = (dir_.path() / "x.npy").string();
    save_npy(Tensor::from_values<float>({1, 2, 1, 2}, std::vector<float>{1, 2, 3, 4}), input);
    std::string outputs = (dir_.path() / "outputs").string();
    // Text output: the NaN logits have no JSON number.
    std::string command = tool_path("mobileone-run") + " " + model + " --input x=" + input;

    CommandResult result = run_command(command + " --save-outputs " + outputs);
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    const std::string prefix = "mobileone-run: warning: " + model + ": cannot optimize (";
    const std::string suffix = "); running the graph as written\n";
    EXPECT_TRUE(result.stderr_text.starts_with(prefix)) << result.stderr_text;
    EXPECT_TRUE(result.stderr_text.ends_with(suffix)) << result.stderr_text;
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1) << result.stderr_text;
    EXPECT_NE(result.stderr_text.find("'bn'"), std::string::npos) << result.stderr_text;  // the reason names the node

    // Channel 0 is 2 * x / sqrt(1 + 1e-5) + 1; channel 1 has no real square root.
    Tensor saved = load_npy(dir_.path() / "outputs" / "y.npy");
    std::span<const float> y = saved.data<float>();
    ASSERT_EQ(y.size(), 4u);
    EXPECT_NEAR(y[0], 2 * 1 / std::sqrt(1 + 1e-5) + 1, 1e-5);
    EXPECT_NEAR(y[1], 2 * 2 / std::sqrt(1 + 1e-5) + 1, 1e-5);
    EXPECT_TRUE(std::isnan(y[2]) && std::isnan(y[3]));

    CommandResult as_written = run_command(command + " --no-optimize");
    EXPECT_EQ(as_written.exit_code, 0);
    EXPECT_EQ(as_written.stderr_text, "");
}

}  // namespace
}  // namespace mobileone
