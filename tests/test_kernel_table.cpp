// The kernel tester, after ncnn's test_layer_naive and XNNPACK's micro-kernel testers: every kernel-table entry that
// accepts a node on this CPU -- not only the one the planner picks -- against the op's reference kernel, over sweeps
// of the shapes where vector code goes wrong: channel counts that are no multiple of a vector width, odd and tiny
// images, strides 1 and 2, every padding, batches, 1 to 4 threads, and each activation an entry may fuse.
//
// The expectation is the reference kernel followed by the unfused activation op, on the same inputs. A fast result
// may differ from it by float rounding only, |fast - ref| <= 1e-5 * (1 + sum of |terms|), where the sum of the
// terms' magnitudes is the reference kernel's result on the absolute values of the inputs; and it must not depend on
// the thread count at all. MOBILEONE_ISA caps the level: CTest also runs this at each level below the machine's best.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/ops/microkernels.h"
#include "support/op_runner.h"

namespace mobileone {
namespace {

using runtime::FusedActivation;
using runtime::KernelEntry;
using Shape = std::vector<int64_t>;
using Attributes = std::map<std::string, Attribute>;

// Channel counts on both sides of every vector width (4 NEON, 8 AVX2, 16 AVX-512 lanes; 16 and 32 GEMM columns).
const Shape kChannels = {1, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 48, 64};
const Shape kSizes = {1, 2, 3, 5, 7, 13, 14, 15, 28};

// Multiply-adds per case at most: the largest sweeps shrink their images to stay fast under qemu too.
constexpr int64_t kMacBudget = 2'000'000;

Tensor random_floats(Shape dims) {
    static std::mt19937 generator(2024);  // one stream, so every case gets fresh values
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> values(static_cast<std::size_t>(element_count(dims)));
    for (float& value : values) value = uniform(generator);
    return floats(std::move(dims), values);
}

struct Activation {
    const char* name;
    FusedActivation fused;
    const char* op_type;  // the op the planner would have fused; nullptr for none
};

const Activation kActivations[] = {
    {"none", {}, nullptr},
    {"Relu", {FusedActivation::Kind::Clamp, 0.0f, INFINITY}, "Relu"},
    {"Clip(-0.5, 0.5)", {FusedActivation::Kind::Clamp, -0.5f, 0.5f}, "Clip"},
    {"Sigmoid", {FusedActivation::Kind::Sigmoid}, "Sigmoid"},
};

// What the unfused graph computes: the activation's own op run on the reference result.
Tensor apply_unfused(const Activation& activation, const Tensor& value) {
    if (!activation.op_type) return value;
    OpCall call{activation.op_type, {runtime_value(value)}};
    if (std::string(activation.op_type) == "Clip")
        call.inputs = {runtime_value(value), known(Tensor::scalar(activation.fused.min)),
                       known(Tensor::scalar(activation.fused.max))};
    return run_single(call);
}

std::string describe(const Attribute& attribute) {
    return std::visit(
        [](const auto& value) -> std::string {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, Tensor>)
                return "tensor " + shape_to_string(value.dims());
            else if constexpr (std::is_same_v<T, std::string>)
                return '"' + value + '"';
            else if constexpr (std::is_arithmetic_v<T>)
                return fmt::format("{}", value);
            else
                return fmt::format("[{}]", fmt::join(value, ", "));
        },
        attribute);
}

// The whole case, enough to rebuild it: "Conv([2, 3, 5, 5] runtime, [8, 3, 3, 3] constant, omitted) strides=[2, 2]".
std::string describe(const OpCall& call) {
    std::vector<std::string> inputs, attributes;
    for (const OpInput& input : call.inputs)
        inputs.push_back(input.value ? fmt::format("{} {}", shape_to_string(input.value->dims()),
                                                   input.constant ? "constant" : "runtime")
                                     : "omitted");
    for (const auto& [name, value] : call.attributes) attributes.push_back(name + "=" + describe(value));
    std::string text = fmt::format("{}({})", call.op_type, fmt::join(inputs, ", "));
    return attributes.empty() ? text : fmt::format("{} {}", text, fmt::join(attributes, " "));
}

// The call on the absolute values of its inputs (and of alpha and beta): its reference result is, per output, the
// sum of the magnitudes of the terms that make it up.
OpCall magnitudes_of(OpCall call) {
    for (OpInput& input : call.inputs) {
        if (!input.value) continue;
        std::vector<double> values = input.value->to_doubles();
        for (double& value : values) value = std::abs(value);
        input.value = Tensor::from_doubles(input.value->dtype(), input.value->dims(), values);
    }
    for (const char* scale : {"alpha", "beta"})
        if (auto it = call.attributes.find(scale); it != call.attributes.end())
            it->second = std::abs(std::get<float>(it->second));
    return call;
}

// "4 = [0, 0, 1, 1]": a flat index and its position in `dims`.
std::string position(std::size_t index, const Shape& dims) {
    Shape at(dims.size());
    for (std::size_t axis = dims.size(), rest = index; axis-- > 0; rest /= static_cast<std::size_t>(dims[axis]))
        at[axis] = static_cast<int64_t>(rest % static_cast<std::size_t>(dims[axis]));
    return fmt::format("{} = [{}]", index, fmt::join(at, ", "));
}

// "" when `actual` is within tolerance of `expected` everywhere, else the element furthest beyond it.
std::string mismatch(const Tensor& actual, const Tensor& expected, const Tensor& magnitude) {
    if (actual.dims() != expected.dims())
        return fmt::format("shape {} instead of {}", shape_to_string(actual.dims()), shape_to_string(expected.dims()));
    std::vector<double> got = actual.to_doubles(), want = expected.to_doubles(), size = magnitude.to_doubles();
    std::size_t worst = 0;
    double worst_excess = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double tolerance = 1e-5 * (1 + size[i]), error = std::abs(got[i] - want[i]);
        const double excess = std::isnan(error) ? INFINITY : error / tolerance;
        if (excess > worst_excess) worst_excess = excess, worst = i;
    }
    if (worst_excess <= 1) return {};
    return fmt::format("worst element {}: {} instead of {} (|difference| {:.3g} > tolerance {:.3g})",
                       position(worst, actual.dims()), got[worst], want[worst], std::abs(got[worst] - want[worst]),
                       1e-5 * (1 + size[worst]));
}

// "" when the two results are the same bits, else where they first differ.
std::string difference(const Tensor& actual, const Tensor& single_thread) {
    if (actual == single_thread) return {};
    std::vector<double> got = actual.to_doubles(), want = single_thread.to_doubles();
    std::size_t first = 0;
    while (first < got.size() && (got[first] == want[first] || (std::isnan(got[first]) && std::isnan(want[first]))))
        ++first;
    return fmt::format("differs from its 1-thread result at element {}: {} instead of {}",
                       position(first, actual.dims()), got[first], want[first]);
}

// The micro-kernel sets this CPU runs under the current MOBILEONE_ISA.
std::vector<runtime::Isa> runnable_isas() {
    std::vector<runtime::Isa> isas;
    for (const runtime::Microkernels* set : runtime::compiled_microkernels())
        if (runtime::cpu_supports(set->isa)) isas.push_back(set->isa);
    return isas;
}

// Checks each case's accepting entries against the reference and remembers which entries took part.
class KernelSweep {
public:
    void check(const OpCall& call) {
        for (const KernelEntry* entry : runtime::OpRegistry::instance().kernels_of(call.op_type))
            if (!runtime::cpu_supports(entry->isa) && kernel_accepts(*entry, call)) skipped_.insert(entry->name);
        const KernelEntry& reference = reference_kernel(call.op_type);
        std::vector<const KernelEntry*> candidates;
        for (const KernelEntry* entry : accepting_kernels(call))
            if (entry != &reference) candidates.push_back(entry);
        if (candidates.empty()) return;

        const Tensor raw = run_op_with_kernel(call, reference).at(0);
        const Tensor magnitude = run_op_with_kernel(magnitudes_of(call), reference).at(0);
        for (const Activation& activation : kActivations) {
            const Tensor expected = apply_unfused(activation, raw);
            for (const KernelEntry* entry : candidates) {
                if (activation.op_type && !entry->fuses_activation) continue;  // the planner would not fuse it
                compared_.insert(entry->name);
                Tensor single_thread;
                for (int threads = 1; threads <= 4; ++threads) {
                    Tensor actual = run_op_with_kernel(call, *entry, threads, activation.fused).at(0);
                    std::string problem =
                        threads == 1 ? mismatch(actual, expected, magnitude) : difference(actual, single_thread);
                    if (!problem.empty()) {
                        ADD_FAILURE() << describe(call) << "\n  kernel " << entry->name << ", fused activation "
                                      << activation.name << ", " << threads << " thread(s), against " << reference.name
                                      << " then " << (activation.op_type ? activation.op_type : "nothing") << "\n  "
                                      << problem;
                        return;  // one report per case
                    }
                    if (threads == 1) single_thread = std::move(actual);
                }
            }
        }
    }

    // Expects an entry named `prefix`..._<isa> to have been checked for each micro-kernel set this CPU runs, so that
    // a sweep cannot pass by checking nothing; and lists the accepting entries whose ISA is ruled out here.
    void expect_exercised(const std::string& prefix) const {
        for (runtime::Isa isa : runnable_isas()) {
            const std::string suffix = std::string("_") + runtime::to_string(isa);
            bool found = std::any_of(compared_.begin(), compared_.end(), [&](const std::string& name) {
                return name.starts_with(prefix) && name.ends_with(suffix);
            });
            EXPECT_TRUE(found) << "no " << prefix << "*" << suffix << " entry accepted any case; checked: "
                               << fmt::format("{}", fmt::join(compared_, ", "));
        }
        std::string checked = fmt::format("{}", fmt::join(compared_, ", "));
        std::string skipped = fmt::format("{}", fmt::join(skipped_, ", "));
        testing::Test::RecordProperty("checked_kernels", checked);
        testing::Test::RecordProperty("skipped_kernels", skipped);
        std::cout << "checked against the reference: " << (checked.empty() ? "none" : checked) << "\n";
        if (!skipped.empty())
            std::cout << "skipped, this CPU or MOBILEONE_ISA rules out their ISA: " << skipped << "\n";
    }

private:
    std::set<std::string> compared_, skipped_;
};

// Expects that no fast entry, whatever its ISA, accepts the call: only the reference serves it (also as
// <op>_any_layout, the same reference code registered for any layout).
void expect_only_reference_accepts(const OpCall& call) {
    std::vector<std::string> accepting;
    for (const KernelEntry* entry : runtime::OpRegistry::instance().kernels_of(call.op_type))
        if (kernel_accepts(*entry, call) && entry->name != call.op_type + "_any_layout")
            accepting.push_back(entry->name);
    EXPECT_EQ(accepting, std::vector<std::string>{call.op_type + "_reference"}) << describe(call);
}

// --- Conv ---

OpCall conv(Shape input, int64_t out_channels, Shape kernel, Attributes attributes, bool bias, int64_t group = 1) {
    Shape weights = {out_channels, input[1] / group, kernel[0], kernel[1]};
    OpCall call{"Conv", {runtime_value(random_floats(input)), known(random_floats(weights))}, std::move(attributes)};
    if (bias) call.inputs.push_back(known(random_floats({out_channels})));
    if (group != 1) call.attributes["group"] = group;
    return call;
}

Attributes window(Shape strides, Shape pads, Shape dilations = {1, 1}) {
    return {{"strides", strides}, {"pads", pads}, {"dilations", dilations}};
}

// The image size `kSizes[index]`, or the next one the padded window fits into.
int64_t fitting_size(std::size_t index, int64_t padding, int64_t extent) {
    while (kSizes[index % kSizes.size()] + padding < extent) ++index;
    return kSizes[index % kSizes.size()];
}

// [batch, channels, height, width] with the image halved until a conv of `macs_per_pixel` fits the budget.
Shape budgeted_input(int64_t batch, int64_t channels, int64_t height, int64_t width, int64_t macs_per_pixel) {
    while (batch * height * width * macs_per_pixel > kMacBudget && (height > 3 || width > 3))
        height = std::max<int64_t>(3, height / 2), width = std::max<int64_t>(3, width / 2);
    return {batch, channels, height, width};
}

TEST(KernelTable, PointwiseConvMatchesReference) {
    KernelSweep sweep;
    for (std::size_t i = 0; i < 2 * kChannels.size(); ++i) {
        const int64_t channels = kChannels[i % kChannels.size()], outputs = kChannels[(5 * i + 3) % kChannels.size()];
        Shape input = budgeted_input(1 + static_cast<int64_t>(i % 3), channels, kSizes[i % kSizes.size()],
                                     kSizes[(2 * i + 5) % kSizes.size()], channels * outputs);
        sweep.check(conv(input, outputs, {1, 1}, window({1, 1}, {0, 0, 0, 0}), i % 2 == 0));
    }
    sweep.expect_exercised("conv1x1_gemm_");
}

TEST(KernelTable, DepthwiseConv3x3MatchesReferenceForEveryPadding) {
    std::vector<Attributes> paddings;
    for (int bits = 0; bits < 16; ++bits)  // top, left, bottom, right each 0 or 1
        paddings.push_back({{"pads", Shape{bits & 1, bits >> 1 & 1, bits >> 2 & 1, bits >> 3 & 1}}});
    paddings.push_back({{"auto_pad", std::string("SAME_UPPER")}});
    paddings.push_back({{"auto_pad", std::string("SAME_LOWER")}});
    KernelSweep sweep;
    std::size_t k = 0;
    for (int64_t stride : {1, 2}) {
        for (const Attributes& padding : paddings) {
            for (int variant = 0; variant < 2; ++variant, ++k) {
                Attributes attributes = padding;
                attributes["strides"] = Shape{stride, stride};
                const bool same = padding.contains("auto_pad");
                const Shape pads = same ? Shape{0, 0, 0, 0} : std::get<Shape>(padding.at("pads"));
                const int64_t channels = kChannels[k % kChannels.size()];
                // Auto padding fits any size; explicit padding needs the 3 taps to fit the padded image.
                const int64_t height = fitting_size(2 * k, same ? 2 : pads[0] + pads[2], 3);
                const int64_t width = fitting_size(5 * k + 1, same ? 2 : pads[1] + pads[3], 3);
                sweep.check(conv({1 + static_cast<int64_t>(k % 3), channels, height, width}, channels, {3, 3},
                                 attributes, (k / 2) % 2 == 0, channels));
            }
        }
    }
    sweep.expect_exercised("dwconv3x3_");
}

TEST(KernelTable, GeneralConvMatchesReference) {
    struct Geometry {
        Shape kernel;
        Attributes attributes;
    };
    const Geometry geometries[] = {
        {{3, 3}, window({2, 2}, {1, 1, 1, 1})},  // the stem's, on 3 channels below
        {{3, 3}, window({1, 1}, {1, 1, 1, 1})},
        {{3, 3}, window({2, 2}, {0, 0, 0, 0})},
        {{5, 5}, window({1, 1}, {2, 2, 2, 2})},
        {{5, 5}, window({2, 2}, {1, 2, 2, 1})},
        {{1, 3}, window({1, 1}, {0, 1, 0, 1})},
        {{3, 1}, window({2, 1}, {1, 0, 1, 0})},
        {{3, 3}, window({1, 1}, {2, 2, 2, 2}, {2, 2})},
        {{1, 1}, window({2, 2}, {0, 0, 0, 0})},  // MobileOne's downsampling 1x1 branch
        {{1, 1}, window({1, 1}, {1, 0, 0, 1})},
    };
    KernelSweep sweep;
    std::size_t k = 0;
    for (std::size_t g = 0; g < std::size(geometries); ++g) {
        const Geometry& geometry = geometries[g];
        const Shape pads = std::get<Shape>(geometry.attributes.at("pads"));
        const Shape dilations = std::get<Shape>(geometry.attributes.at("dilations"));
        for (int variant = 0; variant < 3; ++variant, ++k) {
            const int64_t channels = g == 0 ? 3 : kChannels[(3 * k + 1) % kChannels.size()];
            const int64_t outputs = kChannels[(7 * k + 4) % kChannels.size()];
            const int64_t height = fitting_size(k, pads[0] + pads[2], (geometry.kernel[0] - 1) * dilations[0] + 1);
            const int64_t width =
                fitting_size(4 * k + 2, pads[1] + pads[3], (geometry.kernel[1] - 1) * dilations[1] + 1);
            Shape input = budgeted_input(1 + static_cast<int64_t>(k % 3), channels, height, width,
                                         channels * outputs * geometry.kernel[0] * geometry.kernel[1]);
            sweep.check(conv(input, outputs, geometry.kernel, geometry.attributes, variant != 1));
        }
    }
    sweep.expect_exercised("conv_im2col_gemm_");
}

TEST(KernelTable, FastConvKernelsRefuseWhatTheyDoNotImplement) {
    const Attributes same = window({1, 1}, {1, 1, 1, 1});
    expect_only_reference_accepts(conv({1, 4, 7, 7}, 6, {3, 3}, same, true, 2));  // grouped
    expect_only_reference_accepts(conv({2, 8, 5, 5}, 8, {1, 1}, window({1, 1}, {0, 0, 0, 0}), false, 4));
    expect_only_reference_accepts(conv({1, 4, 7, 7}, 8, {3, 3}, same, true, 4));  // depthwise multiplier 2
    expect_only_reference_accepts(conv({1, 8, 9, 9}, 8, {5, 5}, window({1, 1}, {2, 2, 2, 2}), true, 8));
    expect_only_reference_accepts(conv({1, 8, 9, 9}, 8, {3, 3}, window({1, 1}, {2, 2, 2, 2}, {2, 2}), true, 8));
    expect_only_reference_accepts(conv({1, 8, 9, 9}, 8, {3, 3}, window({1, 2}, {1, 1, 1, 1}), true, 8));
    // A 1-D conv, and one whose bias only arrives at run time.
    expect_only_reference_accepts(
        {"Conv", {runtime_value(random_floats({1, 4, 9})), known(random_floats({4, 4, 3}))}, {}});
    expect_only_reference_accepts({"Conv",
                                   {runtime_value(random_floats({1, 4, 5, 5})), known(random_floats({4, 4, 1, 1})),
                                    runtime_value(random_floats({4}))}});
}

// --- Gemm and MatMul ---

TEST(KernelTable, GemmMatchesReference) {
    // Mostly ragged: N and K no multiple of the 8 or 16 lanes or the 16 or 32 columns of a panel (32 fills one).
    const Shape columns = {1, 5, 17, 33, 100, 31, 7, 32}, depths = {1, 3, 7, 15, 31, 65, 129, 20};
    const float betas[] = {1.0f, 0.5f, -2.0f};
    KernelSweep sweep;
    for (int64_t m = 1; m <= 15; ++m) {
        const auto i = static_cast<std::size_t>(m);
        const int64_t n = columns[i % columns.size()], k = depths[(3 * i) % depths.size()];
        const bool transpose_b = m % 2 == 1;
        OpCall call{
            "Gemm",
            {runtime_value(random_floats({m, k})), known(random_floats(transpose_b ? Shape{n, k} : Shape{k, n}))},
            {{"transB", int64_t{transpose_b}}, {"beta", betas[i / 3 % 3]}}};
        if (m % 3 == 1) call.inputs.push_back(known(random_floats({n})));
        if (m % 3 == 2) call.inputs.push_back(known(random_floats({1, n})));
        sweep.check(call);
    }
    // The classifier head: 1024 features to 1000 classes, for one image and a batch of three.
    for (int64_t batch : {1, 3})
        sweep.check({"Gemm",
                     {runtime_value(random_floats({batch, 1024})), known(random_floats({1000, 1024})),
                      known(random_floats({1000}))},
                     {{"transB", int64_t{1}}}});
    sweep.expect_exercised("gemm_packed_");
}

TEST(KernelTable, FastGemmRefusesWhatItDoesNotImplement) {
    auto gemm = [](Attributes attributes, std::optional<Shape> c, bool constant_b = true) {
        OpCall call{"Gemm", {runtime_value(random_floats({4, 6}))}, std::move(attributes)};
        Tensor b = random_floats({6, 5});
        call.inputs.push_back(constant_b ? known(b) : runtime_value(b));
        if (c) call.inputs.push_back(known(random_floats(*c)));
        return call;
    };
    expect_only_reference_accepts(gemm({{"alpha", 2.0f}}, std::nullopt));
    expect_only_reference_accepts(gemm({}, Shape{4, 5}));
    expect_only_reference_accepts(gemm({}, Shape{4, 1}));
    expect_only_reference_accepts(gemm({}, std::nullopt, false));
    OpCall transposed_a{"Gemm", {runtime_value(random_floats({6, 4})), known(random_floats({6, 5}))}};
    transposed_a.attributes["transA"] = int64_t{1};
    expect_only_reference_accepts(transposed_a);
    OpCall runtime_c = gemm({}, std::nullopt);
    runtime_c.inputs.push_back(runtime_value(random_floats({5})));
    expect_only_reference_accepts(runtime_c);
}

TEST(KernelTable, MatMulByConstantMatrixMatchesReference) {
    const std::pair<Shape, int64_t> cases[] = {{{2, 5, 7}, 17}, {{3, 1, 33}, 9}, {{1, 15, 64}, 100},
                                               {{2, 3, 1}, 5},  {{4, 9}, 33},    {{2, 3, 5, 8}, 3}};
    KernelSweep sweep;
    for (const auto& [a, n] : cases)
        sweep.check({"MatMul", {runtime_value(random_floats(a)), known(random_floats({a.back(), n}))}});
    sweep.expect_exercised("matmul_packed_");

    expect_only_reference_accepts(
        {"MatMul", {runtime_value(random_floats({2, 4, 3})), known(random_floats({2, 3, 5}))}});
    expect_only_reference_accepts(
        {"MatMul", {runtime_value(random_floats({4, 3})), runtime_value(random_floats({3, 5}))}});
    expect_only_reference_accepts({"MatMul", {runtime_value(random_floats({3})), known(random_floats({3, 5}))}});
}

// --- Per-channel ops ---

TEST(KernelTable, GlobalAveragePoolMatchesReference) {
    KernelSweep sweep;
    for (std::size_t i = 0; i < kChannels.size(); ++i)
        sweep.check({"GlobalAveragePool",
                     {runtime_value(random_floats({1 + static_cast<int64_t>(i % 3), kChannels[i],
                                                   kSizes[i % kSizes.size()], kSizes[(4 * i + 2) % kSizes.size()]}))}});
    sweep.expect_exercised("global_average_pool_nhwc_");
}

TEST(KernelTable, MulByChannelScaleMatchesReference) {
    KernelSweep sweep;
    std::size_t k = 0;
    for (bool scale_first : {false, true}) {
        for (bool per_image : {false, true}) {
            for (bool constant_scale : {false, true}) {
                for (int variant = 0; variant < 2; ++variant, ++k) {
                    const int64_t batch = 1 + static_cast<int64_t>(k % 3),
                                  channels = kChannels[(5 * k + 2) % kChannels.size()];
                    // One pixel per channel is a layout-neutral value, which the NHWC kernel leaves to the reference.
                    const int64_t height = kSizes[(k + 1) % kSizes.size()], width = kSizes[(3 * k + 2) % kSizes.size()];
                    OpInput image = runtime_value(random_floats({batch, channels, height, width}));
                    Tensor factor = random_floats({per_image ? batch : 1, channels, 1, 1});
                    OpInput scale = constant_scale ? known(factor) : runtime_value(factor);
                    sweep.check({"Mul", scale_first ? std::vector{scale, image} : std::vector{image, scale}});
                }
            }
        }
    }
    // An image known at plan time (weights scaled by a run-time factor) stays NCHW, as every constant does.
    for (bool scale_first : {false, true}) {
        OpInput image = known(random_floats({1, 9, 5, 7})), scale = runtime_value(random_floats({1, 9, 1, 1}));
        sweep.check({"Mul", scale_first ? std::vector{scale, image} : std::vector{image, scale}});
    }
    sweep.expect_exercised("mul_channel_scale_nhwc_");

    const OpInput image = runtime_value(random_floats({2, 6, 5, 5}));
    expect_only_reference_accepts({"Mul", {image, runtime_value(random_floats({1, 6, 5, 5}))}});
    expect_only_reference_accepts({"Mul", {image, runtime_value(random_floats({6, 1, 1}))}});
    expect_only_reference_accepts({"Mul", {image, runtime_value(random_floats({1, 1, 1, 1}))}});
}

// --- The layers of MobileOne, which must not fall back to the reference ---

struct Layer {
    const char* name;
    OpCall call;
    const char* kernel;  // the selected entry's name starts with this and ends with its ISA
};

std::vector<Layer> mobileone_layers() {
    const Attributes pad1 = window({1, 1}, {1, 1, 1, 1}), pad1_stride2 = window({2, 2}, {1, 1, 1, 1});
    return {
        {"stem", conv({1, 3, 224, 224}, 48, {3, 3}, pad1_stride2, true), "conv_im2col_gemm_"},
        {"pointwise", conv({1, 128, 28, 28}, 128, {1, 1}, window({1, 1}, {0, 0, 0, 0}), true), "conv1x1_gemm_"},
        {"depthwise stride 1", conv({1, 128, 28, 28}, 128, {3, 3}, pad1, true, 128), "dwconv3x3_"},
        {"depthwise stride 2", conv({1, 128, 28, 28}, 128, {3, 3}, pad1_stride2, true, 128), "dwconv3x3_"},
        {"global average pool",
         {"GlobalAveragePool", {runtime_value(random_floats({1, 1024, 7, 7}))}},
         "global_average_pool_nhwc_"},
        {"classifier",
         {"Gemm",
          {runtime_value(random_floats({1, 1024})), known(random_floats({1000, 1024})), known(random_floats({1000}))},
          {{"transB", int64_t{1}}}},
         "gemm_packed_"},
        {"squeeze-excite scale",
         {"Mul", {runtime_value(random_floats({1, 256, 14, 14})), runtime_value(random_floats({1, 256, 1, 1}))}},
         "mul_channel_scale_nhwc_"},
    };
}

TEST(KernelTable, FastKernelsServeEveryMobileOneLayer) {
    std::vector<runtime::Isa> isas = runnable_isas();
    const char* forced = std::getenv("MOBILEONE_ISA");
    if (forced && *forced && std::string(forced) != "generic") {  // a level was asked for: its kernels must run
        std::vector<std::string> names;
        for (runtime::Isa isa : isas) names.push_back(runtime::to_string(isa));
        ASSERT_NE(std::find(names.begin(), names.end(), forced), names.end())
            << "MOBILEONE_ISA=" << forced << " but no micro-kernel set of that level runs";
    }
    for (const Layer& layer : mobileone_layers()) {
        SCOPED_TRACE(layer.name);
        std::vector<const KernelEntry*> entries = accepting_kernels(layer.call);
        ASSERT_FALSE(entries.empty());
        if (isas.empty()) {  // MOBILEONE_ISA=generic, or a CPU without any set: only the reference serves it
            EXPECT_EQ(entries.front()->name, layer.call.op_type + "_reference");
            continue;
        }
        const runtime::Isa widest = *std::max_element(isas.begin(), isas.end(), [](runtime::Isa a, runtime::Isa b) {
            return runtime::isa_rank(a) < runtime::isa_rank(b);
        });
        EXPECT_TRUE(entries.front()->name.starts_with(layer.kernel)) << entries.front()->name;
        EXPECT_EQ(entries.front()->isa, widest) << entries.front()->name;
        for (runtime::Isa isa : isas)
            EXPECT_TRUE(std::any_of(
                entries.begin(), entries.end(),
                [&](const KernelEntry* entry) { return entry->isa == isa && entry->name.starts_with(layer.kernel); }))
                << "no " << layer.kernel << runtime::to_string(isa) << " entry accepts it";
    }
}

}  // namespace
}  // namespace mobileone
