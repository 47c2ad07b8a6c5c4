// mobileone-convert --verify: the equivalence gate must stop a conversion that changes the function.
#include <gtest/gtest.h>

#include <filesystem>

#include "compiler/convert.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/temp_dir.h"
#include "support/tiny_models.h"
#include "verify/equivalence_gate.h"

namespace mobileone {
namespace {

// A pass with a bug: it drops every Conv bias, as a broken BN fold would.
class DropConvBiases final : public Pass {
public:
    int run(Model& model, PassLog&) const override {
        int changes = 0;
        for (Node& node : model.graph.nodes)
            if (node.op_type == "Conv" && node.inputs.size() == 3) {
                node.inputs.pop_back();
                ++changes;
            }
        return changes;
    }
};
MOBILEONE_REGISTER_PASS(DropConvBiases, "test_drop_conv_biases", "test only: a wrong rewrite");

ConvertOptions gated(std::vector<std::string> passes) {
    ConvertOptions options;
    options.passes = std::move(passes);
    options.before_write = [](const Model& original, const Model& converted) {
        VerifyOptions verify;
        verify.samples = 3;
        verify.reference_source = "train.onnx";
        require_equivalent(original, converted, verify);
    };
    return options;
}

TEST(ConvertVerify, CorrectConversionIsWritten) {
    TempDir dir;
    save_model(conv_bn_relu(), dir.path() / "train.onnx");
    convert_file(dir.path() / "train.onnx", dir.path() / "deploy.onnx", gated(default_pipeline()));
    EXPECT_EQ(load_model(dir.path() / "deploy.onnx").graph.nodes.size(), 2u);
}

TEST(ConvertVerify, WrongConversionFailsNamingTheOutputAndWritesNothing) {
    TempDir dir;
    save_model(conv_bn_relu(), dir.path() / "train.onnx");
    auto deploy = dir.path() / "deploy.onnx";
    try {
        convert_file(dir.path() / "train.onnx", deploy,
                     gated({"fold_batchnorm", "test_drop_conv_biases", "eliminate_dead_code"}));
        FAIL() << "a conversion that drops biases passed the gate";
    } catch (const Error& error) {
        std::string message = error.what();
        EXPECT_NE(message.find("output 'y'"), std::string::npos) << message;
        EXPECT_NE(message.find("nothing written"), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    EXPECT_FALSE(std::filesystem::exists(deploy));
}

}  // namespace
}  // namespace mobileone
