// BatchNormalization (inference) and Softmax on inputs small enough to normalise by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "support/op_runner.h"

namespace mobileone {
namespace {

using Shape = std::vector<int64_t>;

// Two channels: scale [2, 0.5], B [0.1, -1], mean [1, 4], var [4, 0.25], epsilon 0, so
// y = (x - 1) / 2 * 2 + 0.1 on channel 0 and (x - 4) / 0.5 * 0.5 - 1 on channel 1.
OpCall batch_normalization(Tensor x) {
    auto channel_values = [&](std::vector<double> values) {
        Tensor as_doubles = doubles({2}, values);
        return x.dtype() == DataType::Double ? as_doubles : Tensor::from_doubles(DataType::Float, {2}, values);
    };
    return {"BatchNormalization",
            {runtime_value(x), known(channel_values({2, 0.5})), known(channel_values({0.1, -1})),
             known(channel_values({1, 4})), known(channel_values({4, 0.25}))},
            {{"epsilon", 0.0f}}};
}

TEST(BatchNormalization, NormalisesEachChannel) {
    Tensor y = run_single(batch_normalization(floats({1, 2, 1, 2}, {1, 2, 3, 4})));
    std::vector<float> values = values_of<float>(y);
    EXPECT_FLOAT_EQ(values[0], 0.1f);
    EXPECT_FLOAT_EQ(values[1], 1.1f);
    EXPECT_FLOAT_EQ(values[2], -2.0f);
    EXPECT_FLOAT_EQ(values[3], -1.0f);

    Tensor matrix = run_single(batch_normalization(doubles({2, 2}, {1, 4, 3, 5})));  // [N, C]: no spatial dims
    EXPECT_EQ(values_of<double>(matrix), (std::vector<double>{0.1, -1, 2.1, 0}));
}

TEST(BatchNormalization, TrainingModeAndPerElementStatisticsAreRejected) {
    OpCall training = batch_normalization(floats({1, 2, 1, 1}, {1, 2}));
    training.attributes["training_mode"] = int64_t{1};
    EXPECT_EQ(run_error(training),
              "node 'node_under_test' (BatchNormalization): training mode is not supported, only inference");
    OpCall per_element = batch_normalization(floats({1, 2, 1, 1}, {1, 2}));
    per_element.opset = 7;
    per_element.attributes["spatial"] = int64_t{0};
    EXPECT_NE(run_error(per_element).find("spatial=0"), std::string::npos) << run_error(per_element);
    OpCall wrong_channels = batch_normalization(floats({1, 3, 1, 1}, {1, 2, 3}));
    EXPECT_EQ(run_error(wrong_channels),
              "node 'node_under_test' (BatchNormalization): scale has shape [2], expected [3]");
}

// x [1, 2, 2] = [[0, ln 3], [0, 0]]
OpCall softmax(int64_t opset, std::map<std::string, Attribute> attributes = {}) {
    return {"Softmax", {runtime_value(floats({1, 2, 2}, {0, std::log(3.0f), 0, 0}))}, std::move(attributes), opset};
}

void expect_values_near(const Tensor& actual, const std::vector<float>& expected) {
    std::vector<float> values = values_of<float>(actual);
    ASSERT_EQ(values.size(), expected.size());
    for (std::size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(values[i], expected[i], 1e-6) << "element " << i;
}

TEST(Softmax, FromOpset13NormalisesOneAxis) {
    // Default axis -1: rows [0, ln 3] -> [1/4, 3/4] and [0, 0] -> [1/2, 1/2].
    expect_values_near(run_single(softmax(13)), {0.25f, 0.75f, 0.5f, 0.5f});
    // Axis 1: columns [0, 0] -> [1/2, 1/2] and [ln 3, 0] -> [3/4, 1/4].
    expect_values_near(run_single(softmax(13, {{"axis", int64_t{1}}})), {0.5f, 0.75f, 0.5f, 0.25f});
}

TEST(Softmax, BeforeOpset13NormalisesEverythingFromTheAxisOn) {
    // Default axis 1 flattens to [1, 4]: exp gives [1, 3, 1, 1], summing to 6.
    expect_values_near(run_single(softmax(11)), {1 / 6.0f, 0.5f, 1 / 6.0f, 1 / 6.0f});
    // Axis 2 keeps rows apart, like opset 13's last axis.
    expect_values_near(run_single(softmax(11, {{"axis", int64_t{2}}})), {0.25f, 0.75f, 0.5f, 0.5f});
}

TEST(Softmax, LargeInputsDoNotOverflow) {
    Tensor y = run_single({"Softmax", {runtime_value(doubles({2}, {1000, 1001}))}});
    double e = std::exp(1.0);
    std::vector<double> values = values_of<double>(y);
    EXPECT_NEAR(values[0], 1 / (1 + e), 1e-15);
    EXPECT_NEAR(values[1], e / (1 + e), 1e-15);
    EXPECT_EQ(run_error(softmax(13, {{"axis", int64_t{3}}})),
              "node 'node_under_test' (Softmax): axis 3 is out of range for rank 3");
}

TEST(Softmax, AThousandClassesStayWithinFloatRoundingOfTheExactResult) {
    // A float running sum over these logits drifts by 5e-7 relative; rounding the exps and the quotient alone stays
    // near 1.2e-7.
    std::vector<float> logits(1000);
    for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 0.37) * 4);
    Tensor y = run_single({"Softmax", {runtime_value(floats({1, 1000}, logits))}});
    float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float x : logits) sum += std::exp(static_cast<double>(x - max));
    std::vector<float> probabilities = values_of<float>(y);
    for (std::size_t i = 0; i < logits.size(); ++i) {
        double exact = std::exp(static_cast<double>(logits[i] - max)) / sum;
        EXPECT_NEAR(probabilities[i], exact, exact * 2e-7) << "class " << i;
    }
}

}  // namespace
}  // namespace mobileone
