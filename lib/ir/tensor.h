#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mobileone {

// Values match onnx::TensorProto_DataType so import/export is a cast.
enum class DataType : int32_t {
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
};

std::size_t element_size(DataType type);
std::string_view to_string(DataType type);

template <typename T>
constexpr DataType data_type_of();
template <> constexpr DataType data_type_of<float>() { return DataType::Float; }
template <> constexpr DataType data_type_of<double>() { return DataType::Double; }
template <> constexpr DataType data_type_of<int64_t>() { return DataType::Int64; }
template <> constexpr DataType data_type_of<int32_t>() { return DataType::Int32; }
template <> constexpr DataType data_type_of<int8_t>() { return DataType::Int8; }
template <> constexpr DataType data_type_of<uint8_t>() { return DataType::UInt8; }
template <> constexpr DataType data_type_of<bool>() { return DataType::Bool; }

int64_t element_count(std::span<const int64_t> dims);

// A dense, row-major tensor that owns its bytes (little-endian, as in ONNX raw_data).
// String tensors are not supported: MobileOne graphs and the runtime's ops never need them.
class Tensor {
public:
    Tensor() = default;
    Tensor(DataType type, std::vector<int64_t> dims);  // zero-filled

    template <typename T>
    static Tensor from_values(std::vector<int64_t> dims, std::span<const T> values) {
        Tensor tensor(data_type_of<T>(), std::move(dims));
        tensor.check_count(values.size());
        std::copy(values.begin(), values.end(), tensor.data<T>().begin());
        return tensor;
    }
    template <typename T>
    static Tensor from_values(std::vector<int64_t> dims, const std::vector<T>& values) {
        return from_values<T>(std::move(dims), std::span<const T>(values));
    }
    static Tensor scalar(float value) { return from_values<float>({}, std::vector<float>{value}); }

    // Weight folding computes in double and rounds to the stored type once, here.
    static Tensor from_doubles(DataType type, std::vector<int64_t> dims, std::span<const double> values);
    std::vector<double> to_doubles() const;  // any numeric type
    std::vector<int64_t> to_int64s() const;  // integer types (shape-like tensors)

    DataType dtype() const { return dtype_; }
    const std::vector<int64_t>& dims() const { return dims_; }
    int64_t dim(std::size_t axis) const { return dims_.at(axis); }
    std::size_t rank() const { return dims_.size(); }
    int64_t numel() const { return element_count(dims_); }
    bool empty() const { return numel() == 0; }

    std::span<std::byte> bytes() { return bytes_; }
    std::span<const std::byte> bytes() const { return bytes_; }

    template <typename T>
    std::span<T> data() {
        check_type(data_type_of<T>());
        return {reinterpret_cast<T*>(bytes_.data()), static_cast<std::size_t>(numel())};
    }
    template <typename T>
    std::span<const T> data() const {
        check_type(data_type_of<T>());
        return {reinterpret_cast<const T*>(bytes_.data()), static_cast<std::size_t>(numel())};
    }

    void reshape(std::vector<int64_t> dims);  // same element count
    bool operator==(const Tensor& other) const = default;

private:
    void check_type(DataType expected) const;
    void check_count(std::size_t count) const;

    DataType dtype_ = DataType::Undefined;
    std::vector<int64_t> dims_;
    std::vector<std::byte> bytes_;
};

std::string shape_to_string(std::span<const int64_t> dims);

}  // namespace mobileone
