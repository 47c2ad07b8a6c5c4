#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"

namespace mobileone {

// One input of an op under test: a value the planner knows at plan time (an initializer), one it only sees when
// running, or an omitted optional input.
struct OpInput {
    std::optional<Tensor> value;
    bool constant = false;
};

inline OpInput known(Tensor value) { return {std::move(value), true}; }
inline OpInput runtime_value(Tensor value) { return {std::move(value), false}; }
inline OpInput omitted() { return {}; }

inline Tensor floats(std::vector<int64_t> dims, const std::vector<float>& values) {
    return Tensor::from_values<float>(std::move(dims), values);
}
inline Tensor doubles(std::vector<int64_t> dims, const std::vector<double>& values) {
    return Tensor::from_values<double>(std::move(dims), values);
}
inline Tensor int64s(std::vector<int64_t> dims, const std::vector<int64_t>& values) {
    return Tensor::from_values<int64_t>(std::move(dims), values);
}

// 0, 1, ..., count - 1
std::vector<float> iota_floats(int64_t count);

template <typename T>
std::vector<T> values_of(const Tensor& tensor) {
    std::span<const T> data = tensor.data<T>();
    return {data.begin(), data.end()};
}

// A single node driven through the runtime's registry the way the planner drives it.
struct OpCall {
    std::string op_type;
    std::vector<OpInput> inputs = {};
    std::map<std::string, Attribute> attributes = {};
    int64_t opset = 17;
    std::size_t outputs = 1;

    // Inputs are named x0, x1, ... ("" when omitted), outputs y0, y1, ...
    Node node() const;
};

// The op's inferred output types.
std::vector<runtime::ValueType> infer_op(const OpCall& call);

// Infers, selects the kernel, makes it and runs it on `threads` threads; returns the outputs.
std::vector<Tensor> run_op(const OpCall& call, int threads = 1);

// Every kernel-table entry that accepts the call's node on this CPU, best first.
std::vector<const runtime::KernelEntry*> accepting_kernels(const OpCall& call);

// The op's portable reference kernel, "<op_type>_reference": what every other entry of the op must compute.
const runtime::KernelEntry& reference_kernel(const std::string& op_type);

// Whether `entry` accepts the call's node, whether or not this CPU runs its ISA.
bool kernel_accepts(const runtime::KernelEntry& entry, const OpCall& call);

// Runs one kernel-table entry with `activation` applied to output 0 (for an entry that fuses activations), the way
// the planner runs it: values are given and returned in NCHW, and an Nhwc entry reads its non-constant rank-4 inputs
// and writes its rank-4 outputs in NHWC, converted by the runtime's own reorder kernel.
std::vector<Tensor> run_op_with_kernel(const OpCall& call, const runtime::KernelEntry& entry, int threads = 1,
                                       runtime::FusedActivation activation = {});

// The single output of run_op.
Tensor run_single(const OpCall& call, int threads = 1);

// The message of the mobileone::Error that run_op throws; "" when it succeeds.
std::string run_error(const OpCall& call);

// Expects run_op to fail with one line that names the node under test and contains `fragment`.
void expect_error_names_node(const OpCall& call, const std::string& fragment);

}  // namespace mobileone
