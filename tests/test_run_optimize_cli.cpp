// mobileone-run reparameterizes the model in memory before running it (unless --no-optimize), falls back to the graph
// as written when the converter refuses it, and reports how long startup took.
#include <gtest/gtest.h>

#include <algorithm>
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

// Nodes that read the graph input, directly or through other nodes: those the runtime runs and profiles. The others
// (Constants, the head's shape arithmetic) it computes once at plan time.
std::size_t nodes_reading_the_input(const Graph& graph) {
    std::set<std::string> computed;
    for (const ValueInfo& input : graph.inputs) computed.insert(input.name);
    std::size_t count = 0;
    for (const Node& node : graph.nodes) {  // in topological order
        if (std::ranges::none_of(node.inputs, [&](const std::string& name) { return computed.contains(name); }))
            continue;
        computed.insert(node.outputs.begin(), node.outputs.end());
        ++count;
    }
    return count;
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

    // As written, the train graph runs node for node; optimized, mobileone-convert's deploy graph runs instead.
    EXPECT_EQ(as_written["profile"].size(), nodes_reading_the_input(train.graph));
    EXPECT_GT(rows_by_op(as_written["profile"])["BatchNormalization"], 0);
    Model deploy = train;
    convert_model(deploy, {}, "train.onnx");
    EXPECT_EQ(optimized["profile"].size(), nodes_reading_the_input(deploy.graph));
    EXPECT_LT(optimized["profile"].size(), as_written["profile"].size());
    std::map<std::string, int> ops = rows_by_op(optimized["profile"]);
    EXPECT_EQ(ops.count("BatchNormalization"), 0u);
    EXPECT_EQ(ops.count("Add"), 0u);
    EXPECT_EQ(ops["Conv"], ops["Relu"]);

    expect_startup_adds_up(optimized);
    expect_startup_adds_up(as_written);
    EXPECT_GT(optimized["startup_ms"]["optimize"].get<double>(), 0);
    EXPECT_EQ(as_written["startup_ms"]["optimize"].get<double>(), 0);
    EXPECT_GT(optimized["startup_ms"]["plan"].get<double>(), 0);
}

// x [1, 2, 2, 2] -> Pad of the two spatial axes by 1 -> y [1, 2, 4, 4], at opset 18. Opset 18 gave Pad its `axes`
// input, which the runtime supports; the converter checks its result with ONNX 1.12, which knows Pad only up to
// opset 13 and refuses the node. Newer exporters write such models.
Model pad_with_axes() {
    Model model;
    model.opset_imports = {{"", 18}};
    Graph& graph = model.graph;
    graph.name = "pad_with_axes";
    graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{1, {}}, {2, {}}, {2, {}}, {2, {}}}, {}});
    graph.outputs.push_back({"y", DataType::Float, std::vector<Dim>{{1, {}}, {2, {}}, {4, {}}, {4, {}}}, {}});
    graph.initializers["pads"] = Tensor::from_values<int64_t>({4}, std::vector<int64_t>{1, 1, 1, 1});
    graph.initializers["axes"] = Tensor::from_values<int64_t>({2}, std::vector<int64_t>{2, 3});
    graph.nodes.push_back({"pad", "Pad", "", {"x", "pads", "", "axes"}, {"y"}, {}, {}});
    return model;
}

TEST_F(RunOptimizeCli, ModelTheConverterRefusesRunsAsWrittenAfterOneWarning) {
    std::string model = save(pad_with_axes(), "pad.onnx");
    std::string input = (dir_.path() / "x.npy").string();
    save_npy(Tensor::from_values<float>({1, 2, 2, 2}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}), input);
    std::string outputs = (dir_.path() / "outputs").string();
    std::string command = tool_path("mobileone-run") + " " + model + " --input x=" + input + " --json";

    CommandResult result = run_command(command + " --save-outputs " + outputs);
    nlohmann::json document = parse_output(result);
    EXPECT_EQ(document["optimized"], false);
    const std::string prefix = "mobileone-run: warning: " + model + ": cannot optimize (";
    const std::string suffix = "); running the graph as written\n";
    EXPECT_TRUE(result.stderr_text.starts_with(prefix)) << result.stderr_text;
    EXPECT_TRUE(result.stderr_text.ends_with(suffix)) << result.stderr_text;
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1) << result.stderr_text;
    EXPECT_NE(result.stderr_text.find("Pad"), std::string::npos) << result.stderr_text;  // the reason names the node

    std::vector<float> padded(32, 0.0f);
    for (int channel = 0; channel < 2; ++channel)
        for (int row = 0; row < 2; ++row)
            for (int column = 0; column < 2; ++column)
                padded[channel * 16 + (row + 1) * 4 + column + 1] = float(channel * 4 + row * 2 + column + 1);
    EXPECT_EQ(load_npy(dir_.path() / "outputs" / "y.npy"), Tensor::from_values<float>({1, 2, 4, 4}, padded));

    CommandResult as_written = run_command(command + " --no-optimize");
    EXPECT_EQ(parse_output(as_written)["optimized"], false);
    EXPECT_EQ(as_written.stderr_text, "");
}

}  // namespace
}  // namespace mobileone
