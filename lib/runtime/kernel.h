#pragma once

#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/isa.h"
#include "runtime/thread_pool.h"
#include "runtime/value.h"

namespace mobileone::runtime {

// An elementwise activation the planner fuses into the kernel producing its input (a plan-level fusion: the graph is
// not rewritten). Relu and Clip are a clamp to [min, max]; Sigmoid follows it.
struct FusedActivation {
    enum class Kind { None, Clamp, Sigmoid };
    Kind kind = Kind::None;
    float min = -std::numeric_limits<float>::infinity();
    float max = std::numeric_limits<float>::infinity();
};

// Everything the planner knows about one node when it infers types and prepares a kernel.
struct NodeSignature {
    const Node& node;
    int64_t opset;                          // the model's default-domain opset
    std::vector<ValueType> inputs;          // per input; dtype Undefined for an omitted optional input
    std::vector<const Tensor*> constants;   // per input: its value when known at plan time, else nullptr
    FusedActivation activation = {};        // applied to output 0 by kernels whose entry fuses activations

    const Tensor* constant(std::size_t index) const { return index < constants.size() ? constants[index] : nullptr; }
    bool has_input(std::size_t index) const { return index < inputs.size() && inputs[index].present(); }
};

// A prepared kernel: attributes parsed and constants (e.g. packed weights) taken once, at plan time.
class Kernel {
public:
    virtual ~Kernel() = default;
    // One view per node input (an omitted optional input has dtype Undefined and no data) and per node output, named or
    // not. Outputs are allocated with the inferred types; inputs and outputs never alias. At plan time the Shape op
    // runs with input views that carry types but no data.
    virtual void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const = 0;
};

// How a kernel lays out the rank-4 values it reads and writes at run time. Values of one pixel (H = W = 1) are the
// same bytes in both layouts; constants known at plan time (weights) are always plain row-major (NCHW). Any: an
// elementwise kernel that works in whichever layout its first rank-4 input has (see accepts_any_layout).
enum class Layout { Nchw, Nhwc, Any };

// Whether an elementwise node can run in any layout: every input has one shape, except scalars, and only scalars
// are plan-time constants (a constant tensor is NCHW, which an NHWC input would not match element for element).
bool accepts_any_layout(const NodeSignature& signature);

// An op's type rules. infer() validates the node (throwing Error naming it) and returns one type per node output
// (unnamed optional outputs included); ops whose output shape depends on input values (Reshape, Expand...) read them
// from NodeSignature::constants and fail if unknown. Nodes whose inputs are all constants run once at plan time.
struct OpDefinition {
    std::string op_type;
    std::vector<ValueType> (*infer)(const NodeSignature& signature);
};

// One row of the kernel table: which implementation serves which nodes on which ISA.
struct KernelEntry {
    std::string op_type;
    std::string name;  // says what it does: "conv_reference", "dwconv3x3s2_avx512"
    Isa isa = Isa::Generic;
    int priority = 0;  // among accepting entries whose ISA the CPU supports, the highest wins
    std::function<bool(const NodeSignature& signature)> accepts;  // empty: serves every node of op_type
    std::function<std::unique_ptr<Kernel>(const NodeSignature& signature)> make;
    Layout layout = Layout::Nchw;
    bool fuses_activation = false;  // make() honours NodeSignature::activation
};

class OpRegistry {
public:
    static OpRegistry& instance();
    bool add_op(OpDefinition op);
    bool add_kernel(KernelEntry kernel);
    const OpDefinition* find_op(const std::string& op_type) const;
    // The best kernel for this node on this CPU; nullptr when the op has none.
    const KernelEntry* select_kernel(const NodeSignature& signature) const;
    // Every entry for this node on this CPU that accepts it, best first (the kernel tester runs them all).
    std::vector<const KernelEntry*> accepting_kernels(const NodeSignature& signature) const;
    // Every entry of the op whatever this CPU runs, in registration order (the kernel tester lists those it skips).
    std::vector<const KernelEntry*> kernels_of(const std::string& op_type) const;
    std::vector<std::string> op_types() const;  // sorted

private:
    std::vector<OpDefinition> ops_;
    std::vector<KernelEntry> kernels_;
};

}  // namespace mobileone::runtime

// Registers an op's type rules and its reference kernel; used once at the bottom of each runtime/ops/*.cpp.
#define MOBILEONE_REGISTER_OP(op_name, infer_function, make_reference_kernel)                                       \
    [[maybe_unused]] static const bool registered_op_##op_name =                                                    \
        ::mobileone::runtime::OpRegistry::instance().add_op({#op_name, infer_function}) &&                          \
        ::mobileone::runtime::OpRegistry::instance().add_kernel(                                                    \
            {#op_name, #op_name "_reference", ::mobileone::runtime::Isa::Generic, 0, nullptr, make_reference_kernel})

// Registers an elementwise op's reference kernel once more, for nodes accepts_any_layout admits: between NHWC kernels
// it then runs on their NHWC values as they are, instead of between two reorders.
#define MOBILEONE_REGISTER_ANY_LAYOUT(op_name, make_reference_kernel)                                               \
    [[maybe_unused]] static const bool registered_any_layout_##op_name =                                            \
        ::mobileone::runtime::OpRegistry::instance().add_kernel(                                                    \
            {#op_name, #op_name "_any_layout", ::mobileone::runtime::Isa::Generic, 1,                               \
             ::mobileone::runtime::accepts_any_layout, make_reference_kernel, ::mobileone::runtime::Layout::Any})

// Adds a further row to an op's kernel table, e.g. an ISA-specific variant in runtime/ops/x86/ or runtime/ops/arm/:
//   MOBILEONE_REGISTER_KERNEL(dwconv3x3_avx2, "Conv", "dwconv3x3_avx2", Isa::Avx2, 10, is_depthwise_3x3, make_it);
#define MOBILEONE_REGISTER_KERNEL(variable_name, ...)                           \
    [[maybe_unused]] static const bool registered_kernel_##variable_name = \
        ::mobileone::runtime::OpRegistry::instance().add_kernel(::mobileone::runtime::KernelEntry{__VA_ARGS__})
