#include <gtest/gtest.h>

#include <fstream>

#include "ir/onnx_io.h"
#include "support/process.h"
#include "support/schema.h"
#include "support/temp_dir.h"
#include "support/verify_fixtures.h"

namespace mobileone {
namespace {

class VerifyCli : public ::testing::Test {
protected:
    VerifyCli() {
        save_model(affine_reference(), path("train.onnx"));
        save_model(affine_candidate(), path("deploy.onnx"));
        save_model(affine_candidate(1e-2f), path("perturbed.onnx"));
    }
    std::string path(const std::string& name) const { return (dir_.path() / name).string(); }
    CommandResult verify(const std::string& arguments) const {
        return run_command(tool_path("mobileone-verify") + " --threads 1 --samples 4 " + arguments);
    }
    static nlohmann::json parse(const CommandResult& result) {
        try {
            return nlohmann::json::parse(result.stdout_text);
        } catch (const nlohmann::json::exception& error) {
            ADD_FAILURE() << error.what() << "\n" << result.stdout_text;
            return {};
        }
    }

    TempDir dir_;
};

TEST_F(VerifyCli, EquivalentModelsExitZeroWithATable) {
    CommandResult result = verify(path("train.onnx") + " " + path("deploy.onnx"));
    EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
    EXPECT_NE(result.stdout_text.find("EQUIVALENT"), std::string::npos) << result.stdout_text;
    EXPECT_NE(result.stdout_text.find("pass"), std::string::npos) << result.stdout_text;
    EXPECT_EQ(result.stdout_text.find("NOT EQUIVALENT"), std::string::npos) << result.stdout_text;
}

TEST_F(VerifyCli, PerturbedModelExitsOneNamingTheOutput) {
    CommandResult result = verify(path("train.onnx") + " " + path("perturbed.onnx") + " --layerwise");
    EXPECT_EQ(result.exit_code, 1) << result.stdout_text << result.stderr_text;
    EXPECT_NE(result.stdout_text.find("NOT EQUIVALENT"), std::string::npos) << result.stdout_text;
    EXPECT_NE(result.stdout_text.find("output 'y': max abs diff"), std::string::npos) << result.stdout_text;
    EXPECT_NE(result.stdout_text.find("first divergence: 'sum'"), std::string::npos) << result.stdout_text;
}

TEST_F(VerifyCli, JsonReportsMatchTheSchema) {
    CommandResult pass = verify(path("train.onnx") + " " + path("deploy.onnx") + " --json --precision f64 --layerwise");
    EXPECT_EQ(pass.exit_code, 0) << pass.stderr_text;
    nlohmann::json report = parse(pass);
    EXPECT_EQ(schema_violation(report, "verify-report.schema.json"), "");
    EXPECT_EQ(report["equivalent"], true);
    EXPECT_EQ(report["settings"]["precision"], "f64");
    EXPECT_EQ(report["float64"]["candidate"][0]["name"], "y");
    EXPECT_EQ(report["layerwise"]["first_divergence"], nullptr);

    CommandResult fail = verify(path("train.onnx") + " " + path("perturbed.onnx") + " --json --layerwise --seed 5");
    EXPECT_EQ(fail.exit_code, 1) << fail.stderr_text;
    nlohmann::json failed = parse(fail);
    EXPECT_EQ(schema_violation(failed, "verify-report.schema.json"), "");
    EXPECT_EQ(failed["equivalent"], false);
    EXPECT_EQ(failed["settings"]["seed"], 5);
    EXPECT_EQ(failed["outputs"][0]["pass"], false);
    EXPECT_EQ(failed["outputs"][0]["worst_element"], 3);
    EXPECT_EQ(failed["layerwise"]["tensors"][failed["layerwise"]["first_divergence"].get<int>()]["candidate_node"],
              "merged");
}

TEST_F(VerifyCli, BadInputsExitTwoWithOneLine) {
    std::ofstream(path("corrupt.onnx")) << "not a protobuf at all";
    Model renamed = affine_candidate();
    renamed.graph.inputs[0].name = "image";
    renamed.graph.nodes[0].inputs[0] = "image";
    save_model(renamed, path("renamed.onnx"));

    for (const std::string& arguments :
         {path("train.onnx") + " " + path("missing.onnx"), path("train.onnx") + " " + path("corrupt.onnx"),
          path("train.onnx") + " " + path("renamed.onnx")}) {
        CommandResult result = verify(arguments);
        EXPECT_EQ(result.exit_code, 2) << arguments << "\n" << result.stdout_text;
        EXPECT_EQ(result.stdout_text, "") << arguments;
        ASSERT_FALSE(result.stderr_text.empty()) << arguments;
        EXPECT_EQ(result.stderr_text.find('\n'), result.stderr_text.size() - 1) << result.stderr_text;
    }
    EXPECT_NE(verify(path("train.onnx") + " " + path("renamed.onnx")).stderr_text.find("'image'"), std::string::npos);
}

TEST_F(VerifyCli, UsageErrorsExitTwo) {
    EXPECT_EQ(verify(path("train.onnx")).exit_code, 2);
    EXPECT_EQ(verify(path("train.onnx") + " " + path("deploy.onnx") + " --precision f16").exit_code, 2);
    EXPECT_EQ(verify(path("train.onnx") + " " + path("deploy.onnx") + " --rtol -1").exit_code, 2);
    EXPECT_EQ(verify(path("train.onnx") + " " + path("deploy.onnx") + " --samples 0").exit_code, 2);
    EXPECT_EQ(run_command(tool_path("mobileone-verify") + " --help").exit_code, 0);
}

TEST_F(VerifyCli, LooserToleranceAcceptsThePerturbation) {
    // Class 3's output moves by 1e-2 * |x|; with rtol 0.1 the bound is 10% of max|y| (several units).
    CommandResult result = verify(path("train.onnx") + " " + path("perturbed.onnx") + " --rtol 0.1");
    EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
}

}  // namespace
}  // namespace mobileone
