#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ir/error.h"
#include "ir/tensor.h"

namespace mobileone::runtime {

// Type and shape of a value, fixed when the plan is compiled for concrete input shapes.
struct ValueType {
    DataType dtype = DataType::Undefined;  // Undefined marks an omitted optional input
    std::vector<int64_t> shape;

    int64_t numel() const { return element_count(shape); }
    std::size_t byte_size() const { return static_cast<std::size_t>(numel()) * element_size(dtype); }
    bool present() const { return dtype != DataType::Undefined; }
    bool operator==(const ValueType&) const = default;
};

// What a kernel reads or writes: a value's type and the memory the plan assigned to it.
// Views are built once per plan, so running a kernel allocates nothing.
struct TensorView {
    ValueType type;
    std::byte* data = nullptr;

    const std::vector<int64_t>& shape() const { return type.shape; }
    int64_t numel() const { return type.numel(); }
    template <typename T>
    T* as() const {
        if (type.dtype != data_type_of<T>())
            fail("kernel expected {} data, got {}", to_string(data_type_of<T>()), to_string(type.dtype));
        return reinterpret_cast<T*>(data);
    }
};

}  // namespace mobileone::runtime
