#include "ir/tensor.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/error.h"

namespace mobileone {

std::size_t element_size(DataType type) {
    switch (type) {
        case DataType::Float: return 4;
        case DataType::UInt8: return 1;
        case DataType::Int8: return 1;
        case DataType::UInt16: return 2;
        case DataType::Int16: return 2;
        case DataType::Int32: return 4;
        case DataType::Int64: return 8;
        case DataType::Bool: return 1;
        case DataType::Float16: return 2;
        case DataType::Double: return 8;
        case DataType::UInt32: return 4;
        case DataType::UInt64: return 8;
        case DataType::BFloat16: return 2;
        case DataType::Undefined:
        case DataType::String: break;
    }
    fail("tensors of type {} are not supported", to_string(type));
}

std::string_view to_string(DataType type) {
    switch (type) {
        case DataType::Undefined: return "undefined";
        case DataType::Float: return "float32";
        case DataType::UInt8: return "uint8";
        case DataType::Int8: return "int8";
        case DataType::UInt16: return "uint16";
        case DataType::Int16: return "int16";
        case DataType::Int32: return "int32";
        case DataType::Int64: return "int64";
        case DataType::String: return "string";
        case DataType::Bool: return "bool";
        case DataType::Float16: return "float16";
        case DataType::Double: return "float64";
        case DataType::UInt32: return "uint32";
        case DataType::UInt64: return "uint64";
        case DataType::BFloat16: return "bfloat16";
    }
    return "unknown";
}

int64_t element_count(std::span<const int64_t> dims) {
    int64_t count = 1;
    for (int64_t dim : dims) count *= dim;
    return count;
}

std::string shape_to_string(std::span<const int64_t> dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

Tensor::Tensor(DataType type, std::vector<int64_t> dims) : dtype_(type), dims_(std::move(dims)) {
    if (std::any_of(dims_.begin(), dims_.end(), [](int64_t d) { return d < 0; }))
        fail("negative dimension in tensor shape {}", shape_to_string(dims_));
    bytes_.resize(static_cast<std::size_t>(numel()) * element_size(type));
}

namespace {

template <typename Out, typename In>
void convert_all(std::span<const In> in, std::vector<Out>& out) {
    out.reserve(in.size());
    for (In value : in) out.push_back(static_cast<Out>(value));
}

template <typename Out>
std::vector<Out> visit_numeric(const Tensor& tensor, bool integers_only, const char* wanted) {
    std::vector<Out> out;
    switch (tensor.dtype()) {
        case DataType::Int64: convert_all(tensor.data<int64_t>(), out); return out;
        case DataType::Int32: convert_all(tensor.data<int32_t>(), out); return out;
        case DataType::Int8: convert_all(tensor.data<int8_t>(), out); return out;
        case DataType::UInt8: convert_all(tensor.data<uint8_t>(), out); return out;
        case DataType::Bool: convert_all(tensor.data<bool>(), out); return out;
        case DataType::Float:
            if (!integers_only) { convert_all(tensor.data<float>(), out); return out; }
            break;
        case DataType::Double:
            if (!integers_only) { convert_all(tensor.data<double>(), out); return out; }
            break;
        default: break;
    }
    fail("cannot read a {} tensor as {}", to_string(tensor.dtype()), wanted);
}

}  // namespace

Tensor Tensor::from_doubles(DataType type, std::vector<int64_t> dims, std::span<const double> values) {
    Tensor tensor(type, std::move(dims));
    tensor.check_count(values.size());
    switch (type) {
        case DataType::Float:
            std::transform(values.begin(), values.end(), tensor.data<float>().begin(),
                           [](double v) { return static_cast<float>(v); });
            return tensor;
        case DataType::Double:
            std::copy(values.begin(), values.end(), tensor.data<double>().begin());
            return tensor;
        default: fail("cannot store folded values as {}", to_string(type));
    }
}

std::vector<double> Tensor::to_doubles() const { return visit_numeric<double>(*this, false, "numbers"); }

std::vector<int64_t> Tensor::to_int64s() const { return visit_numeric<int64_t>(*this, true, "integers"); }

void Tensor::reshape(std::vector<int64_t> dims) {
    if (element_count(dims) != numel())
        fail("cannot reshape {} to {}", shape_to_string(dims_), shape_to_string(dims));
    dims_ = std::move(dims);
}

void Tensor::check_type(DataType expected) const {
    if (dtype_ != expected) fail("tensor holds {}, accessed as {}", to_string(dtype_), to_string(expected));
}

void Tensor::check_count(std::size_t count) const {
    if (static_cast<int64_t>(count) != numel())
        fail("{} values given for a tensor of shape {}", count, shape_to_string(dims_));
}

}  // namespace mobileone
