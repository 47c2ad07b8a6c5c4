#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/error.h"
#include "runtime/kernel.h"

// Validation and dispatch shared by the runtime's ops: every failure names the node.
namespace mobileone::runtime {

// Elementwise work smaller than this is not worth handing to another thread.
inline constexpr int64_t kElementsPerTask = 1 << 14;

void expect_input_count(const NodeSignature& signature, std::size_t min, std::size_t max);
void expect_same_dtype(const NodeSignature& signature, std::size_t first, std::size_t second);

// Maps an axis in [-rank, rank) to [0, rank).
int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank);
// Normalizes each axis and rejects repeats.
std::vector<int64_t> normalize_axes(const Node& node, std::vector<int64_t> axes, int64_t rank);

// The integer values of input `index`, which must be known when the plan is compiled.
std::vector<int64_t> constant_ints(const NodeSignature& signature, std::size_t index, const char* what);

// Whether input `index` of a running kernel was given (optional inputs may be omitted).
inline bool has_view(std::span<const TensorView> views, std::size_t index) {
    return index < views.size() && views[index].type.present();
}

template <typename... Types>
bool dtype_is_one_of(DataType dtype) {
    return ((dtype == data_type_of<Types>()) || ...);
}

template <typename... Types>
void expect_dtype(const Node& node, DataType dtype, const char* what) {
    if (!dtype_is_one_of<Types...>(dtype)) {
        std::string supported;
        ((supported += (supported.empty() ? "" : ", ") + std::string(to_string(data_type_of<Types>()))), ...);
        fail("node {}: {} has type {}, supported: {}", node.label(), what, to_string(dtype), supported);
    }
}

// Calls make.template operator()<T>() for the T among Types whose DataType is `dtype`.
template <typename... Types, typename Make>
std::unique_ptr<Kernel> make_for_dtype(const Node& node, DataType dtype, Make&& make) {
    std::unique_ptr<Kernel> kernel;
    auto make_if_matching = [&]<typename T>() {
        if (dtype == data_type_of<T>()) kernel = make.template operator()<T>();
    };
    (make_if_matching.template operator()<Types>(), ...);
    if (!kernel) fail("node {}: no kernel for type {}", node.label(), to_string(dtype));
    return kernel;
}

// A named set of element types, for ops whose kernels are instantiated for many of them.
template <typename... Types>
struct TypeList {};
using FloatingTypes = TypeList<float, double>;
using NumericTypes = TypeList<float, double, int64_t, int32_t, int8_t, uint8_t>;
using IndexTypes = TypeList<int64_t, int32_t>;

template <typename... Types>
void expect_dtype(const Node& node, DataType dtype, const char* what, TypeList<Types...>) {
    expect_dtype<Types...>(node, dtype, what);
}

template <typename... Types, typename Make>
std::unique_ptr<Kernel> make_for_dtype(TypeList<Types...>, const Node& node, DataType dtype, Make&& make) {
    return make_for_dtype<Types...>(node, dtype, std::forward<Make>(make));
}

}  // namespace mobileone::runtime
