#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "ir/onnx_io.h"
#include "support/image_files.h"
#include "support/process.h"
#include "support/schema.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

constexpr int64_t kClasses = 1000;
constexpr int64_t kBalloon = 417, kGrannySmith = 948, kGoldfish = 1;

// x [N, 3, 32, 32] -> Conv 1x1 (identity) -> GlobalAveragePool -> Flatten -> Gemm -> logits [N, 1000].
// The Gemm reads the channel means: logit[417] = 4 R, logit[948] = 4 G, logit[1] = 4 B, every other logit 0.
// A solid-colour image therefore scores 4 * its normalized channel values.
Model classifier_model() {
    Model model;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    graph.name = "solid_colour_classifier";
    graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{{}, "N"}, {3, {}}, {32, {}}, {32, {}}}, {}});
    graph.outputs.push_back({"/fc/Gemm_output_0", DataType::Float, std::vector<Dim>{{{}, "N"}, {kClasses, {}}}, {}});
    graph.initializers["identity"] = Tensor::from_values<float>({3, 3, 1, 1}, std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1});
    std::vector<float> weights(kClasses * 3, 0.0f);
    weights[kBalloon * 3 + 0] = 4;
    weights[kGrannySmith * 3 + 1] = 4;
    weights[kGoldfish * 3 + 2] = 4;
    graph.initializers["fc.weight"] = Tensor::from_values<float>({kClasses, 3}, weights);
    graph.initializers["fc.bias"] = Tensor(DataType::Float, {kClasses});
    graph.nodes.push_back({"conv", "Conv", "", {"x", "identity"}, {"c"}, {}, {}});
    graph.nodes.push_back({"pool", "GlobalAveragePool", "", {"c"}, {"p"}, {}, {}});
    graph.nodes.push_back({"flatten", "Flatten", "", {"p"}, {"f"}, {}, {}});
    Node gemm{"fc", "Gemm", "", {"f", "fc.weight", "fc.bias"}, {"/fc/Gemm_output_0"}, {}, {}};
    gemm.attributes["transB"] = int64_t(1);
    graph.nodes.push_back(gemm);
    return model;
}

Image solid(uint8_t r, uint8_t g, uint8_t b) {
    Image image(40, 30);
    for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
        image.pixels[i] = r;
        image.pixels[i + 1] = g;
        image.pixels[i + 2] = b;
    }
    return image;
}

// Softmax probability of the one class scoring `top` when `others` holds the other non-zero logits and the remaining
// classes score 0.
double probability_of(double top, std::vector<double> others) {
    double total = std::exp(top) + double(kClasses - 1 - others.size());
    for (double logit : others) total += std::exp(logit);
    return std::exp(top) / total;
}

// Normalized channel values of 255 and 0: (1 - mean) / std and -mean / std.
constexpr double kRedHigh = (1 - 0.485) / 0.229, kRedLow = -0.485 / 0.229;
constexpr double kGreenHigh = (1 - 0.456) / 0.224, kGreenLow = -0.456 / 0.224;
constexpr double kBlueLow = -0.406 / 0.225;

class RunCli : public testing::Test {
protected:
    void SetUp() override {
        model_ = (dir_.path() / "classifier.onnx").string();
        save_model(classifier_model(), model_);
        red_ = write_image("red.png", encode_png(solid(255, 0, 0)));
        green_ = write_image("green.jpg", encode_jpeg(solid(0, 255, 0)));
    }

    std::string write_image(const std::string& name, const std::string& bytes) {
        std::string path = (dir_.path() / name).string();
        write_file_atomically(path, bytes);
        return path;
    }

    CommandResult run(const std::string& arguments) {
        return run_command(tool_path("mobileone-run") + " " + model_ + " " + arguments);
    }

    nlohmann::json run_json(const std::string& arguments) {
        CommandResult result = run(arguments + " --json");
        EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
        nlohmann::json document = nlohmann::json::parse(result.stdout_text);
        EXPECT_EQ(schema_violation(document, "run-output.schema.json"), "") << document.dump(2);
        return document;
    }

    TempDir dir_;
    std::string model_, red_, green_;
};

TEST_F(RunCli, PrintsTopKWithImagenetLabelsAndSoftmaxProbabilities) {
    CommandResult result = run(red_ + " --top-k 2");
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    // Red: logit[417] = 4 * 2.2489 = 9.00, logit[948] = 4 * -2.0357, logit[1] = 4 * -1.8044, 997 zeros.
    const double balloon = probability_of(4 * kRedHigh, {4 * kGreenLow, 4 * kBlueLow});
    const double zero_logit = balloon / std::exp(4 * kRedHigh);
    EXPECT_EQ(result.stdout_text, fmt::format("{}\n   1.    417  {:.4f}  balloon\n   2.      0  {:.4f}  tench\n", red_,
                                              balloon, zero_logit));
    EXPECT_EQ(result.stderr_text, "");
}

TEST_F(RunCli, JsonResultsFollowTheSchema) {
    nlohmann::json document = run_json(red_ + " " + green_);
    EXPECT_EQ(document["model"], model_);
    ASSERT_EQ(document["results"].size(), 2u);
    const nlohmann::json& red = document["results"][0];
    EXPECT_EQ(red["image"], red_);
    ASSERT_EQ(red["top"].size(), 5u);
    EXPECT_EQ(red["top"][0]["index"], kBalloon);
    EXPECT_EQ(red["top"][0]["label"], "balloon");
    EXPECT_NEAR(red["top"][0]["probability"].get<double>(), probability_of(4 * kRedHigh, {4 * kGreenLow, 4 * kBlueLow}),
                1e-5);
    const nlohmann::json& green = document["results"][1];  // JPEG: within a few levels of pure green
    EXPECT_EQ(green["top"][0]["index"], kGrannySmith);
    EXPECT_EQ(green["top"][0]["label"], "Granny Smith");
    EXPECT_NEAR(green["top"][0]["probability"].get<double>(), probability_of(4 * kGreenHigh, {4 * kRedLow, 4 * kBlueLow}),
                0.02);
    EXPECT_FALSE(document.contains("latency_ms"));
    EXPECT_FALSE(document.contains("profile"));
}

TEST_F(RunCli, CorruptImageIsOneErrorLineAndTheOthersStillRun) {
    std::string jpeg = encode_jpeg(solid(0, 0, 255));
    std::string broken = write_image("broken.jpg", jpeg.substr(0, jpeg.size() - 40));
    CommandResult result = run(broken + " " + red_ + " --top-k 1");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1) << result.stderr_text;
    EXPECT_NE(result.stderr_text.find(broken), std::string::npos) << result.stderr_text;
    EXPECT_NE(result.stdout_text.find(red_ + "\n   1.    417"), std::string::npos) << result.stdout_text;
    EXPECT_EQ(result.stdout_text.find(broken), std::string::npos) << result.stdout_text;

    CommandResult json = run(broken + " " + red_ + " --json");
    EXPECT_EQ(json.exit_code, 1);
    nlohmann::json document = nlohmann::json::parse(json.stdout_text);
    EXPECT_EQ(schema_violation(document, "run-output.schema.json"), "");
    EXPECT_NE(document["results"][0]["error"].get<std::string>().find("broken.jpg"), std::string::npos);
    EXPECT_EQ(document["results"][1]["top"][0]["index"], kBalloon);
}

TEST_F(RunCli, LabelsFileNamesTheClasses) {
    std::string labels = write_image("labels.txt", "zero\none\n");
    CommandResult result = run(red_ + " --top-k 2 --labels " + labels);
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_NE(result.stdout_text.find("417  "), std::string::npos);
    EXPECT_NE(result.stdout_text.find("class 417"), std::string::npos) << result.stdout_text;  // past the file's end
    EXPECT_NE(result.stdout_text.find("zero"), std::string::npos) << result.stdout_text;       // class 0, next best
    EXPECT_EQ(result.stdout_text.find("balloon"), std::string::npos) << result.stdout_text;
}

TEST_F(RunCli, BenchReportsLatencyAndProfileListsEveryNode) {
    nlohmann::json document = run_json(red_ + " --bench 3 --profile");
    ASSERT_TRUE(document.contains("latency_ms"));
    EXPECT_EQ(document["latency_ms"]["runs"], 3);
    EXPECT_LE(document["latency_ms"]["min"].get<double>(), document["latency_ms"]["median"].get<double>());
    std::set<std::string> ops;
    double percent = 0, previous_ms = INFINITY;
    for (const nlohmann::json& row : document["profile"]) {
        ops.insert(row["op"].get<std::string>());
        percent += row["percent"].get<double>();
        EXPECT_LE(row["ms"].get<double>(), previous_ms) << "slowest first";
        previous_ms = row["ms"].get<double>();
    }
    ops.erase("LayoutReorder");  // the planner's NCHW <-> NHWC steps, there when a fast NHWC kernel serves the Conv
    EXPECT_EQ(ops, (std::set<std::string>{"Conv", "GlobalAveragePool", "Flatten", "Gemm"}));
    EXPECT_NEAR(percent, 100, 1e-6);
    // The largest live set: the 3x32x32 input and the Conv's output are both alive while the Conv runs.
    EXPECT_GE(document["peak_activation_bytes"].get<std::size_t>(), 2u * 3 * 32 * 32 * sizeof(float));

    CommandResult text = run(red_ + " --bench 2 --profile");
    ASSERT_EQ(text.exit_code, 0) << text.stderr_text;
    EXPECT_NE(text.stdout_text.find("latency over 2 runs: median "), std::string::npos) << text.stdout_text;
    EXPECT_NE(text.stdout_text.find("[1, 1000]"), std::string::npos) << text.stdout_text;  // the Gemm's output shape
    EXPECT_NE(text.stdout_text.find("total "), std::string::npos) << text.stdout_text;
    EXPECT_NE(text.stdout_text.find("peak activation memory: "), std::string::npos) << text.stdout_text;
}

TEST_F(RunCli, TensorInputsAndSavedOutputs) {
    // Two batch items with constant channels (1, 2, -1) and (0, 0, 3): logits 4x those at 417, 948, 1.
    Tensor x(DataType::Float, {2, 3, 32, 32});
    const float channels[2][3] = {{1, 2, -1}, {0, 0, 3}};
    std::span<float> values = x.data<float>();
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = channels[i / (3 * 1024)][i / 1024 % 3];
    std::string input = (dir_.path() / "x.npy").string();
    save_npy(x, input);
    std::string outputs = (dir_.path() / "outputs").string();

    nlohmann::json document = run_json("--input x=" + input + " --top-k 1 --save-outputs " + outputs);
    ASSERT_EQ(document["results"].size(), 2u);
    EXPECT_EQ(document["results"][0]["image"], "x=" + input + "[0]");
    EXPECT_EQ(document["results"][0]["top"][0]["index"], kGrannySmith);
    EXPECT_EQ(document["results"][1]["top"][0]["index"], kGoldfish);

    Tensor logits = load_npy(dir_.path() / "outputs" / "_fc_Gemm_output_0.npy");
    ASSERT_EQ(logits.dims(), (std::vector<int64_t>{2, kClasses}));
    std::span<const float> saved = logits.data<float>();
    EXPECT_FLOAT_EQ(saved[kBalloon], 4);
    EXPECT_FLOAT_EQ(saved[kGrannySmith], 8);
    EXPECT_FLOAT_EQ(saved[kGoldfish], -4);
    EXPECT_FLOAT_EQ(saved[kClasses + kGoldfish], 12);
    EXPECT_FLOAT_EQ(saved[kClasses + kBalloon], 0);

    std::string pb = (dir_.path() / "x.pb").string();
    write_file_atomically(pb, serialize_tensor(x, "x"));
    EXPECT_EQ(run_json("--input x=" + pb)["results"][1]["top"][0]["index"], kGoldfish);
}

// The only float32 rounding left under --precision f64 is the preprocessed input's (relative 1e-7), so its probability
// is within 1e-6 of the exact one; float32 accumulation over the 32x32 pool costs about ten times that.
TEST_F(RunCli, Float64PrecisionIsCloserToExact) {
    const double exact = probability_of(4 * kRedHigh, {4 * kGreenLow, 4 * kBlueLow});
    nlohmann::json f64 = run_json(red_ + " --precision f64");
    EXPECT_EQ(f64["results"][0]["top"][0]["index"], kBalloon);
    EXPECT_NEAR(f64["results"][0]["top"][0]["probability"].get<double>(), exact, 1e-6);
    EXPECT_NEAR(run_json(red_)["results"][0]["top"][0]["probability"].get<double>(), exact, 1e-5);
}

TEST_F(RunCli, ModelEndingInSoftmaxIsNotNormalizedTwice) {
    Model model = classifier_model();
    model.graph.nodes.push_back({"softmax", "Softmax", "", {"/fc/Gemm_output_0"}, {"probabilities"}, {}, {}});
    model.graph.outputs[0].name = "probabilities";
    std::string path = (dir_.path() / "with_softmax.onnx").string();
    save_model(model, path);
    CommandResult result = run_command(tool_path("mobileone-run") + " " + path + " " + red_ + " --json");
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    nlohmann::json top = nlohmann::json::parse(result.stdout_text)["results"][0]["top"][0];
    EXPECT_EQ(top["index"], kBalloon);
    // The model's float32 Softmax, not ours in double: float rounding only. A second softmax would give 0.0024.
    EXPECT_NEAR(top["probability"].get<double>(), probability_of(4 * kRedHigh, {4 * kGreenLow, 4 * kBlueLow}), 1e-4);
}

void expect_one_line_error(const CommandResult& result, const std::string& named) {
    EXPECT_NE(result.exit_code, 0);
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1) << result.stderr_text;
    EXPECT_NE(result.stderr_text.find(named), std::string::npos) << result.stderr_text;
}

TEST_F(RunCli, MissingFilesAndUnsupportedOpsAreOneLineErrors) {
    expect_one_line_error(run_command(tool_path("mobileone-run") + " " + (dir_.path() / "none.onnx").string() + " " + red_),
                          "none.onnx");
    expect_one_line_error(run((dir_.path() / "none.png").string()), "none.png");

    Model unsupported = classifier_model();
    unsupported.graph.nodes.back().op_type = "Hardmax";
    unsupported.graph.nodes.back().inputs.resize(1);
    unsupported.graph.nodes.back().attributes.clear();
    std::string path = (dir_.path() / "hardmax.onnx").string();
    save_model(unsupported, path);
    expect_one_line_error(run_command(tool_path("mobileone-run") + " " + path + " " + red_), "Hardmax");

    CommandResult usage = run_command(tool_path("mobileone-run"));
    EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace mobileone
