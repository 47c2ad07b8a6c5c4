#include "passes/constant_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>

#include "ir/error.h"

namespace mobileone {
namespace {

int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank) {
    if (axis < -rank || axis >= rank) fail("node {}: axis {} is out of range for rank {}", node.label(), axis, rank);
    return axis < 0 ? axis + rank : axis;
}

const Tensor& required_input(const Node& node, const std::vector<const Tensor*>& inputs, std::size_t index) {
    if (index >= inputs.size() || !inputs[index]) fail("node {}: required input {} is missing", node.label(), index);
    return *inputs[index];
}

const Tensor* optional_input(const std::vector<const Tensor*>& inputs, std::size_t index) {
    return index < inputs.size() ? inputs[index] : nullptr;
}

int64_t rank_of(const Tensor& tensor) { return static_cast<int64_t>(tensor.rank()); }

int64_t count_before(const std::vector<int64_t>& dims, int64_t axis) {
    return element_count(std::span(dims).first(static_cast<std::size_t>(axis)));
}

int64_t count_from(const std::vector<int64_t>& dims, int64_t axis) {
    return element_count(std::span(dims).subspan(static_cast<std::size_t>(axis)));
}

Tensor with_dims(const Tensor& tensor, std::vector<int64_t> dims) {
    Tensor result = tensor;
    result.reshape(std::move(dims));
    return result;
}

// Steps a row-major multi-index through `dims`, last axis fastest.
void advance(std::vector<int64_t>& index, const std::vector<int64_t>& dims) {
    for (std::size_t axis = dims.size(); axis-- > 0;) {
        if (++index[axis] < dims[axis]) return;
        index[axis] = 0;
    }
}

Tensor gather(const Node& node, const Tensor& data, const Tensor& indices) {
    const std::vector<int64_t>& dims = data.dims();
    int64_t axis = normalize_axis(node, node.attribute_int("axis", 0), rank_of(data));
    int64_t axis_size = dims[axis];
    std::vector<int64_t> picks = indices.to_int64s();
    for (int64_t& pick : picks) {
        if (pick < -axis_size || pick >= axis_size)
            fail("node {}: index {} is out of range for a dimension of size {}", node.label(), pick, axis_size);
        if (pick < 0) pick += axis_size;
    }
    std::vector<int64_t> out_dims(dims.begin(), dims.begin() + axis);
    out_dims.insert(out_dims.end(), indices.dims().begin(), indices.dims().end());
    out_dims.insert(out_dims.end(), dims.begin() + axis + 1, dims.end());
    Tensor out(data.dtype(), out_dims);
    auto block = static_cast<std::size_t>(count_from(dims, axis + 1)) * element_size(data.dtype());
    auto source = data.bytes();
    auto target = out.bytes().begin();
    for (int64_t outer = 0; outer < count_before(dims, axis); ++outer)
        for (int64_t pick : picks)
            target = std::copy_n(source.begin() + static_cast<std::ptrdiff_t>((outer * axis_size + pick) * block),
                                 block, target);
    return out;
}

Tensor concat(const Node& node, const std::vector<const Tensor*>& inputs) {
    const Tensor& first = required_input(node, inputs, 0);
    int64_t axis = normalize_axis(node, node.attribute_int("axis", 1), rank_of(first));  // 1: Concat-1's default
    std::vector<int64_t> out_dims = first.dims();
    out_dims[axis] = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& part = required_input(node, inputs, i);
        std::vector<int64_t> dims = part.dims();
        if (part.dtype() != first.dtype() || part.rank() != first.rank() ||
            !std::equal(dims.begin(), dims.begin() + axis, first.dims().begin()) ||
            !std::equal(dims.begin() + axis + 1, dims.end(), first.dims().begin() + axis + 1))
            fail("node {}: cannot concatenate {} {} and {} {} along axis {}", node.label(), to_string(first.dtype()),
                 shape_to_string(first.dims()), to_string(part.dtype()), shape_to_string(dims), axis);
        out_dims[axis] += dims[axis];
    }
    Tensor out(first.dtype(), out_dims);
    auto inner = static_cast<std::size_t>(count_from(first.dims(), axis + 1)) * element_size(first.dtype());
    auto target = out.bytes().begin();
    for (int64_t outer = 0; outer < count_before(first.dims(), axis); ++outer) {
        for (const Tensor* part : inputs) {
            std::size_t chunk = static_cast<std::size_t>(part->dim(axis)) * inner;
            target = std::copy_n(part->bytes().begin() + static_cast<std::ptrdiff_t>(outer * chunk), chunk, target);
        }
    }
    return out;
}

struct SliceRequest {
    std::vector<int64_t> starts, ends, axes, steps;
};

// Slice took starts/ends/axes as attributes before opset 10; since then they (and steps) are inputs.
SliceRequest slice_request(const Node& node, const std::vector<const Tensor*>& inputs, int64_t opset) {
    SliceRequest request;
    if (opset < 10) {
        request.starts = node.attribute_ints("starts");
        request.ends = node.attribute_ints("ends");
        request.axes = node.attribute_ints("axes");
    } else {
        request.starts = required_input(node, inputs, 1).to_int64s();
        request.ends = required_input(node, inputs, 2).to_int64s();
        if (const Tensor* axes = optional_input(inputs, 3)) request.axes = axes->to_int64s();
        if (const Tensor* steps = optional_input(inputs, 4)) request.steps = steps->to_int64s();
    }
    std::size_t count = request.starts.size();
    if (request.axes.empty())
        for (std::size_t i = 0; i < count; ++i) request.axes.push_back(static_cast<int64_t>(i));
    if (request.steps.empty()) request.steps.assign(count, 1);
    if (request.ends.size() != count || request.axes.size() != count || request.steps.size() != count)
        fail("node {}: starts, ends, axes and steps differ in length", node.label());
    return request;
}

// ONNX Slice: negative starts/ends count from the back, then clamp to [0, size] going forward and to
// [0, size-1] (start) / [-1, size-1] (end) going backward, so out-of-range bounds like INT64_MAX mean "to the end".
Tensor slice(const Node& node, const Tensor& data, const SliceRequest& request) {
    const std::vector<int64_t>& dims = data.dims();
    std::vector<int64_t> first(dims.size(), 0), step(dims.size(), 1), out_dims = dims;
    std::vector<bool> sliced(dims.size(), false);
    for (std::size_t i = 0; i < request.axes.size(); ++i) {
        int64_t axis = normalize_axis(node, request.axes[i], rank_of(data));
        if (sliced[axis]) fail("node {}: axis {} is sliced twice", node.label(), axis);
        sliced[axis] = true;
        int64_t size = dims[axis], start = request.starts[i], end = request.ends[i], stride = request.steps[i];
        if (stride == 0) fail("node {}: slice step is 0", node.label());
        if (start < 0) start += size;
        if (end < 0) end += size;
        int64_t distance = 0;
        if (size > 0 && stride > 0) {
            start = std::clamp<int64_t>(start, 0, size);
            distance = std::clamp<int64_t>(end, 0, size) - start;
        } else if (size > 0) {
            start = std::clamp<int64_t>(start, 0, size - 1);
            distance = start - std::clamp<int64_t>(end, -1, size - 1);
        }
        // |stride| can be as large as 2^63, so count in unsigned arithmetic.
        uint64_t magnitude = stride > 0 ? static_cast<uint64_t>(stride) : 0 - static_cast<uint64_t>(stride);
        out_dims[axis] = distance > 0 ? static_cast<int64_t>(1 + (static_cast<uint64_t>(distance) - 1) / magnitude) : 0;
        first[axis] = start;
        step[axis] = stride;
    }
    Tensor out(data.dtype(), out_dims);
    std::vector<int64_t> strides(dims.size(), 1);
    for (std::size_t axis = dims.size(); axis-- > 1;) strides[axis - 1] = strides[axis] * dims[axis];
    std::size_t size = element_size(data.dtype());
    auto source = data.bytes();
    auto target = out.bytes().begin();
    std::vector<int64_t> index(dims.size(), 0);
    for (int64_t n = 0; n < out.numel(); ++n, advance(index, out_dims)) {
        int64_t offset = 0;
        for (std::size_t axis = 0; axis < dims.size(); ++axis)
            offset += (first[axis] + index[axis] * step[axis]) * strides[axis];
        auto at = static_cast<std::ptrdiff_t>(offset * static_cast<int64_t>(size));
        target = std::copy_n(source.begin() + at, size, target);
    }
    return out;
}

// No axes (or an empty list) squeezes every dimension of size 1, as ONNX Runtime does.
Tensor squeeze(const Node& node, const Tensor& data, const std::optional<std::vector<int64_t>>& axes) {
    const std::vector<int64_t>& dims = data.dims();
    std::vector<bool> dropped(dims.size(), false);
    if (axes && !axes->empty()) {
        for (int64_t requested : *axes) {
            int64_t axis = normalize_axis(node, requested, rank_of(data));
            if (dims[axis] != 1) fail("node {}: cannot squeeze axis {} of size {}", node.label(), axis, dims[axis]);
            dropped[axis] = true;
        }
    } else {
        for (std::size_t axis = 0; axis < dims.size(); ++axis) dropped[axis] = dims[axis] == 1;
    }
    std::vector<int64_t> out_dims;
    for (std::size_t axis = 0; axis < dims.size(); ++axis)
        if (!dropped[axis]) out_dims.push_back(dims[axis]);
    return with_dims(data, out_dims);
}

// Unsqueeze's axes index the output, whose rank is the input's plus the number of axes.
Tensor unsqueeze(const Node& node, const Tensor& data, const std::vector<int64_t>& axes) {
    int64_t out_rank = rank_of(data) + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(static_cast<std::size_t>(out_rank), false);
    for (int64_t requested : axes) {
        int64_t axis = normalize_axis(node, requested, out_rank);
        if (inserted[axis]) fail("node {}: axis {} is given twice", node.label(), axis);
        inserted[axis] = true;
    }
    std::vector<int64_t> out_dims;
    auto next = data.dims().begin();
    for (bool one : inserted) out_dims.push_back(one ? 1 : *next++);
    return with_dims(data, out_dims);
}

// Reshape: 0 copies the input dim at the same position (unless allowzero=1), -1 takes whatever count remains.
Tensor reshape(const Node& node, const Tensor& data, const std::vector<int64_t>& requested) {
    bool allow_zero = node.attribute_int("allowzero", 0) != 0;
    std::vector<int64_t> out_dims;
    std::optional<std::size_t> inferred;
    for (std::size_t i = 0; i < requested.size(); ++i) {
        int64_t dim = requested[i];
        if (dim == 0 && !allow_zero) {
            if (i >= data.rank()) fail("node {}: shape copies dim {} of a rank-{} input", node.label(), i, data.rank());
            dim = data.dim(i);
        } else if (dim == -1) {
            if (inferred) fail("node {}: shape has more than one -1", node.label());
            inferred = i;
            dim = 1;
        } else if (dim < 0) {
            fail("node {}: shape has invalid dim {}", node.label(), dim);
        }
        out_dims.push_back(dim);
    }
    auto impossible = [&] {
        fail("node {}: cannot reshape {} to {}", node.label(), shape_to_string(data.dims()), shape_to_string(requested));
    };
    if (inferred) {
        int64_t known = element_count(out_dims);
        if (known == 0 || data.numel() % known != 0) impossible();
        out_dims[*inferred] = data.numel() / known;
    }
    if (element_count(out_dims) != data.numel()) impossible();
    return with_dims(data, out_dims);
}

Tensor flatten(const Node& node, const Tensor& data) {
    int64_t rank = rank_of(data), axis = node.attribute_int("axis", 1);
    if (axis < -rank || axis > rank) fail("node {}: axis {} is out of range for rank {}", node.label(), axis, rank);
    if (axis < 0) axis += rank;
    return with_dims(data, {count_before(data.dims(), axis), count_from(data.dims(), axis)});
}

template <typename Visit>
bool visit_element_type(DataType type, Visit&& visit) {
    switch (type) {
        case DataType::Float: visit(float{}); return true;
        case DataType::Double: visit(double{}); return true;
        case DataType::Int64: visit(int64_t{}); return true;
        case DataType::Int32: visit(int32_t{}); return true;
        case DataType::Int8: visit(int8_t{}); return true;
        case DataType::UInt8: visit(uint8_t{}); return true;
        case DataType::Bool: visit(bool{}); return true;
        default: return false;
    }
}

// A float outside the target integer's range (or NaN) has no defined cast in C++ and none in ONNX.
template <typename From, typename To>
bool cast_is_defined(From value) {
    if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To> && !std::is_same_v<To, bool>) {
        From whole = std::trunc(value);
        return whole >= static_cast<From>(std::numeric_limits<To>::min()) &&
               whole < static_cast<From>(std::numeric_limits<To>::max()) + 1;
    } else {
        return true;
    }
}

std::optional<Tensor> cast(const Tensor& input, DataType target_type) {
    std::optional<Tensor> result;
    visit_element_type(input.dtype(), [&](auto from) {
        using From = decltype(from);
        visit_element_type(target_type, [&](auto to) {
            using To = decltype(to);
            Tensor out(target_type, input.dims());
            auto target = out.data<To>().begin();
            for (From value : input.data<From>()) {
                if (!cast_is_defined<From, To>(value)) return;
                *target++ = static_cast<To>(value);
            }
            result = std::move(out);
        });
    });
    return result;
}

std::vector<int64_t> broadcast_dims(const Node& node, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::size_t rank = std::max(a.size(), b.size());
    std::vector<int64_t> dims(rank);
    for (std::size_t axis = 0; axis < rank; ++axis) {
        int64_t da = axis + a.size() < rank ? 1 : a[axis + a.size() - rank];
        int64_t db = axis + b.size() < rank ? 1 : b[axis + b.size() - rank];
        if (da != db && da != 1 && db != 1)
            fail("node {}: shapes {} and {} do not broadcast", node.label(), shape_to_string(a), shape_to_string(b));
        dims[axis] = da == 1 ? db : da;
    }
    return dims;
}

// Element strides of `dims` read at broadcast rank `rank`: 0 where the dim is broadcast.
std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& dims, std::size_t rank) {
    std::vector<int64_t> strides(rank, 0);
    int64_t stride = 1;
    for (std::size_t axis = dims.size(); axis-- > 0;) {
        strides[rank - dims.size() + axis] = dims[axis] == 1 ? 0 : stride;
        stride *= dims[axis];
    }
    return strides;
}

// Wraps on overflow like two's-complement hardware; division truncates toward zero, as in C and ONNX Runtime.
int64_t apply_integer_op(const Node& node, int64_t x, int64_t y) {
    auto wrapped = [](uint64_t value) { return static_cast<int64_t>(value); };
    const std::string& op = node.op_type;
    if (op == "Add") return wrapped(static_cast<uint64_t>(x) + static_cast<uint64_t>(y));
    if (op == "Sub") return wrapped(static_cast<uint64_t>(x) - static_cast<uint64_t>(y));
    if (op == "Mul") return wrapped(static_cast<uint64_t>(x) * static_cast<uint64_t>(y));
    if (y == 0 || (y == -1 && x == std::numeric_limits<int64_t>::min()))
        fail("node {}: {} / {} is undefined in int64", node.label(), x, y);
    return x / y;
}

// Before opset 7 these ops broadcast only with the legacy `broadcast`/`axis` attributes; equal shapes mean the same.
std::optional<Tensor> integer_arithmetic(const Node& node, const Tensor& a, const Tensor& b, int64_t opset) {
    if (a.dtype() != DataType::Int64 || b.dtype() != DataType::Int64) return std::nullopt;
    if (opset < 7 && a.dims() != b.dims()) return std::nullopt;
    std::vector<int64_t> dims = broadcast_dims(node, a.dims(), b.dims());
    std::vector<int64_t> a_strides = broadcast_strides(a.dims(), dims.size());
    std::vector<int64_t> b_strides = broadcast_strides(b.dims(), dims.size());
    Tensor out(DataType::Int64, dims);
    auto x = a.data<int64_t>();
    auto y = b.data<int64_t>();
    auto z = out.data<int64_t>();
    std::vector<int64_t> index(dims.size(), 0);
    for (std::size_t n = 0; n < z.size(); ++n, advance(index, dims)) {
        int64_t at_a = 0, at_b = 0;
        for (std::size_t axis = 0; axis < dims.size(); ++axis) {
            at_a += index[axis] * a_strides[axis];
            at_b += index[axis] * b_strides[axis];
        }
        z[n] = apply_integer_op(node, x[at_a], y[at_b]);
    }
    return out;
}

std::optional<Tensor> constant_of_shape(const Node& node, const Tensor& shape) {
    std::vector<int64_t> dims = shape.to_int64s();
    int64_t count = 1;
    for (int64_t dim : dims) {
        if (dim < 0) fail("node {}: negative dim in shape {}", node.label(), shape_to_string(dims));
        if (dim > 0 && count > kMaxFoldedElements / dim) return std::nullopt;
        count *= dim;
    }
    const Tensor* given = node.attribute_tensor("value");
    Tensor fill = given ? *given : Tensor::scalar(0.0f);
    if (fill.numel() != 1) fail("node {}: value must hold exactly one element", node.label());
    Tensor out(fill.dtype(), dims);
    auto element = fill.bytes();
    for (auto target = out.bytes().begin(); target != out.bytes().end();)
        target = std::copy(element.begin(), element.end(), target);
    return out;
}

}  // namespace

std::optional<Tensor> constant_node_value(const Node& node) {
    if (const Tensor* tensor = node.attribute_tensor("value")) return *tensor;
    if (node.has_attribute("value_float")) return Tensor::scalar(node.attribute_float("value_float", 0));
    if (node.has_attribute("value_int"))
        return Tensor::from_values<int64_t>({}, std::vector<int64_t>{node.attribute_int("value_int", 0)});
    if (node.has_attribute("value_ints")) {
        std::vector<int64_t> values = node.attribute_ints("value_ints");
        return Tensor::from_values<int64_t>({static_cast<int64_t>(values.size())}, values);
    }
    if (node.has_attribute("value_floats")) {
        const auto* values = std::get_if<std::vector<float>>(&node.attributes.at("value_floats"));
        if (!values) fail("node {}: attribute 'value_floats' has an unexpected type", node.label());
        return Tensor::from_values<float>({static_cast<int64_t>(values->size())}, *values);
    }
    return std::nullopt;
}

std::optional<std::vector<int64_t>> squeeze_axes(const Node& node, const Tensor* axes_input, int64_t opset) {
    if (opset >= 13) return axes_input ? std::optional(axes_input->to_int64s()) : std::nullopt;
    if (node.has_attribute("axes")) return node.attribute_ints("axes");
    return std::nullopt;
}

std::optional<Tensor> evaluate_constant_node(const Node& node, const std::vector<const Tensor*>& inputs,
                                             int64_t opset) {
    const std::string& op = node.op_type;
    auto input = [&](std::size_t index) -> const Tensor& { return required_input(node, inputs, index); };
    if (op == "Constant") return constant_node_value(node);
    if (op == "ConstantOfShape") return constant_of_shape(node, input(0));
    if (op == "Identity") return input(0);
    if (op == "Gather") return gather(node, input(0), input(1));
    if (op == "Squeeze") return squeeze(node, input(0), squeeze_axes(node, optional_input(inputs, 1), opset));
    if (op == "Unsqueeze") {
        std::optional<std::vector<int64_t>> axes = squeeze_axes(node, optional_input(inputs, 1), opset);
        if (!axes) fail("node {}: no axes given", node.label());
        return unsqueeze(node, input(0), *axes);
    }
    if (op == "Concat") return concat(node, inputs);
    if (op == "Slice") return slice(node, input(0), slice_request(node, inputs, opset));
    if (op == "Cast") return cast(input(0), static_cast<DataType>(node.attribute_int("to", 0)));
    if (op == "Reshape")
        return reshape(node, input(0), opset < 5 ? node.attribute_ints("shape") : input(1).to_int64s());
    if (op == "Flatten") return flatten(node, input(0));
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")
        return integer_arithmetic(node, input(0), input(1), opset);
    return std::nullopt;
}

}  // namespace mobileone
