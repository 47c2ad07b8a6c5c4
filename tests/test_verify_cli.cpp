#include <gtest/gtest.h>

#include <fstream>

#include "compiler/convert.h"
#include "ir/onnx_io.h"
#include "models/mobileone.h"
#include "support/image_files.h"
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
    CommandResult verify(const std::string& arguments, int samples = 4) const {
        return run_command(tool_path("mobileone-verify") + " --threads 1 --samples " + std::to_string(samples) + " " +
                           arguments);
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

void expect_stdout_has(const CommandResult& result, std::initializer_list<const char*> fragments) {
    for (const char* fragment : fragments)
        EXPECT_NE(result.stdout_text.find(fragment), std::string::npos)
            << "no '" << fragment << "' in\n" << result.stdout_text;
}

TEST_F(VerifyCli, EquivalentModelsExitZeroWithATable) {
    CommandResult result = verify(path("train.onnx") + " " + path("deploy.onnx"));
    EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
    expect_stdout_has(result, {"EQUIVALENT", "pass"});
    EXPECT_EQ(result.stdout_text.find("NOT EQUIVALENT"), std::string::npos) << result.stdout_text;
}

TEST_F(VerifyCli, PerturbedModelExitsOneNamingTheOutput) {
    CommandResult result = verify(path("train.onnx") + " " + path("perturbed.onnx") + " --layerwise");
    EXPECT_EQ(result.exit_code, 1) << result.stdout_text << result.stderr_text;
    expect_stdout_has(result, {"NOT EQUIVALENT", "output 'y': max abs diff", "first divergence: 'sum'"});
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
    EXPECT_EQ(verify(path("train.onnx") + " " + path("deploy.onnx"), 0).exit_code, 2);  // nothing to compare
    EXPECT_EQ(run_command(tool_path("mobileone-verify") + " --help").exit_code, 0);
}

TEST_F(VerifyCli, LooserToleranceAcceptsThePerturbation) {
    // Class 3's output moves by 1e-2 * |x|; with rtol 0.1 the bound is 10% of max|y| (several units).
    CommandResult result = verify(path("train.onnx") + " " + path("perturbed.onnx") + " --rtol 0.1");
    EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
}

// Images run through mobileone-run's preprocessing, sized for the model's input: here S0 shrunk to 64 x 64 (no
// squeeze-excitation, so nothing else depends on the resolution).
class VerifyCliImages : public VerifyCli {
protected:
    VerifyCliImages() {
        Model train = build_mobileone(MobileOneVariant::S0, ExportStyle::Prefused, 11);
        std::vector<Dim>& dims = *train.graph.inputs[0].shape;
        dims[2] = dims[3] = Dim{64, {}};
        save_model(train, path("s0_train.onnx"));
        convert_model(train, {}, "s0_train.onnx");
        save_model(train, path("s0_deploy.onnx"));
        std::filesystem::create_directories(path("images/nested"));
        write(path("images/b.png"), encode_png(gradient(90, 70)));
        write(path("images/nested/a.JPG"), encode_jpeg(gradient(64, 100)));
        write(path("images/notes.txt"), "not an image");
    }
    static Image gradient(int width, int height) {
        Image image(width, height);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                uint8_t* pixel = image.pixel(x, y);
                pixel[0] = static_cast<uint8_t>(255 * x / width);
                pixel[1] = static_cast<uint8_t>(255 * y / height);
                pixel[2] = static_cast<uint8_t>((x * y) % 256);
            }
        return image;
    }
    static void write(const std::string& file, const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; }
    std::string models() const { return path("s0_train.onnx") + " " + path("s0_deploy.onnx"); }
};

TEST_F(VerifyCliImages, DirectoriesContributeEveryImageInPathOrder) {
    CommandResult result = verify(models() + " --json --images " + path("images"), 1);
    ASSERT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
    nlohmann::json report = parse(result);
    EXPECT_EQ(schema_violation(report, "verify-report.schema.json"), "");
    EXPECT_EQ(report["settings"]["images"],
              (nlohmann::json{path("images/b.png"), path("images/nested/a.JPG")}));  // "b.png" < "nested/..."
    EXPECT_EQ(report["outputs"][0]["samples"], 3);
    EXPECT_EQ(report["outputs"][0]["classes"]["top1_agreement"], 1.0);
}

TEST_F(VerifyCliImages, ImagesAloneAreEnough) {
    CommandResult result = verify(models() + " --images " + path("images/b.png"), 0);
    EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
    expect_stdout_has(result, {"0 random inputs (seed 0), 1 image;"});
}

TEST_F(VerifyCliImages, UnreadableImagesExitTwoNamingTheFile) {
    write(path("broken.png"), encode_png(gradient(8, 8)).substr(0, 40));
    std::filesystem::create_directories(path("empty"));
    for (const std::string& bad : {path("broken.png"), path("empty"), path("absent.jpg")}) {
        CommandResult result = verify(models() + " --images " + bad);
        EXPECT_EQ(result.exit_code, 2) << bad << "\n" << result.stdout_text;
        EXPECT_NE(result.stderr_text.find(bad), std::string::npos) << result.stderr_text;
    }
}

}  // namespace
}  // namespace mobileone
