// mobileone-convert as a user drives it: summary, report, refusals and one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <algorithm>
#include <fstream>

#include "compiler/pipeline.h"
#include "ir/onnx_io.h"
#include "support/process.h"
#include "support/tiny_models.h"
#include "support/schema.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

namespace fs = std::filesystem;

class ConvertCli : public ::testing::Test {
protected:
    std::string convert(const std::string& arguments) { return tool_path("mobileone-convert") + " " + arguments; }
    fs::path write(const Model& model, const std::string& name) {
        fs::path path = dir.path() / name;
        save_model(model, path);
        return path;
    }
    TempDir dir;
};

TEST_F(ConvertCli, ListsEveryPassOfTheDefaultPipeline) {
    CommandResult result = run_command(convert("--list-passes"));
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    for (const std::string& pass : default_pipeline())
        EXPECT_NE(result.stdout_text.find(pass), std::string::npos) << pass << " missing from --list-passes";
}

TEST_F(ConvertCli, ConvertsPrintsSummaryAndWritesAReportMatchingItsSchema) {
    fs::path train = write(conv_bn_relu(), "train.onnx");
    fs::path deploy = dir.path() / "deploy.onnx";
    fs::path report = dir.path() / "report.json";
    CommandResult result = run_command(convert(train.string() + " " + deploy.string() + " --report " + report.string()));
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_NE(result.stdout_text.find("BatchNormalization"), std::string::npos) << result.stdout_text;
    EXPECT_NE(result.stdout_text.find("fold_batchnorm"), std::string::npos) << result.stdout_text;

    Model converted = load_model(deploy);
    ASSERT_EQ(converted.graph.nodes.size(), 2u);
    EXPECT_EQ(converted.graph.nodes[0].op_type, "Conv");
    EXPECT_EQ(converted.graph.nodes[1].op_type, "Relu");

    nlohmann::json json = nlohmann::json::parse(std::ifstream(report));
    EXPECT_EQ(schema_violation(json, "convert-report.schema.json"), "");
    EXPECT_EQ(json["before"]["nodes"], 3);
    EXPECT_EQ(json["after"]["nodes"], 2);
    EXPECT_EQ(json["after"]["parameters"], 2 * 2 * 3 * 3 + 2) << "folded weights plus the new bias";
}

TEST_F(ConvertCli, QuietPrintsNothingAndRepeatedRunsAreByteIdentical) {
    fs::path train = write(conv_bn_relu(), "train.onnx");
    fs::path a = dir.path() / "a.onnx", b = dir.path() / "b.onnx";
    CommandResult first = run_command(convert(train.string() + " " + a.string() + " -q"));
    ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
    EXPECT_EQ(first.stdout_text, "");
    ASSERT_EQ(run_command(convert(train.string() + " " + b.string() + " -q")).exit_code, 0);
    EXPECT_EQ(read_file(a), read_file(b));
}

TEST_F(ConvertCli, RefusesToOverwriteItsInput) {
    fs::path train = write(conv_bn_relu(), "train.onnx");
    std::string before = read_file(train);
    CommandResult result = run_command(convert(train.string() + " " + (dir.path() / "." / "train.onnx").string()));
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.stderr_text.find("overwrite"), std::string::npos) << result.stderr_text;
    EXPECT_EQ(read_file(train), before);
}


TEST_F(ConvertCli, BadInputGivesOneLineErrorAndNoOutputFile) {
    std::string bytes = serialize_model(conv_bn_relu());
    fs::path truncated = dir.path() / "truncated.onnx";
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    fs::path garbage = dir.path() / "garbage.onnx";
    std::ofstream(garbage) << "this is not a model";
    fs::path bad_variance = write(conv_bn_relu(-2.0f), "bad_variance.onnx");
    fs::path good = write(conv_bn_relu(), "good.onnx");
    fs::path out = dir.path() / "out.onnx";

    struct Case {
        std::string arguments;
        std::string expected_in_error;
    };
    std::vector<Case> cases = {
        {truncated.string() + " " + out.string(), "truncated.onnx"},
        {garbage.string() + " " + out.string(), "garbage.onnx"},
        {(dir.path() / "missing.onnx").string() + " " + out.string(), "missing.onnx"},
        {bad_variance.string() + " " + out.string(), "'bn'"},
        {good.string() + " " + (dir.path() / "no" / "such" / "dir.onnx").string(), "dir.onnx"},
        {good.string() + " " + out.string() + " --passes fold_batchnorm,no_such_pass", "no_such_pass"},
        {good.string() + " " + out.string() + " --report " + (dir.path() / "nodir" / "r.json").string(), "r.json"},
    };
    for (const Case& c : cases) {
        CommandResult result = run_command(convert(c.arguments));
        EXPECT_NE(result.exit_code, 0) << c.arguments;
        EXPECT_NE(result.stderr_text.find(c.expected_in_error), std::string::npos) << c.arguments << ": " << result.stderr_text;
        EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1) << result.stderr_text;
        EXPECT_FALSE(fs::exists(out)) << c.arguments;
    }
}

TEST_F(ConvertCli, VerifyChecksEquivalenceBeforeWriting) {
    fs::path train = write(conv_bn_relu(), "train.onnx");
    fs::path out = dir.path() / "out.onnx";
    CommandResult result = run_command(convert(train.string() + " " + out.string() + " --verify --verify-samples 3"));
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_NE(result.stdout_text.find("3 random inputs"), std::string::npos) << result.stdout_text;
    EXPECT_NE(result.stdout_text.find("EQUIVALENT"), std::string::npos) << result.stdout_text;
    EXPECT_TRUE(fs::exists(out));
}

TEST_F(ConvertCli, ChosenPassesRunAlone) {
    fs::path train = write(conv_bn_relu(), "train.onnx");
    fs::path out = dir.path() / "out.onnx";
    CommandResult result = run_command(convert(train.string() + " " + out.string() + " --passes eliminate_dead_code"));
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
    EXPECT_EQ(load_model(out).graph.nodes.size(), 3u) << "BatchNormalization must survive without fold_batchnorm";
}

}  // namespace
}  // namespace mobileone
