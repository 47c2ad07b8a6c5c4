#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"
#include "runtime/session.h"
#include "runtime/value.h"

namespace mobileone::runtime {

// One kernel call of the compiled plan, with its views fixed at plan time.
struct PlanStep {
    const Node* node = nullptr;
    const KernelEntry* entry = nullptr;
    std::unique_ptr<Kernel> kernel;
    std::vector<TensorView> inputs;
    std::vector<TensorView> outputs;
};

// Activation memory aligned for vector loads; contents are not initialised.
class Arena {
public:
    explicit Arena(std::size_t bytes);
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    std::byte* data() const { return data_; }

private:
    std::byte* data_ = nullptr;
};

// What a plan is compiled for: the type of every input (precision applied), and the values of its non-floating inputs
// (shapes, axes, indices, flags), which the plan treats as constants so the shapes that depend on them are static.
struct PlanInputs {
    std::map<std::string, ValueType> types;
    std::map<std::string, Tensor> values;
    bool operator==(const PlanInputs&) const = default;
};

// Everything needed to run a model for one set of input types: compiled once, run many times without allocating.
struct Plan {
    PlanInputs compiled_for;
    std::deque<Tensor> constants;  // converted initializers and plan-time results; never moved
    std::deque<Node> reorder_nodes;  // the layout conversions the planner added, named for profiles and errors
    std::unique_ptr<Arena> arena;
    std::size_t arena_bytes = 0;
    std::vector<PlanStep> steps;
    std::map<std::string, TensorView> inputs;   // where run() copies each floating graph input
    std::map<std::string, TensorView> results;  // graph outputs and kept values
};

// Compiles `model` for `inputs`. Nodes whose inputs are all known run here, on `pool`, and become constants.
std::unique_ptr<Plan> compile_plan(const Model& model, const SessionOptions& options, PlanInputs inputs,
                                   ThreadPool& pool);

// Whether an input of this type is computed on at run time; the values of all others are fixed by the plan.
bool is_floating(DataType dtype);

}  // namespace mobileone::runtime
