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

// Everything needed to run a model for one set of input types: compiled once, run many times without allocating.
struct Plan {
    std::map<std::string, ValueType> input_types;  // what the plan was compiled for
    std::deque<Tensor> constants;                  // converted initializers and plan-time results; never moved
    std::unique_ptr<Arena> arena;
    std::size_t arena_bytes = 0;
    std::vector<PlanStep> steps;
    std::map<std::string, TensorView> inputs;   // where run() copies each graph input
    std::map<std::string, TensorView> results;  // graph outputs and kept values
};

// Compiles `model` for inputs of the given types (precision already applied). Nodes whose inputs are all known run
// here, on `pool`, and become constants.
std::unique_ptr<Plan> compile_plan(const Model& model, const SessionOptions& options,
                                   const std::map<std::string, ValueType>& input_types, ThreadPool& pool);

}  // namespace mobileone::runtime
