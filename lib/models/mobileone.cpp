// The MobileOne train graph as PyTorch 1.13's torch.onnx.export writes it for tools/mobileone_torch.py's model.
// Every exporter quirk a converter meets in the wild is reproduced on purpose:
//   * the block sum is (scale + skip) + branch_1 + ... + branch_k with a missing term as the integer 0, so a block
//     lacking the scale or the skip branch (or both) starts with Add(x, Constant 0.0), except where nothing is added
//     after that first term (a lone branch), because TorchScript's peephole then drops `0 + x`;
//   * the SE pooling avg_pool2d(kernel=[h, w]) becomes Pad(zeros) -> AveragePool;
//   * view() shapes are one folded Constant in the Prefused style, and Unsqueeze/Concat of scalar Constants in the
//     BatchNorm style, where TorchScript's constant pooling shares the literals 1 (hoisted to the first node) and -1
//     (created at its first use) between every SE block and the head.
#include "models/mobileone.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ir/error.h"
#include "models/seeded_random.h"

namespace mobileone {
namespace {

constexpr std::array<int64_t, 4> kStageWidths{64, 128, 256, 512};
constexpr std::array<int, 4> kStageDepths{2, 8, 10, 1};
constexpr int64_t kImageSize = 224;
constexpr int64_t kClasses = 1000;
constexpr double kBatchNormEpsilon = 1e-5;
constexpr int kMinOpset = 11;
constexpr int kMaxOpset = 17;

struct VariantSpec {
    std::array<double, 4> width_multipliers;
    int conv_branches;
    bool use_se;
};

VariantSpec spec_of(MobileOneVariant variant) {
    switch (variant) {
        case MobileOneVariant::S0: return {{0.75, 1.0, 1.0, 2.0}, 4, false};
        case MobileOneVariant::S1: return {{1.5, 1.5, 2.0, 2.5}, 1, false};
        case MobileOneVariant::S2: return {{1.5, 2.0, 2.5, 4.0}, 1, false};
        case MobileOneVariant::S3: return {{2.0, 2.5, 3.0, 4.0}, 1, false};
        case MobileOneVariant::S4: return {{3.0, 3.5, 3.5, 4.0}, 1, true};
    }
    fail("unknown MobileOne variant {}", static_cast<int>(variant));
}

// What torch.onnx.export writes into the ModelProto header for each opset.
int64_t ir_version_for(int opset) { return opset <= 11 ? 6 : opset <= 14 ? 7 : 8; }

using Ints = std::vector<int64_t>;
using Attributes = std::map<std::string, Attribute>;

Tensor int64_scalar(int64_t value) { return Tensor::from_values<int64_t>({}, std::vector<int64_t>{value}); }
Tensor int64_vector(Ints values) {
    auto size = static_cast<int64_t>(values.size());
    return Tensor::from_values<int64_t>({size}, values);
}

Tensor normal_tensor(SeededRandom& random, std::vector<int64_t> dims, double stddev) {
    std::vector<double> values(static_cast<std::size_t>(element_count(dims)));
    for (double& value : values) value = random.normal(stddev);
    return Tensor::from_doubles(DataType::Float, std::move(dims), values);
}

Tensor uniform_tensor(SeededRandom& random, int64_t size, double low, double high, double gain = 1.0) {
    std::vector<double> values(static_cast<std::size_t>(size));
    for (double& value : values) value = gain * random.uniform(low, high);
    return Tensor::from_doubles(DataType::Float, {size}, values);
}

// Distributions as in tools/mobileone_torch.py's build(): they keep activations of order one through the depth.
struct BatchNormParameters {
    Tensor scale, bias, mean, variance;

    static BatchNormParameters draw(SeededRandom& random, int64_t channels, double gain) {
        BatchNormParameters bn;
        bn.scale = uniform_tensor(random, channels, 0.5, 1.5, gain);
        bn.bias = normal_tensor(random, {channels}, 0.1);
        bn.mean = normal_tensor(random, {channels}, 0.1);
        bn.variance = uniform_tensor(random, channels, 0.5, 2.0);
        return bn;
    }
};

struct ConvShape {
    int64_t in_channels, out_channels, kernel, stride, groups;

    Ints weight_dims() const { return {out_channels, in_channels / groups, kernel, kernel}; }
    int64_t fan_in() const { return in_channels / groups * kernel * kernel; }
    Attributes attributes() const {
        int64_t pad = kernel / 2;
        return {{"dilations", Ints{1, 1}},
                {"group", groups},
                {"kernel_shape", Ints{kernel, kernel}},
                {"pads", Ints{pad, pad, pad, pad}},
                {"strides", Ints{stride, stride}}};
    }
};

// Conv(W) -> BN as one Conv(W', b'): W' = W * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps),
// what the exporter's eval-mode folding computes. In double, rounded once.
std::pair<Tensor, Tensor> fold_batch_norm(const Tensor& weight, const BatchNormParameters& bn) {
    auto gamma = bn.scale.to_doubles(), beta = bn.bias.to_doubles();
    auto mean = bn.mean.to_doubles(), variance = bn.variance.to_doubles();
    auto kernel = weight.to_doubles();
    std::size_t channels = gamma.size(), per_channel = kernel.size() / channels;
    std::vector<double> bias(channels);
    for (std::size_t c = 0; c < channels; ++c) {
        double ratio = gamma[c] / std::sqrt(variance[c] + kBatchNormEpsilon);
        for (std::size_t i = 0; i < per_channel; ++i) kernel[c * per_channel + i] *= ratio;
        double shift = mean[c] * ratio;  // its own statement: no fused multiply-add, the same bits everywhere
        bias[c] = beta[c] - shift;
    }
    return {Tensor::from_doubles(DataType::Float, weight.dims(), kernel),
            Tensor::from_doubles(DataType::Float, {static_cast<int64_t>(channels)}, bias)};
}

// Appends nodes named the way the exporter names them: "<scope>/<Op>" then "<scope>/<Op>_1", ... per scope,
// each with the single output "<node name>_output_0".
class GraphWriter {
public:
    GraphWriter(Graph& graph, int opset) : graph_(graph), opset_(opset) {}

    int opset() const { return opset_; }

    std::string node(const std::string& scope, const std::string& op, std::vector<std::string> inputs,
                     Attributes attributes = {}, std::string output = {}) {
        int& count = counters_[scope + "/" + op];
        std::string name = count == 0 ? fmt::format("{}/{}", scope, op) : fmt::format("{}/{}_{}", scope, op, count);
        ++count;
        if (output.empty()) output = name + "_output_0";
        graph_.nodes.push_back({name, op, "", std::move(inputs), {output}, std::move(attributes), {}});
        return output;
    }

    std::string constant(const std::string& scope, Tensor value) {
        return node(scope, "Constant", {}, {{"value", std::move(value)}});
    }

    // The exporter leaves Unsqueeze's axes Constants unscoped, named after their position in the graph.
    std::string unscoped_constant(Tensor value) {
        std::string name = fmt::format("Constant_{}", graph_.nodes.size());
        std::string output = name + "_output_0";
        graph_.nodes.push_back({name, "Constant", "", {}, {output}, {{"value", std::move(value)}}, {}});
        return output;
    }

    std::string initializer(std::string name, Tensor value) {
        graph_.initializers[name] = std::move(value);
        return name;
    }

private:
    Graph& graph_;
    int opset_;
    std::map<std::string, int> counters_;
};

// Where a module sits: `scope` names its nodes (torch's "/stage1/stage1.0"), `parameters` prefixes its weights
// (the state-dict key "stage1.0").
struct Place {
    std::string scope;
    std::string parameters;

    Place child(const std::string& name) const { return {scope + "/" + name, parameters + "." + name}; }
};

struct BlockShape {
    int64_t in_channels, out_channels, kernel, stride, groups, out_size;
    int conv_branches;
    bool squeeze_excite;
};

class MobileOneBuilder {
public:
    MobileOneBuilder(MobileOneVariant variant, ExportStyle style, uint64_t seed, Graph& graph, int opset, int64_t batch)
        : spec_(spec_of(variant)), style_(style), batch_(batch), random_(seed), writer_(graph, opset) {}

    void build() {
        // TorchScript pools the literal 1 of the SE view() calls with the first conv's integer arguments: its
        // Constant comes first and carries that conv's scope.
        if (style_ == ExportStyle::BatchNorm && spec_.use_se)
            one_ = writer_.constant("/stage0/scale/scale.0", int64_scalar(1));
        int64_t channels = std::min<int64_t>(64, width(64, 0));
        int64_t size = kImageSize / 2;
        // The stem has a single over-parameterized branch in every variant, as in Apple's model.
        std::string x = block({"/stage0", "stage0"}, {3, channels, 3, 2, 1, size, 1, false}, "input");
        for (int stage = 0; stage < 4; ++stage) {
            int64_t stage_width = width(kStageWidths[stage], stage);
            int depth = kStageDepths[stage];
            int se_blocks = !spec_.use_se ? 0 : stage == 2 ? depth / 2 : stage == 3 ? depth : 0;
            std::string name = fmt::format("stage{}", stage + 1);
            for (int index = 0; index < depth; ++index) {
                int64_t stride = index == 0 ? 2 : 1;
                size /= stride;
                bool se = index >= depth - se_blocks;
                auto place = [&](int position) {
                    std::string local = fmt::format("{}.{}", name, position);
                    return Place{fmt::format("/{}/{}", name, local), local};
                };
                int k = spec_.conv_branches;
                x = block(place(2 * index), {channels, channels, 3, stride, channels, size, k, se}, x);
                x = block(place(2 * index + 1), {channels, stage_width, 1, 1, 1, size, k, se}, x);
                channels = stage_width;
            }
        }
        head(x, channels);
    }

private:
    int64_t width(int64_t base, int stage) const {
        return static_cast<int64_t>(static_cast<double>(base) * spec_.width_multipliers[stage]);
    }

    std::string block(const Place& place, const BlockShape& shape, const std::string& x) {
        bool has_skip = shape.in_channels == shape.out_channels && shape.stride == 1;
        bool has_scale = shape.kernel > 1;
        int terms = shape.conv_branches + has_scale + has_skip;
        double branch_variance = 1.5 / terms;
        std::optional<std::string> skip, scale, total;
        if (has_skip) skip = batch_norm(place.child("skip"), x, shape.in_channels, 1.0 / std::sqrt(terms));
        if (has_scale) {
            ConvShape conv{shape.in_channels, shape.out_channels, 1, shape.stride, shape.groups};
            scale = conv_bn(place, "scale", x, conv, branch_variance);
        }
        if (scale && skip) total = add(place.scope, *scale, *skip);
        else if (scale || skip) total = add_zero(place.scope, scale ? *scale : *skip);
        ConvShape conv{shape.in_channels, shape.out_channels, shape.kernel, shape.stride, shape.groups};
        for (int index = 0; index < shape.conv_branches; ++index) {
            std::string branch = conv_bn(place, fmt::format("branches.{}", index), x, conv, branch_variance);
            bool added_into_later = index + 1 < shape.conv_branches;
            // TorchScript's peephole drops `0 + x` unless a later in-place `+=` writes into its result.
            if (total) total = add(place.scope, *total, branch);
            else total = added_into_later ? add_zero(place.scope, branch) : branch;
        }
        std::string result = *total;
        if (shape.squeeze_excite) result = squeeze_excite(place.child("se"), result, shape.out_channels, shape.out_size);
        return writer_.node(place.scope, "Relu", {result});
    }

    // An nn.Sequential(Conv2d(bias=False), BatchNorm2d) called `name` inside the block at `place`.
    std::string conv_bn(const Place& place, const std::string& name, const std::string& x, const ConvShape& conv,
                        double variance_scale) {
        Place sequential = place.child(name);
        Place conv_place{sequential.scope + "/" + name + ".0", sequential.parameters + ".0"};
        Place bn_place{sequential.scope + "/" + name + ".1", sequential.parameters + ".1"};
        Tensor weight = normal_tensor(random_, conv.weight_dims(), std::sqrt(variance_scale / conv.fan_in()));
        auto bn = BatchNormParameters::draw(random_, conv.out_channels, 1.0);
        if (style_ == ExportStyle::Prefused) {
            auto [folded_weight, folded_bias] = fold_batch_norm(weight, bn);
            std::string w = writer_.initializer(conv_place.parameters + ".weight", std::move(folded_weight));
            std::string b = writer_.initializer(conv_place.parameters + ".bias", std::move(folded_bias));
            return writer_.node(conv_place.scope, "Conv", {x, w, b}, conv.attributes());
        }
        std::string w = writer_.initializer(conv_place.parameters + ".weight", std::move(weight));
        std::string convolved = writer_.node(conv_place.scope, "Conv", {x, w}, conv.attributes());
        return batch_norm_node(bn_place, convolved, std::move(bn));
    }

    std::string batch_norm(const Place& place, const std::string& x, int64_t channels, double gain) {
        return batch_norm_node(place, x, BatchNormParameters::draw(random_, channels, gain));
    }

    std::string batch_norm_node(const Place& place, const std::string& x, BatchNormParameters bn) {
        const std::string& prefix = place.parameters;
        std::vector<std::string> inputs{x, writer_.initializer(prefix + ".weight", std::move(bn.scale)),
                                        writer_.initializer(prefix + ".bias", std::move(bn.bias)),
                                        writer_.initializer(prefix + ".running_mean", std::move(bn.mean)),
                                        writer_.initializer(prefix + ".running_var", std::move(bn.variance))};
        Attributes attributes{{"epsilon", static_cast<float>(kBatchNormEpsilon)}, {"momentum", 0.9f}};
        if (writer_.opset() >= 14) attributes["training_mode"] = int64_t{0};
        return writer_.node(place.scope, "BatchNormalization", std::move(inputs), std::move(attributes));
    }

    std::string add(const std::string& scope, const std::string& a, const std::string& b) {
        return writer_.node(scope, "Add", {a, b});
    }

    // `x + 0` (or `0 + x`, which torch records the same way) for a sum that started from the integer 0.
    std::string add_zero(const std::string& scope, const std::string& x) {
        std::string zero = writer_.constant(scope, Tensor::scalar(0.0f));
        return add(scope, x, zero);
    }

    // x * sigmoid(expand(relu(reduce(avg_pool2d(x, [size, size]))))).view(-1, channels, 1, 1)
    std::string squeeze_excite(const Place& place, const std::string& x, int64_t channels, int64_t size) {
        const std::string& scope = place.scope;
        bool folded = style_ == ExportStyle::Prefused;
        std::optional<std::string> traced_channels;
        if (!folded) traced_channels = writer_.constant(scope, int64_scalar(channels));
        std::string pads = writer_.constant(scope, int64_vector(Ints(8, 0)));
        std::string padded = writer_.node(scope, "Pad", {x, pads}, {{"mode", std::string("constant")}});
        std::string pooled = writer_.node(scope, "AveragePool", {padded},
                                          {{"ceil_mode", int64_t{0}},
                                           {"kernel_shape", Ints{size, size}},
                                           {"pads", Ints{0, 0, 0, 0}},
                                           {"strides", Ints{size, size}}});
        auto reduced_channels = static_cast<int64_t>(static_cast<double>(channels) * 0.0625);
        std::string reduced = se_conv(place.child("reduce"), pooled, channels, reduced_channels, 0.0);
        std::string activated = writer_.node(scope, "Relu", {reduced});
        std::string expanded = se_conv(place.child("expand"), activated, reduced_channels, channels, 3.0);
        std::string gate = writer_.node(scope, "Sigmoid", {expanded});
        std::string shape;
        if (folded) {
            shape = writer_.constant(scope, int64_vector({-1, channels, 1, 1}));
        } else {
            if (!minus_one_) minus_one_ = writer_.constant(scope, int64_scalar(-1));
            shape = shape_from_scalars(scope, {*minus_one_, *traced_channels, *one_, *one_});
        }
        std::string reshaped = reshape(scope, gate, shape);
        return writer_.node(scope, "Mul", {x, reshaped});
    }

    // Weights N(0, 1 / fan_in), biases U(-0.1, 0.1) + bias_offset (the expand conv opens its gates with +3).
    std::string se_conv(const Place& place, const std::string& x, int64_t in_channels, int64_t out_channels,
                        float bias_offset) {
        ConvShape conv{in_channels, out_channels, 1, 1, 1};
        Tensor weight = normal_tensor(random_, conv.weight_dims(), std::sqrt(1.0 / conv.fan_in()));
        Tensor bias = uniform_tensor(random_, out_channels, -0.1, 0.1);
        for (float& value : bias.data<float>()) value += bias_offset;
        std::string w = writer_.initializer(place.parameters + ".weight", std::move(weight));
        std::string b = writer_.initializer(place.parameters + ".bias", std::move(bias));
        return writer_.node(place.scope, "Conv", {x, w, b}, conv.attributes());
    }

    // Concat of the Unsqueeze'd scalars: how a traced view() size list reaches ONNX without constant folding.
    std::string shape_from_scalars(const std::string& scope, const std::vector<std::string>& scalars) {
        std::vector<std::string> pieces;
        for (const std::string& scalar : scalars) {
            if (writer_.opset() >= 13) {
                std::string axes = writer_.unscoped_constant(int64_vector({0}));
                pieces.push_back(writer_.node(scope, "Unsqueeze", {scalar, axes}));
            } else {
                pieces.push_back(writer_.node(scope, "Unsqueeze", {scalar}, {{"axes", Ints{0}}}));
            }
        }
        return writer_.node(scope, "Concat", pieces, {{"axis", int64_t{0}}});
    }

    std::string reshape(const std::string& scope, const std::string& x, const std::string& shape) {
        Attributes attributes;
        if (writer_.opset() >= 14) attributes["allowzero"] = int64_t{0};
        return writer_.node(scope, "Reshape", {x, shape}, std::move(attributes));
    }

    // linear(gap(x).view(x.size(0), -1)): tracing records x.size(0) as the batch it saw.
    void head(const std::string& x, int64_t channels) {
        std::string pooled = writer_.node("/gap", "GlobalAveragePool", {x});
        std::string shape;
        if (style_ == ExportStyle::Prefused) {
            shape = writer_.constant("", int64_vector({batch_, -1}));
        } else {
            std::string batch = writer_.constant("", int64_scalar(batch_));
            if (!minus_one_) minus_one_ = writer_.constant("", int64_scalar(-1));
            shape = shape_from_scalars("", {batch, *minus_one_});
        }
        std::string flat = reshape("", pooled, shape);
        Tensor weight = normal_tensor(random_, {kClasses, channels}, std::sqrt(4.0 / static_cast<double>(channels)));
        Tensor bias = uniform_tensor(random_, kClasses, -0.1, 0.1);
        std::string w = writer_.initializer("linear.weight", std::move(weight));
        std::string b = writer_.initializer("linear.bias", std::move(bias));
        writer_.node("/linear", "Gemm", {flat, w, b}, {{"alpha", 1.0f}, {"beta", 1.0f}, {"transB", int64_t{1}}},
                     "output");
    }

    VariantSpec spec_;
    ExportStyle style_;
    int64_t batch_;
    SeededRandom random_;
    GraphWriter writer_;
    std::optional<std::string> one_, minus_one_;  // TorchScript's pooled literals (BatchNorm style)
};

std::vector<Dim> static_dims(std::initializer_list<int64_t> sizes) {
    std::vector<Dim> dims;
    for (int64_t size : sizes) dims.push_back({size, {}});
    return dims;
}

}  // namespace

MobileOneVariant parse_mobileone_variant(std::string_view text) {
    if (text == "s0") return MobileOneVariant::S0;
    if (text == "s1") return MobileOneVariant::S1;
    if (text == "s2") return MobileOneVariant::S2;
    if (text == "s3") return MobileOneVariant::S3;
    if (text == "s4") return MobileOneVariant::S4;
    fail("unknown MobileOne variant '{}' (expected s0, s1, s2, s3 or s4)", text);
}

ExportStyle parse_export_style(std::string_view text) {
    if (text == "prefused") return ExportStyle::Prefused;
    if (text == "bn") return ExportStyle::BatchNorm;
    fail("unknown export style '{}' (expected prefused or bn)", text);
}

std::string_view to_string(MobileOneVariant variant) {
    static constexpr std::array<std::string_view, 5> names{"s0", "s1", "s2", "s3", "s4"};
    return names.at(static_cast<std::size_t>(variant));
}

std::string_view to_string(ExportStyle style) { return style == ExportStyle::Prefused ? "prefused" : "bn"; }

Model build_mobileone(MobileOneVariant variant, ExportStyle style, uint64_t seed, int opset, int64_t batch) {
    if (opset < kMinOpset || opset > kMaxOpset)
        fail("MobileOne builder: opset {} is not supported (expected {} to {})", opset, kMinOpset, kMaxOpset);
    if (batch < 1) fail("MobileOne builder: batch {} is not supported (expected at least 1)", batch);
    Model model;
    model.ir_version = ir_version_for(opset);
    model.opset_imports = {{"", opset}};
    model.producer_name = "mobileone build_mobileone";
    Graph& graph = model.graph;
    graph.name = fmt::format("mobileone_{}_{}", to_string(variant), to_string(style));
    graph.inputs.push_back({"input", DataType::Float, static_dims({batch, 3, kImageSize, kImageSize}), {}});
    graph.outputs.push_back({"output", DataType::Float, static_dims({batch, kClasses}), {}});
    MobileOneBuilder(variant, style, seed, graph, opset, batch).build();
    return model;
}

}  // namespace mobileone
