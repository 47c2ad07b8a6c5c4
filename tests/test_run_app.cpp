#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "app/classification.h"
#include "app/model_input.h"
#include "app/model_to_run.h"
#include "app/run_report.h"
#include "io/npy.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "labels/imagenet_labels.h"
#include "support/pass_test_graphs.h"
#include "support/schema.h"
#include "support/temp_dir.h"
#include "support/tiny_models.h"

namespace mobileone {
namespace {

TEST(Softmax, NormalizesExponentials) {
    std::vector<double> logits = {0.0, std::log(3.0)};
    std::vector<double> p = softmax(logits);
    EXPECT_NEAR(p[0], 0.25, 1e-12);
    EXPECT_NEAR(p[1], 0.75, 1e-12);
}

TEST(Softmax, HugeLogitsDoNotOverflow) {
    std::vector<double> logits = {1000.0, 1000.0, 0.0};
    std::vector<double> p = softmax(logits);
    EXPECT_NEAR(p[0], 0.5, 1e-12);
    EXPECT_NEAR(p[1], 0.5, 1e-12);
    EXPECT_EQ(p[2], std::exp(-1000.0) / 2);
}

TEST(TopK, MostProbableFirstTiesToLowerIndex) {
    std::vector<double> p = {0.1, 0.3, 0.2, 0.3, 0.1};
    std::vector<Prediction> top = top_k(p, 3, ClassLabels());
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].index, 1);
    EXPECT_EQ(top[1].index, 3);
    EXPECT_EQ(top[2].index, 2);
    EXPECT_EQ(top[2].label, "class 2");
    EXPECT_DOUBLE_EQ(top[2].probability, 0.2);
    EXPECT_EQ(top_k(p, 10, ClassLabels()).size(), 5u);
}

TEST(TopK, NanRanksLast) {
    std::vector<double> p = {std::numeric_limits<double>::quiet_NaN(), 0.0, 0.5};
    std::vector<Prediction> top = top_k(p, 3, ClassLabels());
    EXPECT_EQ(top[0].index, 2);
    EXPECT_EQ(top[1].index, 1);
    EXPECT_EQ(top[2].index, 0);
}

TEST(ClassLabels, BuiltInImagenetNamesFor1000Classes) {
    ASSERT_EQ(imagenet_labels().size(), 1000u);
    ClassLabels imagenet = ClassLabels::builtin_for(1000);
    EXPECT_EQ(imagenet.name(0), "tench");
    EXPECT_EQ(imagenet.name(1), "goldfish");
    EXPECT_EQ(imagenet.name(281), "tabby");
    EXPECT_EQ(imagenet.name(417), "balloon");
    EXPECT_EQ(imagenet.name(948), "Granny Smith");
    EXPECT_EQ(imagenet.name(999), "toilet tissue");
    EXPECT_EQ(imagenet.name(1000), "class 1000");
    EXPECT_EQ(ClassLabels::builtin_for(10).name(3), "class 3");
}

TEST(ClassLabels, FileHasOneNamePerLine) {
    TempDir dir;
    write_file_atomically(dir.path() / "labels.txt", "cat\r\ndog\n\nbird\n");
    ClassLabels labels = ClassLabels::from_file(dir.path() / "labels.txt");
    EXPECT_EQ(labels.name(0), "cat");
    EXPECT_EQ(labels.name(1), "dog");
    EXPECT_EQ(labels.name(2), "class 2");  // empty line
    EXPECT_EQ(labels.name(3), "bird");
    EXPECT_EQ(labels.name(4), "class 4");
    EXPECT_THROW(ClassLabels::from_file(dir.path() / "missing.txt"), Error);
}

ValueInfo image_value(DataType dtype, std::vector<Dim> dims) { return {"x", dtype, std::move(dims), {}}; }

TEST(ModelInput, CropComesFromTheStaticInputSize) {
    PreprocessOptions fixed = preprocessing_for(image_value(DataType::Float, {{1, {}}, {3, {}}, {256, {}}, {256, {}}}), {});
    EXPECT_EQ(fixed.crop_height, 256);
    EXPECT_EQ(fixed.crop_width, 256);
    EXPECT_EQ(fixed.resize, 293);

    ValueInfo dynamic = image_value(DataType::Float, {{{}, "N"}, {3, {}}, {{}, "H"}, {{}, "W"}});
    PreprocessOptions defaults = preprocessing_for(dynamic, {});
    EXPECT_EQ(defaults.crop_height, 224);
    EXPECT_EQ(defaults.resize, 256);

    PreprocessOverrides overrides;
    overrides.crop = 112;
    overrides.std = std::array<float, 3>{1, 1, 1};
    PreprocessOptions cropped = preprocessing_for(dynamic, overrides);
    EXPECT_EQ(cropped.crop_width, 112);
    EXPECT_EQ(cropped.resize, 128);
    EXPECT_EQ(cropped.std[1], 1.0f);
    EXPECT_EQ(cropped.mean[0], 0.485f);
    overrides.resize = 150;
    EXPECT_EQ(preprocessing_for(dynamic, overrides).resize, 150);
    overrides.resize = 100;
    EXPECT_THROW(preprocessing_for(dynamic, overrides), Error);  // a 112 crop does not fit
}

TEST(ModelInput, ImageInputMustBeAFloatRgbBatchOfOne) {
    Graph graph;
    graph.inputs.push_back(image_value(DataType::Float, {{1, {}}, {3, {}}, {8, {}}, {8, {}}}));
    EXPECT_EQ(&image_input(graph, "m.onnx"), &graph.inputs[0]);

    auto rejects = [](std::vector<ValueInfo> inputs, const std::string& expected) {
        Graph bad;
        bad.inputs = std::move(inputs);
        try {
            image_input(bad, "m.onnx");
            ADD_FAILURE() << "accepted: " << expected;
        } catch (const Error& error) {
            EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
        }
    };
    rejects({image_value(DataType::Float, {{1, {}}, {1, {}}, {8, {}}, {8, {}}})}, "1 channels");
    rejects({image_value(DataType::Int64, {{1, {}}, {3, {}}, {8, {}}, {8, {}}})}, "int64");
    rejects({image_value(DataType::Float, {{4, {}}, {3, {}}, {8, {}}, {8, {}}})}, "batch of 4");
    rejects({image_value(DataType::Float, {{3, {}}, {8, {}}, {8, {}}})}, "rank 3");
    rejects({graph.inputs[0], graph.inputs[0]}, "--input");
}

TEST(ModelInput, NamedInputsNeedNameEqualsFile) {
    TempDir dir;
    Tensor tensor = Tensor::from_values<float>({2}, std::vector<float>{1, 2});
    save_npy(tensor, dir.path() / "a.npy");
    std::string file = (dir.path() / "a.npy").string();
    std::map<std::string, Tensor> inputs = load_named_inputs({"x=" + file});
    EXPECT_EQ(inputs.at("x"), tensor);
    EXPECT_THROW(load_named_inputs({file}), Error);
    EXPECT_THROW(load_named_inputs({"=" + file}), Error);
    EXPECT_THROW(load_named_inputs({"x="}), Error);
    EXPECT_THROW(load_named_inputs({"x=" + file, "x=" + file}), Error);
}

TEST(ModelToRun, OptimizingReparameterizesInMemory) {
    TempDir dir;
    save_model(conv_bn_relu(), dir.path() / "m.onnx");
    ModelToRun loaded = load_model_to_run((dir.path() / "m.onnx").string());
    EXPECT_EQ(pass_test::op_types(loaded.model), (std::vector<std::string>{"Conv", "BatchNormalization", "Relu"}));
    EXPECT_FALSE(loaded.optimized);
    EXPECT_GE(loaded.startup.load_ms, 0);

    optimize_model_to_run(loaded, "m.onnx");
    EXPECT_TRUE(loaded.optimized);
    EXPECT_EQ(loaded.not_optimized_because, "");
    EXPECT_EQ(pass_test::op_types(loaded.model), (std::vector<std::string>{"Conv", "Relu"}));
    EXPECT_GT(loaded.startup.optimize_ms, 0);
}

TEST(ModelToRun, ARefusedModelStaysExactlyAsWritten) {
    // remove_noops drops the Identity before fold_batchnorm refuses the BN's negative variance: the model kept must be
    // the one loaded, not the half-converted one.
    Model model = conv_bn_relu(-1.0f);
    model.graph.nodes.push_back({"identity", "Identity", "", {"y"}, {"z"}, {}, {}});
    model.graph.outputs[0].name = "z";
    ModelToRun loaded{model, false, {}, {}};
    optimize_model_to_run(loaded, "m.onnx");
    EXPECT_FALSE(loaded.optimized);
    EXPECT_EQ(serialize_model(loaded.model), serialize_model(model));
    const std::string& reason = loaded.not_optimized_because;
    EXPECT_TRUE(reason.starts_with("node 'bn' (BatchNormalization): variance + epsilon is -0.99999")) << reason;
    EXPECT_TRUE(reason.ends_with(" for channel 0; it must be positive")) << reason;
}

TEST(Latency, MedianAndMinimumAndEveryRunInOrder) {
    LatencyStats odd = summarize_latencies({5, 1, 3});
    EXPECT_EQ(odd.runs, 3u);
    EXPECT_EQ(odd.median_ms, 3);
    EXPECT_EQ(odd.min_ms, 1);
    EXPECT_EQ(odd.runs_ms, (std::vector<double>{5, 1, 3}));
    EXPECT_EQ(summarize_latencies({4, 1, 2, 8}).median_ms, 3);
    EXPECT_THROW(summarize_latencies({}), Error);
}

runtime::NodeProfile node(const std::string& name, const std::string& op, double ms) {
    return {name, op, op + "_reference", {1, 8}, ms};
}

TEST(Profile, AveragedOverRunsSlowestFirst) {
    std::vector<ProfileRow> rows = profile_rows({{node("a", "Conv", 2), node("b", "Relu", 1), node("c", "Gemm", 3)},
                                                 {node("a", "Conv", 4), node("b", "Relu", 1), node("c", "Gemm", 1)}});
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].node, "a");
    EXPECT_DOUBLE_EQ(rows[0].milliseconds, 3);
    EXPECT_DOUBLE_EQ(rows[0].percent, 50);
    EXPECT_EQ(rows[1].node, "c");
    EXPECT_DOUBLE_EQ(rows[1].percent, 100.0 / 3);
    EXPECT_EQ(rows[2].node, "b");

    std::string table = format_profile(rows);
    EXPECT_LT(table.find("Conv"), table.find("Gemm"));
    EXPECT_LT(table.find("Gemm"), table.find("Relu"));
    EXPECT_NE(table.find("[1, 8]"), std::string::npos);
    EXPECT_NE(table.find("50.00"), std::string::npos);
}

TEST(Report, TextListsRankIndexProbabilityLabel) {
    ClassifiedInput input{"cat.png", {{281, "tabby", 0.75}, {282, "tiger cat", 0.125}}, {}};
    EXPECT_EQ(format_predictions(input), "cat.png\n   1.    281  0.7500  tabby\n   2.    282  0.1250  tiger cat\n");
}

TEST(Report, StartupLineComesFirst) {
    RunMeasurements measurements{StartupTimes{12.34, 45.6, 7.8}, LatencyStats{1, 2.0, 2.0, {2.0}}, {}, {}};
    EXPECT_EQ(format_measurements(measurements),
              "startup  load 12.3 ms  optimize 45.6 ms  plan 7.8 ms  total 65.7 ms\n"
              "latency over 1 runs: median 2.000 ms, min 2.000 ms\n");
}

TEST(Report, JsonFollowsTheSchema) {
    std::vector<ClassifiedInput> results = {{"cat.png", {{281, "tabby", 0.75}}, {}},
                                            {"bad.jpg", {}, "bad.jpg: corrupt JPEG (Premature end of JPEG file)"}};
    nlohmann::json document = run_output_json(
        "m.onnx", true, results,
        RunMeasurements{StartupTimes{1.0, 2.5, 0.5}, LatencyStats{3, 2.0, 1.5, {2.0, 1.5, 2.5}},
                        profile_rows({{node("a", "Conv", 2)}}), 4096});
    EXPECT_EQ(schema_violation(document, "run-output.schema.json"), "");
    EXPECT_EQ(document["optimized"], true);
    EXPECT_EQ(document["results"][0]["top"][0]["label"], "tabby");
    EXPECT_EQ(document["results"][1]["error"], results[1].error);
    EXPECT_EQ(document["startup_ms"],
              nlohmann::json({{"load", 1.0}, {"optimize", 2.5}, {"plan", 0.5}, {"total", 4.0}}));
    EXPECT_EQ(document["latency_ms"]["median"], 2.0);
    EXPECT_EQ(document["latency_ms"]["runs_ms"], nlohmann::json({2.0, 1.5, 2.5}));
    EXPECT_EQ(document["peak_activation_bytes"], 4096);

    nlohmann::json plain = run_output_json("m.onnx", false, results, {});
    EXPECT_EQ(schema_violation(plain, "run-output.schema.json"), "");
    EXPECT_EQ(plain["optimized"], false);
    EXPECT_FALSE(plain.contains("startup_ms"));
    plain.erase("optimized");
    EXPECT_NE(schema_violation(plain, "run-output.schema.json"), "") << "optimized is always there";

    document["results"][0]["top"][0]["probability"] = 1.5;
    EXPECT_NE(schema_violation(document, "run-output.schema.json"), "");
    document["results"][0].erase("top");
    EXPECT_NE(schema_violation(document, "run-output.schema.json"), "") << "neither top nor error";
}

}  // namespace
}  // namespace mobileone
