#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "models/mobileone.h"
#include "models/seeded_random.h"

namespace mobileone {
namespace {

using Histogram = std::map<std::string, int>;

Histogram histogram(const Model& model) {
    Histogram counts;
    for (const Node& node : model.graph.nodes) ++counts[node.op_type];
    return counts;
}

// Building S4 takes seconds: every test shares one model per (variant, style, seed, opset).
const Model& built(MobileOneVariant variant, ExportStyle style, uint64_t seed = 0, int opset = 13) {
    static std::map<std::tuple<MobileOneVariant, ExportStyle, uint64_t, int>, Model> cache;
    auto key = std::make_tuple(variant, style, seed, opset);
    auto found = cache.find(key);
    if (found == cache.end()) found = cache.emplace(key, build_mobileone(variant, style, seed, opset)).first;
    return found->second;
}

const Node& node_named(const Model& model, const std::string& name) {
    for (const Node& node : model.graph.nodes)
        if (node.name == name) return node;
    throw Error("no node " + name);
}

// Expected op counts, derived by hand from the architecture (tools/mobileone_torch.py) and PyTorch 1.13's exporter.
//
// Blocks: a stem (1 conv branch + 1x1 scale branch, stride 2), then per stage (2, 8, 10, 1) blocks of a depthwise
// MobileOne block (k branches + scale, + BN skip when stride 1) and a pointwise one (k branches, + BN skip when
// in == out): 21 depthwise (4 stride 2, 17 stride 1) and 21 pointwise blocks. Pointwise skips: in every stage but the
// first block; S0's stage 1 keeps the stem's width 48 (= 64 x 0.75), so there all 21 - 3 = 18 have one, elsewhere 17.
//
// A block summing T terms has T - 1 Adds, plus Add(x, Constant 0) when its sum starts from a missing scale or skip
// term (stem, stride-2 depthwise, pointwise with skip) or, when k > 1, from neither (pointwise without skip).
// Prefused: each conv-BN branch is one Conv. BatchNorm style: each branch is Conv + BatchNormalization.
struct Expected {
    int nodes;
    Histogram ops;
};

Expected expected_counts(MobileOneVariant variant, ExportStyle style) {
    bool bn = style == ExportStyle::BatchNorm;
    if (variant == MobileOneVariant::S0) {  // k = 4
        int conv = 2 + 21 * 5 + 21 * 4;                    // 191: stem, depthwise 4 + scale, pointwise 4
        int skip_bn = 17 + 18;                             // 35
        int add = 2 + 4 * (4 + 1) + 17 * 5 + 18 * (4 + 1) + 3 * (3 + 1);  // 209
        int zero_constants = 1 + 4 + 18 + 3;               // 26
        int relu = 1 + 42;                                 // 43
        if (!bn) return {conv + skip_bn + add + relu + zero_constants + 4,  // head: GAP, Constant, Reshape, Gemm
                         {{"Conv", conv}, {"BatchNormalization", skip_bn}, {"Add", add}, {"Relu", relu},
                          {"Constant", zero_constants + 1}, {"GlobalAveragePool", 1}, {"Reshape", 1}, {"Gemm", 1}}};
        // head: GAP, Constant 1, Constant -1, 2 x (axes Constant, Unsqueeze), Concat, Reshape, Gemm
        return {conv + (skip_bn + conv) + add + relu + zero_constants + 10,
                {{"Conv", conv}, {"BatchNormalization", skip_bn + conv}, {"Add", add}, {"Relu", relu},
                 {"Constant", zero_constants + 4}, {"GlobalAveragePool", 1}, {"Unsqueeze", 2}, {"Concat", 1},
                 {"Reshape", 1}, {"Gemm", 1}}};
    }
    // S1-S4: k = 1, every stage widens, so 17 pointwise skips; a lone branch with no scale or skip adds no zero.
    int conv = 2 + 21 * 2 + 21 * 1;                        // 65
    int skip_bn = 17 + 17;                                 // 34
    int add = 2 + 4 * 2 + 17 * 2 + 17 * 2 + 4 * 0;         // 78
    int zero_constants = 1 + 4 + 17;                       // 22
    int relu = 1 + 42;                                     // 43
    Expected expected;
    if (!bn) {
        expected = {conv + skip_bn + add + relu + zero_constants + 4,
                    {{"Conv", conv}, {"BatchNormalization", skip_bn}, {"Add", add}, {"Relu", relu},
                     {"Constant", zero_constants + 1}, {"GlobalAveragePool", 1}, {"Reshape", 1}, {"Gemm", 1}}};
    } else {
        expected = {conv + (skip_bn + conv) + add + relu + zero_constants + 10,
                    {{"Conv", conv}, {"BatchNormalization", skip_bn + conv}, {"Add", add}, {"Relu", relu},
                     {"Constant", zero_constants + 4}, {"GlobalAveragePool", 1}, {"Unsqueeze", 2}, {"Concat", 1},
                     {"Reshape", 1}, {"Gemm", 1}}};
    }
    if (variant != MobileOneVariant::S4) return expected;
    // S4: SE on the last 5 blocks of stage 3 and on stage 4, i.e. 12 MobileOne blocks. One SE, prefused:
    // Constant(pads) Pad AveragePool Conv Relu Conv Sigmoid Constant(shape) Reshape Mul = 10 nodes. BatchNorm style:
    // Constant(C) Constant(pads) Pad AveragePool Conv Relu Conv Sigmoid 4 x (axes Constant, Unsqueeze) Concat Reshape
    // Mul = 19 nodes; the literal -1 is one Constant shared with the head (which so loses its own), the literal 1 one
    // Constant at the top of the graph.
    int se = 12;
    Histogram& ops = expected.ops;
    ops["Conv"] += 2 * se;
    ops["Relu"] += se;
    ops["Reshape"] += se;
    for (const char* op : {"Pad", "AveragePool", "Sigmoid", "Mul"}) ops[op] = se;
    if (!bn) {
        ops["Constant"] += 2 * se;
        expected.nodes += 10 * se;
    } else {
        ops["Constant"] += 6 * se + 1 + 1 - 1;
        ops["Unsqueeze"] += 4 * se;
        ops["Concat"] += se;
        expected.nodes += 19 * se + 1 + 1 - 1;
    }
    return expected;
}

class MobileOneCounts : public testing::TestWithParam<std::tuple<MobileOneVariant, ExportStyle>> {};

TEST_P(MobileOneCounts, MatchTheArchitecture) {
    auto [variant, style] = GetParam();
    const Model& model = built(variant, style);
    Expected expected = expected_counts(variant, style);
    EXPECT_EQ(static_cast<int>(model.graph.nodes.size()), expected.nodes);
    EXPECT_EQ(histogram(model), expected.ops);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, MobileOneCounts,
                         testing::Combine(testing::Values(MobileOneVariant::S0, MobileOneVariant::S1,
                                                          MobileOneVariant::S2, MobileOneVariant::S3,
                                                          MobileOneVariant::S4),
                                          testing::Values(ExportStyle::Prefused, ExportStyle::BatchNorm)),
                         [](const auto& info) {
                             return fmt::format("{}_{}", to_string(std::get<0>(info.param)),
                                                to_string(std::get<1>(info.param)));
                         });

// The issue quotes 462 nodes for Apple's S0 exported in eval mode; PyTorch 1.13 writes 508 for the same
// architecture: the 26 Add(x, Constant 0) pairs above are 52 of them (see tools/mobileone_torch.py).
TEST(MobileOneBuilder, S0PrefusedHasTheExportersNodeCount) {
    EXPECT_EQ(built(MobileOneVariant::S0, ExportStyle::Prefused).graph.nodes.size(), 508u);
}

TEST(MobileOneBuilder, EveryModelPassesTheOnnxFullCheck) {
    for (auto variant : {MobileOneVariant::S0, MobileOneVariant::S1, MobileOneVariant::S2, MobileOneVariant::S3,
                         MobileOneVariant::S4})
        for (auto style : {ExportStyle::Prefused, ExportStyle::BatchNorm})
            EXPECT_NO_THROW(check_model(built(variant, style), std::string(to_string(variant))))
                << to_string(variant) << " " << to_string(style);
}

TEST(MobileOneBuilder, InputAndOutputAreTheExportersNames) {
    const Model& model = built(MobileOneVariant::S1, ExportStyle::Prefused);
    ASSERT_EQ(model.graph.inputs.size(), 1u);
    EXPECT_EQ(model.graph.inputs[0].name, "input");
    EXPECT_EQ(model.graph.inputs[0].static_shape(), (std::vector<int64_t>{1, 3, 224, 224}));
    ASSERT_EQ(model.graph.outputs.size(), 1u);
    EXPECT_EQ(model.graph.outputs[0].name, "output");
    EXPECT_EQ(model.graph.outputs[0].static_shape(), (std::vector<int64_t>{1, 1000}));
    EXPECT_EQ(model.graph.nodes.back().op_type, "Gemm");
    EXPECT_EQ(model.graph.nodes.back().outputs[0], "output");
}

TEST(MobileOneBuilder, SameSeedGivesTheSameBytes) {
    const Model& first = built(MobileOneVariant::S0, ExportStyle::BatchNorm, 7);
    Model again = build_mobileone(MobileOneVariant::S0, ExportStyle::BatchNorm, 7);
    EXPECT_EQ(serialize_model(again), serialize_model(first));
}

TEST(MobileOneBuilder, DifferentSeedsChangeEveryWeightButNotTheGraph) {
    const Model& a = built(MobileOneVariant::S0, ExportStyle::BatchNorm, 7);
    const Model& b = built(MobileOneVariant::S0, ExportStyle::BatchNorm, 8);
    ASSERT_EQ(a.graph.nodes.size(), b.graph.nodes.size());
    for (std::size_t i = 0; i < a.graph.nodes.size(); ++i) EXPECT_EQ(a.graph.nodes[i].inputs, b.graph.nodes[i].inputs);
    ASSERT_EQ(a.graph.initializers.size(), b.graph.initializers.size());
    for (const auto& [name, tensor] : a.graph.initializers) {
        const Tensor* other = b.graph.initializer(name);
        ASSERT_NE(other, nullptr) << name;
        EXPECT_NE(tensor, *other) << name;
    }
}

TEST(MobileOneBuilder, RoundTripsThroughSerialization) {
    const Model& model = built(MobileOneVariant::S4, ExportStyle::BatchNorm);
    std::string bytes = serialize_model(model);
    Model back = parse_model(bytes, "s4.onnx");
    EXPECT_EQ(back.graph.nodes.size(), model.graph.nodes.size());
    EXPECT_EQ(back.graph.initializers.size(), model.graph.initializers.size());
    EXPECT_EQ(*back.graph.initializer("stage3.19.se.expand.bias"), *model.graph.initializer("stage3.19.se.expand.bias"));
    EXPECT_EQ(serialize_model(back), bytes);
}

TEST(MobileOneBuilder, BatchNormStatisticsAreFarFromTheIdentity) {
    const Model& model = built(MobileOneVariant::S1, ExportStyle::BatchNorm);
    for (const char* name : {"stage2.3.skip", "stage2.3.branches.0.1", "stage0.scale.1"}) {
        std::string prefix = name;
        auto gamma = model.graph.initializer(prefix + ".weight")->to_doubles();
        auto beta = model.graph.initializer(prefix + ".bias")->to_doubles();
        auto mean = model.graph.initializer(prefix + ".running_mean")->to_doubles();
        auto variance = model.graph.initializer(prefix + ".running_var")->to_doubles();
        auto spread = [](const std::vector<double>& values) {
            double low = values[0], high = values[0];
            for (double value : values) low = std::min(low, value), high = std::max(high, value);
            return high - low;
        };
        EXPECT_GT(spread(gamma), 0.1) << name;
        EXPECT_GT(spread(beta), 0.1) << name;
        EXPECT_GT(spread(mean), 0.1) << name;
        EXPECT_GT(spread(variance), 0.5) << name;
        for (double value : variance) EXPECT_TRUE(value >= 0.5 && value < 2.0) << name;
    }
}

// The two styles draw the same parameters: a prefused branch conv is W * gamma / sqrt(var + eps) with bias
// beta - mean * gamma / sqrt(var + eps) of the BatchNorm-style branch.
TEST(MobileOneBuilder, PrefusedWeightsAreTheFoldedBatchNormWeights) {
    const Model& bn = built(MobileOneVariant::S0, ExportStyle::BatchNorm);
    const Model& fused = built(MobileOneVariant::S0, ExportStyle::Prefused);
    const std::string branch = "stage2.4.branches.3";  // a depthwise block
    auto w = bn.graph.initializer(branch + ".0.weight")->to_doubles();
    auto gamma = bn.graph.initializer(branch + ".1.weight")->to_doubles();
    auto beta = bn.graph.initializer(branch + ".1.bias")->to_doubles();
    auto mean = bn.graph.initializer(branch + ".1.running_mean")->to_doubles();
    auto var = bn.graph.initializer(branch + ".1.running_var")->to_doubles();
    auto folded_w = fused.graph.initializer(branch + ".0.weight")->to_doubles();
    auto folded_b = fused.graph.initializer(branch + ".0.bias")->to_doubles();
    ASSERT_EQ(fused.graph.initializer(branch + ".0.weight")->dims(), (std::vector<int64_t>{128, 1, 3, 3}));
    for (std::size_t channel : {0u, 77u, 127u}) {
        double ratio = gamma[channel] / std::sqrt(var[channel] + 1e-5);
        EXPECT_FLOAT_EQ(folded_w[channel * 9 + 4], w[channel * 9 + 4] * ratio);
        EXPECT_FLOAT_EQ(folded_b[channel], beta[channel] - mean[channel] * ratio);
    }
    // And the skip BN, which no conv precedes, stays a BatchNormalization with the same statistics.
    EXPECT_EQ(*fused.graph.initializer("stage2.4.skip.running_var"), *bn.graph.initializer("stage2.4.skip.running_var"));
}

TEST(MobileOneBuilder, BlockSumsFollowTheExportersAddOrder) {
    const Model& model = built(MobileOneVariant::S0, ExportStyle::Prefused);
    // Depthwise stride 1: (scale + skip), then + each branch in order.
    const Node& first = node_named(model, "/stage1/stage1.2/Add");
    EXPECT_EQ(first.inputs, (std::vector<std::string>{"/stage1/stage1.2/scale/scale.0/Conv_output_0",
                                                      "/stage1/stage1.2/skip/BatchNormalization_output_0"}));
    const Node& last = node_named(model, "/stage1/stage1.2/Add_4");
    EXPECT_EQ(last.inputs, (std::vector<std::string>{"/stage1/stage1.2/Add_3_output_0",
                                                     "/stage1/stage1.2/branches.3/branches.3.0/Conv_output_0"}));
    // Stem: scale + 0 (the missing skip), then + its single branch.
    const Node& stem = node_named(model, "/stage0/Add");
    EXPECT_EQ(stem.inputs, (std::vector<std::string>{"/stage0/scale/scale.0/Conv_output_0", "/stage0/Constant_output_0"}));
    EXPECT_EQ(node_named(model, "/stage0/Constant").attribute_tensor("value")->to_doubles(), std::vector<double>{0.0});
}

TEST(MobileOneBuilder, OpsetsChangeWhatTheExporterChanges) {
    const Model& opset11 = built(MobileOneVariant::S4, ExportStyle::BatchNorm, 0, 11);
    const Model& opset14 = built(MobileOneVariant::S4, ExportStyle::BatchNorm, 0, 14);
    // Before opset 13 Unsqueeze takes axes as an attribute: the 50 axes Constants disappear.
    EXPECT_EQ(opset11.graph.nodes.size(), built(MobileOneVariant::S4, ExportStyle::BatchNorm).graph.nodes.size() - 50);
    EXPECT_EQ(node_named(opset11, "/Unsqueeze").attribute_ints("axes"), std::vector<int64_t>{0});
    EXPECT_EQ(opset11.opset_version(), 11);
    // From opset 14 BatchNormalization and Reshape carry their new attributes explicitly.
    EXPECT_EQ(node_named(opset14, "/stage0/scale/scale.1/BatchNormalization").attribute_int("training_mode", -1), 0);
    EXPECT_EQ(node_named(opset14, "/Reshape").attribute_int("allowzero", -1), 0);
    EXPECT_NO_THROW(check_model(opset11, "opset11"));
    EXPECT_NO_THROW(check_model(opset14, "opset14"));
}

// The exporter traced with a batch of N writes N into the input, the output and the head's view(x.size(0), -1) shape,
// and nowhere else (the SE view() keeps -1). The full check's strict shape inference proves the graph yields [N, 1000].
TEST(MobileOneBuilder, BatchSetsTheInputOutputAndTheHeadShapeOnly) {
    struct Case {
        MobileOneVariant variant;
        ExportStyle style;
        std::vector<double> head_constant;  // "/Constant": the folded shape, or the traced batch scalar
    };
    for (const Case& c : {Case{MobileOneVariant::S0, ExportStyle::Prefused, {8, -1}},
                          Case{MobileOneVariant::S4, ExportStyle::BatchNorm, {8}}}) {
        SCOPED_TRACE(fmt::format("{} {}", to_string(c.variant), to_string(c.style)));
        Model batched = build_mobileone(c.variant, c.style, 0, 13, 8);
        const Model& single = built(c.variant, c.style);
        EXPECT_EQ(batched.graph.inputs[0].static_shape(), (std::vector<int64_t>{8, 3, 224, 224}));
        EXPECT_EQ(batched.graph.outputs[0].static_shape(), (std::vector<int64_t>{8, 1000}));
        EXPECT_NO_THROW(check_model(batched, "batch 8"));
        EXPECT_EQ(batched.graph.initializers, single.graph.initializers);
        ASSERT_EQ(batched.graph.nodes.size(), single.graph.nodes.size());
        std::vector<std::string> changed;
        for (std::size_t i = 0; i < batched.graph.nodes.size(); ++i) {
            const Node &a = batched.graph.nodes[i], &b = single.graph.nodes[i];
            EXPECT_EQ(std::tie(a.name, a.op_type, a.inputs, a.outputs), std::tie(b.name, b.op_type, b.inputs, b.outputs));
            if (a.op_type == "Constant" && *a.attribute_tensor("value") != *b.attribute_tensor("value"))
                changed.push_back(a.name);
        }
        EXPECT_EQ(changed, std::vector<std::string>{"/Constant"});
        EXPECT_EQ(node_named(batched, "/Constant").attribute_tensor("value")->to_doubles(), c.head_constant);
    }
    EXPECT_THROW(build_mobileone(MobileOneVariant::S0, ExportStyle::Prefused, 0, 13, 0), Error);
}

TEST(MobileOneBuilder, ParsesNamesAndRejectsOthersInOneLine) {
    EXPECT_EQ(parse_mobileone_variant("s3"), MobileOneVariant::S3);
    EXPECT_EQ(parse_export_style("bn"), ExportStyle::BatchNorm);
    EXPECT_EQ(parse_export_style("prefused"), ExportStyle::Prefused);
    for (auto attempt : {+[] { parse_mobileone_variant("s5"); }, +[] { parse_export_style("dynamic"); },
                         +[] { build_mobileone(MobileOneVariant::S0, ExportStyle::Prefused, 0, 18); }}) {
        try {
            attempt();
            ADD_FAILURE() << "accepted";
        } catch (const Error& error) {
            EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
        }
    }
}

// Published splitmix64 test vector (seed 1234567), so the weights are the same on every platform.
TEST(SeededRandom, IsSplitMix64) {
    SeededRandom random(1234567);
    EXPECT_EQ(random.next(), 6457827717110365317ULL);
    EXPECT_EQ(random.next(), 3203168211198807973ULL);
    EXPECT_EQ(random.next(), 9817491932198370423ULL);
}

TEST(SeededRandom, NormalsAreStandardAndOnTheirGrid) {
    SeededRandom random(3);
    double sum = 0, sum_squares = 0;
    constexpr int count = 200000;
    for (int i = 0; i < count; ++i) {
        double value = random.normal();
        EXPECT_EQ(value, std::ldexp(std::round(std::ldexp(value, 20)), -20));
        sum += value;
        sum_squares += value * value;
    }
    EXPECT_NEAR(sum / count, 0.0, 0.01);
    EXPECT_NEAR(sum_squares / count, 1.0, 0.02);
}

TEST(SeededRandom, UniformStaysInItsRange) {
    SeededRandom random(5);
    double low = 1.0, high = 0.0;
    for (int i = 0; i < 100000; ++i) {
        double value = random.uniform(0.5, 2.0);
        low = std::min(low, value);
        high = std::max(high, value);
    }
    EXPECT_GE(low, 0.5);
    EXPECT_LT(high, 2.0);
    EXPECT_LT(low, 0.51);
    EXPECT_GT(high, 1.99);
}

}  // namespace
}  // namespace mobileone
