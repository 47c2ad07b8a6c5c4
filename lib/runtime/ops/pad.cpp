// Pad: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; output dim = dim + begin + end. Negative pads crop
// first (as ONNX's reference does), then along each axis an output index maps to an index of the kept range, or past it:
//   constant  past the range -> constant_value (default 0)
//   edge      the nearest element of the range
//   reflect   mirrored about the range's first and last elements, i.e. periodic with period 2 * (length - 1)
// Before opset 11 pads and value are attributes (opset 1 calls pads "paddings"); from 11 pads is a constant input,
// constant_value an optional scalar input, and from 18 an optional constant `axes` input says which axes pads covers.
#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

enum class PadMode { Constant, Edge, Reflect };

struct PadSpec {
    PadMode mode = PadMode::Constant;
    std::vector<int64_t> begins;  // per input axis
    std::vector<int64_t> ends;
};

PadSpec pad_spec(const NodeSignature& signature) {
    const Node& node = signature.node;
    PadSpec spec;
    std::string mode = node.attribute_string("mode", "constant");
    if (mode == "constant") spec.mode = PadMode::Constant;
    else if (mode == "edge") spec.mode = PadMode::Edge;
    else if (mode == "reflect") spec.mode = PadMode::Reflect;
    else fail("node {}: mode '{}' is not supported", node.label(), mode);

    const auto rank = static_cast<int64_t>(signature.inputs[0].shape.size());
    std::vector<int64_t> pads;
    std::vector<int64_t> axes(static_cast<std::size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
    if (signature.opset < 11) {
        const char* pads_attribute = signature.opset < 2 ? "paddings" : "pads";
        if (!node.has_attribute(pads_attribute)) fail("node {}: attribute {} is required", node.label(), pads_attribute);
        pads = node.attribute_ints(pads_attribute);
    } else {
        pads = constant_ints(signature, 1, "pads");
        if (signature.has_input(3)) axes = normalize_axes(node, constant_ints(signature, 3, "axes"), rank);
    }
    if (pads.size() != 2 * axes.size())
        fail("node {}: {} pads given for {} axes", node.label(), pads.size(), axes.size());
    spec.begins.assign(static_cast<std::size_t>(rank), 0);
    spec.ends.assign(static_cast<std::size_t>(rank), 0);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        spec.begins[static_cast<std::size_t>(axes[i])] = pads[i];
        spec.ends[static_cast<std::size_t>(axes[i])] = pads[i + axes.size()];
    }
    return spec;
}

std::vector<ValueType> infer_pad(const NodeSignature& signature) {
    const Node& node = signature.node;
    if (signature.opset < 11) expect_input_count(signature, 1, 1);
    else expect_input_count(signature, 2, signature.opset >= 18 ? 4 : 3);
    expect_dtype(node, signature.inputs[0].dtype, "input", NumericTypes{});
    if (signature.has_input(2)) {
        expect_same_dtype(signature, 0, 2);
        if (signature.inputs[2].numel() != 1) fail("node {}: constant_value must be a scalar", node.label());
    }
    PadSpec spec = pad_spec(signature);
    const std::vector<int64_t>& input = signature.inputs[0].shape;
    std::vector<int64_t> shape(input.size());
    for (std::size_t axis = 0; axis < input.size(); ++axis) {
        int64_t kept = input[axis] + std::min<int64_t>(spec.begins[axis], 0) + std::min<int64_t>(spec.ends[axis], 0);
        shape[axis] = input[axis] + spec.begins[axis] + spec.ends[axis];
        if (kept < 0 || shape[axis] < 0)
            fail("node {}: pads crop axis {} (size {}) below zero", node.label(), axis, input[axis]);
        if (kept == 0 && shape[axis] > 0 && spec.mode != PadMode::Constant)
            fail("node {}: axis {} has no elements to pad from", node.label(), axis);
    }
    return {{signature.inputs[0].dtype, shape}};
}

// The input index that output index `o` of one axis reads, or -1 for the constant.
int64_t source_index(PadMode mode, int64_t o, int64_t dim, int64_t begin, int64_t end) {
    const int64_t first = std::max<int64_t>(-begin, 0);
    const int64_t length = dim - first - std::max<int64_t>(-end, 0);
    const int64_t j = o - std::max<int64_t>(begin, 0);
    switch (mode) {
        case PadMode::Constant: return j >= 0 && j < length ? first + j : -1;
        case PadMode::Edge: return first + std::clamp<int64_t>(j, 0, length - 1);
        case PadMode::Reflect: {
            if (length == 1) return first;
            const int64_t period = 2 * (length - 1);
            int64_t m = std::abs(j) % period;
            return first + (m < length ? m : period - m);
        }
    }
    return -1;
}

template <typename T>
class PadKernel final : public Kernel {
public:
    PadKernel(std::vector<int64_t> dims, std::vector<int64_t> strides, std::vector<int64_t> sources, bool value_from_input,
              T value)
        : dims_(std::move(dims)),
          strides_(std::move(strides)),
          sources_(std::move(sources)),
          value_from_input_(value_from_input),
          value_(value) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const T* in = inputs[0].as<T>();
        T* out = outputs[0].as<T>();
        if (outputs[0].numel() == 0) return;
        const T value = value_from_input_ && has_view(inputs, 2) ? inputs[2].as<T>()[0] : value_;
        const std::size_t inner_axis = dims_.size() - 1;
        const int64_t inner = dims_[inner_axis];
        const int64_t* inner_sources = sources_.data() + sources_.size() - static_cast<std::size_t>(inner);
        pool.parallel_for(
            outputs[0].numel() / inner,
            [&](int64_t begin, int64_t end) {
                for (int64_t row = begin; row < end; ++row) {
                    T* to = out + row * inner;
                    // The row's input offset, or -1 when an outer axis maps past the input (a row of constants).
                    int64_t offset = 0;
                    std::size_t table = sources_.size() - static_cast<std::size_t>(inner);
                    int64_t rest = row;
                    for (std::size_t axis = inner_axis; axis-- > 0 && offset >= 0;) {
                        table -= static_cast<std::size_t>(dims_[axis]);
                        int64_t source = sources_[table + static_cast<std::size_t>(rest % dims_[axis])];
                        rest /= dims_[axis];
                        offset = source < 0 ? -1 : offset + source * strides_[axis];
                    }
                    for (int64_t k = 0; k < inner; ++k)
                        to[k] = offset < 0 || inner_sources[k] < 0 ? value : in[offset + inner_sources[k]];
                }
            },
            std::max<int64_t>(1, kElementsPerTask / inner));
    }

private:
    std::vector<int64_t> dims_;     // output dims, never empty
    std::vector<int64_t> strides_;  // input strides
    std::vector<int64_t> sources_;  // per axis in order, per output index: source_index
    bool value_from_input_;
    T value_;
};

std::unique_ptr<Kernel> make_pad(const NodeSignature& signature) {
    PadSpec spec = pad_spec(signature);
    const std::vector<int64_t>& input = signature.inputs[0].shape;
    std::vector<int64_t> dims = {1};  // a leading 1 lets a scalar walk one row of one element
    std::vector<int64_t> strides = {0};
    std::vector<int64_t> sources = {0};
    std::vector<int64_t> input_strides(input.size());
    int64_t stride = 1;
    for (std::size_t axis = input.size(); axis-- > 0;) {
        input_strides[axis] = stride;
        stride *= input[axis];
    }
    for (std::size_t axis = 0; axis < input.size(); ++axis) {
        const int64_t dim = input[axis] + spec.begins[axis] + spec.ends[axis];
        dims.push_back(dim);
        strides.push_back(input_strides[axis]);
        for (int64_t o = 0; o < dim; ++o)
            sources.push_back(source_index(spec.mode, o, input[axis], spec.begins[axis], spec.ends[axis]));
    }
    const bool value_from_input = signature.opset >= 11;
    const float attribute_value = signature.node.attribute_float("value", 0.0f);
    return make_for_dtype(NumericTypes{}, signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        return std::unique_ptr<Kernel>(
            new PadKernel<T>(dims, strides, sources, value_from_input, static_cast<T>(attribute_value)));
    });
}

}  // namespace

MOBILEONE_REGISTER_OP(Pad, infer_pad, make_pad);

}  // namespace mobileone::runtime
