// The default pipeline on every MobileOne variant, export style and opset the builder reproduces: one Conv + Relu per
// block, nothing of the train-time branches left, and a graph ONNX's full check accepts.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "compiler/convert.h"
#include "models/mobileone.h"

namespace mobileone {
namespace {

// Architecture facts (Apple's MobileOne): a stem block plus stages of 2, 8, 10 and 1 MobileOne blocks, each a
// depthwise 3x3 block followed by a pointwise 1x1 block: 1 + 2 * 21 = 43 blocks in every variant. S4 adds
// squeeze-excite to the last 5 blocks of stage 3 and the block of stage 4, both halves: 12 SE units, each with two
// 1x1 Convs, a Relu, a Sigmoid, a global pool and a Mul.
constexpr int kBlocks = 43;

int se_units(MobileOneVariant variant) { return variant == MobileOneVariant::S4 ? 12 : 0; }

using Case = std::tuple<MobileOneVariant, ExportStyle, int>;

class ConvertMobileOne : public ::testing::TestWithParam<Case> {};

TEST_P(ConvertMobileOne, EveryBlockBecomesOneConvAndRelu) {
    auto [variant, style, opset] = GetParam();
    Model model = build_mobileone(variant, style, 3, opset);
    ConvertReport report = convert_model(model, ConvertOptions{}, "train.onnx");  // runs the ONNX full check

    int se = se_units(variant);
    std::map<std::string, int> expected = {
        {"Conv", kBlocks + 2 * se}, {"Relu", kBlocks + se}, {"Sigmoid", se}, {"Mul", se},
        {"GlobalAveragePool", 1 + se}, {"Gemm", 1}, {"Reshape", 1},
    };
    std::erase_if(expected, [](const auto& entry) { return entry.second == 0; });
    EXPECT_EQ(report.after.nodes_by_op, expected);
    EXPECT_LT(report.after.parameters, report.before.parameters);
    EXPECT_LT(report.after.macs, report.before.macs);
    EXPECT_EQ(model.graph.inputs.front().name, "input");
    EXPECT_EQ(model.graph.outputs.front().name, "output");
    EXPECT_EQ(model.opset_version(), opset);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    auto [variant, style, opset] = info.param;
    return std::string(to_string(variant)) + "_" + std::string(to_string(style)) + "_opset" + std::to_string(opset);
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, ConvertMobileOne,
    ::testing::Combine(::testing::Values(MobileOneVariant::S0, MobileOneVariant::S1, MobileOneVariant::S2,
                                         MobileOneVariant::S3, MobileOneVariant::S4),
                       ::testing::Values(ExportStyle::Prefused, ExportStyle::BatchNorm), ::testing::Values(11, 13, 17)),
    case_name);

}  // namespace
}  // namespace mobileone
