// The reference Conv kernel against a naive evaluation of the ONNX formula, written independently here:
//   Y[n, m, o] = B[m] + sum over c < C/group, kernel offsets k of W[m, c, k] * X[n, g(m) * C/group + c, o*s - p + k*d]
// with taps outside the input reading zero, evaluated in double over every output index.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "support/op_runner.h"

namespace mobileone {
namespace {

struct ConvCase {
    std::vector<int64_t> input;  // [N, C, spatial...]
    int64_t out_channels = 1;
    std::vector<int64_t> kernel;  // spatial
    std::vector<int64_t> strides;
    std::vector<int64_t> pads;  // begins then ends
    std::vector<int64_t> dilations;
    int64_t group = 1;
    bool bias = true;

    std::string describe() const {
        return fmt::format("input {} out {} kernel {} strides {} pads {} dilations {} group {} bias {}",
                           fmt::join(input, "x"), out_channels, fmt::join(kernel, "x"), fmt::join(strides, ","),
                           fmt::join(pads, ","), fmt::join(dilations, ","), group, bias);
    }
};

template <typename T>
Tensor random_tensor(std::vector<int64_t> dims, uint32_t seed) {
    std::mt19937 generator(seed);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    std::vector<T> values(static_cast<std::size_t>(element_count(dims)));
    for (T& value : values) value = static_cast<T>(uniform(generator));
    return Tensor::from_values<T>(std::move(dims), values);
}

// Advances a row-major multi-index below `limits`; false after the last one.
bool advance(std::vector<int64_t>& index, const std::vector<int64_t>& limits) {
    for (std::size_t axis = index.size(); axis-- > 0;) {
        if (++index[axis] < limits[axis]) return true;
        index[axis] = 0;
    }
    return false;
}

int64_t flat_index(const std::vector<int64_t>& index, const std::vector<int64_t>& dims) {
    int64_t flat = 0;
    for (std::size_t axis = 0; axis < dims.size(); ++axis) flat = flat * dims[axis] + index[axis];
    return flat;
}

struct Reference {
    std::vector<int64_t> shape;
    std::vector<double> values;
};

Reference naive_conv(const ConvCase& test, const std::vector<double>& x, const std::vector<double>& w,
                     const std::vector<double>& b) {
    const std::size_t rank = test.kernel.size();
    const int64_t batch = test.input[0], channels = test.input[1], group_channels = channels / test.group;
    Reference out;
    out.shape = {batch, test.out_channels};
    for (std::size_t a = 0; a < rank; ++a) {
        int64_t extent = (test.kernel[a] - 1) * test.dilations[a] + 1;
        out.shape.push_back((test.input[2 + a] + test.pads[a] + test.pads[rank + a] - extent) / test.strides[a] + 1);
    }
    std::vector<int64_t> weight_shape = {test.out_channels, group_channels};
    weight_shape.insert(weight_shape.end(), test.kernel.begin(), test.kernel.end());

    std::vector<int64_t> index(out.shape.size(), 0);
    do {
        const int64_t n = index[0], m = index[1], g = m / (test.out_channels / test.group);
        double sum = test.bias ? b[m] : 0.0;
        for (int64_t c = 0; c < group_channels; ++c) {
            std::vector<int64_t> tap(rank, 0);
            do {
                std::vector<int64_t> source = {n, g * group_channels + c};
                bool inside = true;
                for (std::size_t a = 0; a < rank; ++a) {
                    int64_t position = index[2 + a] * test.strides[a] - test.pads[a] + tap[a] * test.dilations[a];
                    inside = inside && position >= 0 && position < test.input[2 + a];
                    source.push_back(position);
                }
                if (!inside) continue;
                std::vector<int64_t> weight_index = {m, c};
                weight_index.insert(weight_index.end(), tap.begin(), tap.end());
                sum += w[flat_index(weight_index, weight_shape)] * x[flat_index(source, test.input)];
            } while (advance(tap, test.kernel));
        }
        out.values.push_back(sum);
    } while (advance(index, out.shape));
    return out;
}

template <typename T>
OpCall conv_call(const ConvCase& test, uint32_t seed) {
    std::vector<int64_t> weight_shape = {test.out_channels, test.input[1] / test.group};
    weight_shape.insert(weight_shape.end(), test.kernel.begin(), test.kernel.end());
    OpCall call{"Conv",
                {runtime_value(random_tensor<T>(test.input, seed)), known(random_tensor<T>(weight_shape, seed + 1))}};
    if (test.bias) call.inputs.push_back(known(random_tensor<T>({test.out_channels}, seed + 2)));
    call.attributes["kernel_shape"] = test.kernel;
    call.attributes["strides"] = test.strides;
    call.attributes["pads"] = test.pads;
    call.attributes["dilations"] = test.dilations;
    call.attributes["group"] = test.group;
    return call;
}

// Float sums of a few dozen products of values in [-1, 1] stay well within this of the exact sum.
template <typename T>
constexpr double kTolerance = std::is_same_v<T, float> ? 2e-5 : 1e-12;

template <typename T>
void expect_matches_naive(const ConvCase& test, uint32_t seed) {
    SCOPED_TRACE(test.describe());
    OpCall call = conv_call<T>(test, seed);
    Tensor actual = run_single(call, 2);
    std::vector<double> bias = test.bias ? call.inputs[2].value->to_doubles() : std::vector<double>{};
    Reference expected = naive_conv(test, call.inputs[0].value->to_doubles(), call.inputs[1].value->to_doubles(), bias);
    ASSERT_EQ(actual.dims(), expected.shape);
    ASSERT_EQ(actual.dtype(), data_type_of<T>());
    std::vector<double> got = actual.to_doubles();
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], expected.values[i], kTolerance<T> * (1 + std::abs(expected.values[i]))) << "element " << i;
}

struct GroupLayout {
    int64_t in_channels;
    int64_t out_channels;
    int64_t group;
};

TEST(ConvKernel, Sweep2dMatchesNaiveFormula) {
    const GroupLayout layouts[] = {
        {4, 6, 1}, {4, 4, 4}, {6, 4, 2}, {3, 6, 3}};  // dense, depthwise, grouped, multiplier
    uint32_t seed = 1;
    for (const GroupLayout& layout : layouts)
        for (int64_t stride : {1, 2})
            for (int64_t kernel : {1, 3})
                for (int64_t dilation : {1, 2})
                    for (const std::vector<int64_t>& pads :
                         {std::vector<int64_t>{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 2, 1}}) {
                        ConvCase test{{2, layout.in_channels, 7, 5},
                                      layout.out_channels,
                                      {kernel, kernel},
                                      {stride, stride},
                                      pads,
                                      {dilation, dilation},
                                      layout.group,
                                      seed % 2 == 0};
                        expect_matches_naive<float>(test, seed++);
                    }
}

TEST(ConvKernel, MobileOneBranchesMatchNaiveFormula) {
    // The 1x1 stride-2 scale branch and the 3x3 stride-2 depthwise branch of a downsampling block, on an odd input.
    expect_matches_naive<float>({{1, 8, 9, 9}, 16, {1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, true}, 11);
    expect_matches_naive<float>({{1, 8, 9, 9}, 8, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 8, true}, 12);
    expect_matches_naive<float>({{1, 8, 9, 9}, 8, {1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 8, false}, 13);
    // A stride-1 1x1 pointwise conv, the most common layer.
    expect_matches_naive<float>({{1, 16, 6, 6}, 24, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, true}, 14);
}

TEST(ConvKernel, OneAndThreeSpatialDimsMatchNaiveFormula) {
    expect_matches_naive<float>({{2, 3, 11}, 4, {3}, {2}, {1, 1}, {2}, 1, true}, 21);
    expect_matches_naive<float>({{1, 4, 13}, 4, {5}, {3}, {2, 0}, {1}, 4, false}, 22);
    expect_matches_naive<float>({{1, 2, 5, 4, 6}, 4, {2, 3, 3}, {1, 2, 1}, {0, 1, 1, 1, 0, 1}, {2, 1, 1}, 2, true}, 23);
}

TEST(ConvKernel, DoubleKernelMatchesNaiveFormulaExactlyEnough) {
    expect_matches_naive<double>({{2, 4, 7, 5}, 6, {3, 3}, {2, 1}, {1, 0, 1, 2}, {1, 2}, 2, true}, 31);
    expect_matches_naive<double>({{1, 3, 9}, 3, {3}, {1}, {1, 1}, {1}, 3, false}, 32);
}

TEST(ConvKernel, KernelLargerThanInputReadsOnlyPadding) {
    // A 1x1 input with a 3x3 kernel and pad 1: only the centre tap lands inside, so y = w[centre] * x + b.
    OpCall call{"Conv",
                {runtime_value(floats({1, 1, 1, 1}, {2.0f})), known(floats({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})),
                 known(floats({1}, {0.5f}))}};
    call.attributes["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    Tensor y = run_single(call);
    EXPECT_EQ(y.dims(), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(values_of<float>(y), (std::vector<float>{10.5f}));
}

TEST(ConvKernel, AutoPadEqualsTheExplicitPadsItImplies) {
    // 6 inputs, kernel 3, stride 2: ceil(6 / 2) = 3 outputs need (3 - 1) * 2 + 3 - 6 = 1 pad, at the end for
    // SAME_UPPER and at the start for SAME_LOWER. VALID pads nothing: (6 - 3) / 2 + 1 = 2 outputs.
    struct Expectation {
        const char* auto_pad;
        std::vector<int64_t> pads;
    };
    for (const Expectation& expectation :
         {Expectation{"SAME_UPPER", {0, 0, 1, 1}}, Expectation{"SAME_LOWER", {1, 1, 0, 0}},
          Expectation{"VALID", {0, 0, 0, 0}}}) {
        SCOPED_TRACE(expectation.auto_pad);
        OpCall implicit = conv_call<float>({{1, 2, 6, 6}, 3, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1, true}, 41);
        implicit.attributes.erase("pads");
        implicit.attributes["auto_pad"] = std::string(expectation.auto_pad);
        OpCall explicit_pads = implicit;
        explicit_pads.attributes.erase("auto_pad");
        explicit_pads.attributes["pads"] = expectation.pads;
        Tensor y = run_single(implicit);
        EXPECT_EQ(y.dims()[2], std::string(expectation.auto_pad) == "VALID" ? 2 : 3);
        EXPECT_EQ(y, run_single(explicit_pads));
    }
}

TEST(ConvKernel, ResultsAreBitIdenticalForAnyThreadCount) {
    OpCall call = conv_call<float>({{2, 6, 11, 9}, 6, {3, 3}, {1, 2}, {1, 1, 1, 1}, {1, 1}, 3, true}, 51);
    Tensor single = run_single(call, 1);
    EXPECT_EQ(run_single(call, 2), single);
    EXPECT_EQ(run_single(call, 3), single);
}

TEST(ConvKernel, MalformedNodesAreOneLineErrorsNamingTheNode) {
    OpCall bad_group = conv_call<float>({{1, 4, 5, 5}, 6, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false}, 61);
    bad_group.attributes["group"] = int64_t{3};
    EXPECT_NE(run_error(bad_group).find("'node_under_test' (Conv)"), std::string::npos) << run_error(bad_group);
    EXPECT_NE(run_error(bad_group).find("group 3"), std::string::npos) << run_error(bad_group);

    OpCall bad_bias = conv_call<float>({{1, 4, 5, 5}, 6, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false}, 62);
    bad_bias.inputs.push_back(known(floats({5}, {0, 0, 0, 0, 0})));
    EXPECT_NE(run_error(bad_bias).find("bias shape [5] is not [6]"), std::string::npos) << run_error(bad_bias);

    OpCall too_small = conv_call<float>({{1, 1, 2, 2}, 1, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, false}, 63);
    EXPECT_NE(run_error(too_small).find("does not fit"), std::string::npos) << run_error(too_small);
    EXPECT_EQ(run_error(too_small).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace mobileone
