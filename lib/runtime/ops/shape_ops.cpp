// Ops that only change a value's shape or produce known values; their kernels copy bytes, whatever the element type.
//   Flatten    [d0..dn) -> [d0*..*d(axis-1), d(axis)*..*d(n-1)]
//   Reshape    to the constant `shape`: 0 copies the input dim (unless allowzero=1, opset >= 14), -1 is inferred
//   Unsqueeze  inserts size-1 dims at `axes` (attribute before opset 13, constant input from 13)
//   Squeeze    removes the size-1 dims at `axes` (same rule), or every size-1 dim when axes are not given
//   Shape      the input's dims as int64, sliced by start/end (opset >= 15)
//   Constant   its value_* attribute
//   Identity   a copy
//   Dropout    at inference a copy; the optional mask is all true (all ones before opset 10, typed like the input)
#include <algorithm>
#include <optional>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

void copy_bytes(const std::byte* from, std::byte* to, std::size_t size, ThreadPool& pool) {
    constexpr int64_t kBytesPerTask = kElementsPerTask * 4;
    pool.parallel_for(
        static_cast<int64_t>(size),
        [&](int64_t begin, int64_t end) {
            std::copy(from + begin, from + end, to + begin);
        },
        kBytesPerTask);
}

// Serves every op whose output holds the input's bytes unchanged.
class CopyKernel final : public Kernel {
public:
    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        copy_bytes(inputs[0].data, outputs[0].data, outputs[0].type.byte_size(), pool);
    }
};

std::unique_ptr<Kernel> make_copy(const NodeSignature&) { return std::make_unique<CopyKernel>(); }

std::vector<ValueType> infer_identity(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    return {signature.inputs[0]};
}

std::vector<ValueType> infer_flatten(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, 1);
    const std::vector<int64_t>& shape = signature.inputs[0].shape;
    const auto rank = static_cast<int64_t>(shape.size());
    // Unlike most axes, axis == rank is valid here: everything goes to the first output dim.
    int64_t axis = node.attribute_int("axis", 1);
    if (axis < -rank || axis > rank) fail("node {}: axis {} is out of range for rank {}", node.label(), axis, rank);
    if (axis < 0) axis += rank;
    int64_t outer = element_count(std::span(shape).first(static_cast<std::size_t>(axis)));
    int64_t inner = element_count(std::span(shape).subspan(static_cast<std::size_t>(axis)));
    return {{signature.inputs[0].dtype, {outer, inner}}};
}

std::vector<ValueType> infer_reshape(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, signature.opset >= 5 ? 2 : 1, signature.opset >= 5 ? 2 : 1);
    const std::vector<int64_t>& input = signature.inputs[0].shape;
    std::vector<int64_t> shape =
        signature.opset >= 5 ? constant_ints(signature, 1, "shape") : node.attribute_ints("shape");
    const bool allow_zero = signature.opset >= 14 && node.attribute_int("allowzero", 0) != 0;

    std::optional<std::size_t> inferred;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (inferred) fail("node {}: shape {} has more than one -1", node.label(), shape_to_string(shape));
            inferred = i;
        } else if (shape[i] == 0 && !allow_zero) {
            if (i >= input.size())
                fail("node {}: shape {} copies dim {} (0) but the input has rank {}", node.label(),
                     shape_to_string(shape), i, input.size());
            shape[i] = input[i];
        } else if (shape[i] < 0) {
            fail("node {}: invalid dim {} in shape {}", node.label(), shape[i], shape_to_string(shape));
        }
    }
    const int64_t numel = element_count(input);
    if (inferred) {
        shape[*inferred] = 1;
        int64_t known = element_count(shape);
        if (known == 0 || numel % known != 0)
            fail("node {}: cannot infer the -1 dim of {} for an input of shape {}", node.label(),
                 shape_to_string(shape), shape_to_string(input));
        shape[*inferred] = numel / known;
    }
    if (element_count(shape) != numel)
        fail("node {}: cannot reshape {} to {}", node.label(), shape_to_string(input), shape_to_string(shape));
    return {{signature.inputs[0].dtype, shape}};
}

// Unsqueeze and Squeeze take axes as an attribute before opset 13 and as an input from 13.
std::optional<std::vector<int64_t>> squeeze_axes(const NodeSignature& signature) {
    if (signature.opset >= 13) {
        if (!signature.has_input(1)) return std::nullopt;
        return constant_ints(signature, 1, "axes");
    }
    if (!signature.node.has_attribute("axes")) return std::nullopt;
    return signature.node.attribute_ints("axes");
}

std::vector<ValueType> infer_unsqueeze(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, signature.opset >= 13 ? 2 : 1, signature.opset >= 13 ? 2 : 1);
    const std::vector<int64_t>& input = signature.inputs[0].shape;
    std::optional<std::vector<int64_t>> axes = squeeze_axes(signature);
    if (!axes) fail("node {}: axes are required", node.label());
    const auto rank = static_cast<int64_t>(input.size() + axes->size());
    std::vector<bool> inserted(static_cast<std::size_t>(rank), false);
    for (int64_t axis : normalize_axes(node, *axes, rank)) inserted[static_cast<std::size_t>(axis)] = true;
    std::vector<int64_t> shape;
    auto next_input_dim = input.begin();
    for (bool one : inserted) shape.push_back(one ? 1 : *next_input_dim++);
    return {{signature.inputs[0].dtype, shape}};
}

std::vector<ValueType> infer_squeeze(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, signature.opset >= 13 ? 2 : 1);
    const std::vector<int64_t>& input = signature.inputs[0].shape;
    std::vector<bool> removed(input.size(), false);
    if (std::optional<std::vector<int64_t>> axes = squeeze_axes(signature)) {
        for (int64_t axis : normalize_axes(node, *axes, static_cast<int64_t>(input.size()))) {
            if (input[static_cast<std::size_t>(axis)] != 1)
                fail("node {}: cannot squeeze axis {} of shape {}", node.label(), axis, shape_to_string(input));
            removed[static_cast<std::size_t>(axis)] = true;
        }
    } else {
        for (std::size_t axis = 0; axis < input.size(); ++axis) removed[axis] = input[axis] == 1;
    }
    std::vector<int64_t> shape;
    for (std::size_t axis = 0; axis < input.size(); ++axis)
        if (!removed[axis]) shape.push_back(input[axis]);
    return {{signature.inputs[0].dtype, shape}};
}

// Shape's output: dims [start, end) of the input shape, negative bounds counting from the end, clamped to the rank.
std::vector<int64_t> shape_slice(const NodeSignature& signature) {
    const std::vector<int64_t>& shape = signature.inputs[0].shape;
    const auto rank = static_cast<int64_t>(shape.size());
    auto clamped = [rank](int64_t bound) { return std::clamp(bound < 0 ? bound + rank : bound, int64_t{0}, rank); };
    int64_t start = 0;
    int64_t end = rank;
    if (signature.opset >= 15) {
        start = clamped(signature.node.attribute_int("start", 0));
        end = clamped(signature.node.attribute_int("end", rank));
    }
    if (end <= start) return {};
    return {shape.begin() + start, shape.begin() + end};
}

std::vector<ValueType> infer_shape(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    return {{DataType::Int64, {static_cast<int64_t>(shape_slice(signature).size())}}};
}

// Writes a value fixed when the plan is compiled (Shape's dims, Constant's tensor).
class KnownValueKernel final : public Kernel {
public:
    explicit KnownValueKernel(Tensor value) : value_(std::move(value)) {}
    void run(std::span<const TensorView>, std::span<const TensorView> outputs, ThreadPool&) const override {
        std::ranges::copy(value_.bytes(), outputs[0].data);
    }

private:
    Tensor value_;
};

std::unique_ptr<Kernel> make_shape(const NodeSignature& signature) {
    std::vector<int64_t> dims = shape_slice(signature);
    const auto count = static_cast<int64_t>(dims.size());
    return std::make_unique<KnownValueKernel>(Tensor::from_values<int64_t>({count}, dims));
}

Tensor constant_value(const Node& node) {
    static const char* const kValueAttributes[] = {"value",       "value_float",  "value_floats",  "value_int",
                                                   "value_ints",  "value_string", "value_strings", "sparse_value"};
    std::vector<std::string> given;
    for (const char* name : kValueAttributes)
        if (node.has_attribute(name)) given.emplace_back(name);
    if (given.size() != 1) fail("node {}: needs exactly one value attribute, has {}", node.label(), given.size());
    const std::string& name = given.front();
    if (name == "value") return *node.attribute_tensor("value");
    if (name == "value_float") return Tensor::scalar(node.attribute_float(name, 0));
    if (name == "value_int") return Tensor::from_values<int64_t>({}, std::vector<int64_t>{node.attribute_int(name, 0)});
    if (name == "value_ints") {
        std::vector<int64_t> values = node.attribute_ints(name);
        const auto count = static_cast<int64_t>(values.size());
        return Tensor::from_values<int64_t>({count}, values);
    }
    if (name == "value_floats") {
        const auto& values = std::get<std::vector<float>>(node.attributes.at(name));
        const auto count = static_cast<int64_t>(values.size());
        return Tensor::from_values<float>({count}, values);
    }
    fail("node {}: attribute {} is not supported (the runtime has no string or sparse tensors)", node.label(), name);
}

std::vector<ValueType> infer_constant(const NodeSignature& signature) {
    expect_input_count(signature, 0, 0);
    Tensor value = constant_value(signature.node);
    return {{value.dtype(), value.dims()}};
}

std::unique_ptr<Kernel> make_constant(const NodeSignature& signature) {
    return std::make_unique<KnownValueKernel>(constant_value(signature.node));
}

std::vector<ValueType> infer_dropout(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, signature.opset >= 12 ? 3 : 1);
    expect_dtype(node, signature.inputs[0].dtype, "input", FloatingTypes{});
    if (signature.has_input(2)) {
        const Tensor* training_mode = signature.constant(2);
        if (!training_mode || training_mode->numel() != 1)
            fail("node {}: training_mode must be a constant scalar to run it", node.label());
        if (training_mode->to_int64s()[0] != 0) fail("node {}: training mode is not supported", node.label());
    }
    if (node.outputs.size() > 2) fail("node {}: has {} outputs, at most 2", node.label(), node.outputs.size());
    std::vector<ValueType> outputs = {signature.inputs[0]};
    if (node.outputs.size() == 2)
        outputs.push_back({signature.opset >= 10 ? DataType::Bool : signature.inputs[0].dtype, signature.inputs[0].shape});
    return outputs;
}

// Inference-mode Dropout keeps every element, so its mask is all true.
class DropoutKernel final : public Kernel {
public:
    explicit DropoutKernel(Tensor kept) : kept_(std::move(kept)) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        copy_bytes(inputs[0].data, outputs[0].data, outputs[0].type.byte_size(), pool);
        if (outputs.size() < 2) return;
        const std::size_t size = kept_.bytes().size();
        for (int64_t i = 0; i < outputs[1].numel(); ++i)
            std::ranges::copy(kept_.bytes(), outputs[1].data + static_cast<std::size_t>(i) * size);
    }

private:
    Tensor kept_;  // one mask element meaning "kept"
};

std::unique_ptr<Kernel> make_dropout(const NodeSignature& signature) {
    if (signature.opset >= 10) {
        Tensor kept(DataType::Bool, {});
        kept.data<bool>()[0] = true;
        return std::make_unique<DropoutKernel>(std::move(kept));
    }
    std::vector<double> one = {1.0};
    return std::make_unique<DropoutKernel>(Tensor::from_doubles(signature.inputs[0].dtype, {}, one));
}

}  // namespace

MOBILEONE_REGISTER_OP(Identity, infer_identity, make_copy);
MOBILEONE_REGISTER_OP(Flatten, infer_flatten, make_copy);
MOBILEONE_REGISTER_OP(Reshape, infer_reshape, make_copy);
MOBILEONE_REGISTER_OP(Unsqueeze, infer_unsqueeze, make_copy);
MOBILEONE_REGISTER_OP(Squeeze, infer_squeeze, make_copy);
MOBILEONE_REGISTER_OP(Shape, infer_shape, make_shape);
MOBILEONE_REGISTER_OP(Constant, infer_constant, make_constant);
MOBILEONE_REGISTER_OP(Dropout, infer_dropout, make_dropout);

}  // namespace mobileone::runtime
