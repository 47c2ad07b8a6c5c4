#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mobileone::runtime {

struct SessionOptions {
    DataType precision = DataType::Float;  // Float, or Double: every floating value computed in float64
    int threads = 0;                       // 0: all hardware threads
    bool profile = false;                  // record per-node times
    std::vector<std::string> keep_values;  // intermediate tensors to return with the outputs (verify --layerwise)
};

struct NodeProfile {
    std::string node;     // node name (or first output)
    std::string op_type;
    std::string kernel;   // kernel table entry name
    std::vector<int64_t> output_shape;
    double milliseconds = 0;
};

struct RunResult {
    std::map<std::string, Tensor> outputs;  // graph outputs and kept values, by name
    std::vector<NodeProfile> profile;       // empty unless SessionOptions::profile
};

// Loads a model for execution. The constructor checks that every op is supported (one error listing each unsupported
// op and its nodes); the plan (order, shapes, buffers by liveness, prepared kernels) is compiled on the first run for
// the given input shapes and reused while they stay the same. Integer and bool inputs (shapes, axes, indices) are
// treated like shapes: the plan is compiled for their values, which makes everything computed from them static.
class Session {
public:
    // Takes the model by value: move it in to keep one copy of the weights.
    Session(Model model, SessionOptions options = {});
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    const Graph& graph() const;  // the model as given
    const std::vector<ValueInfo>& inputs() const;
    const std::vector<ValueInfo>& outputs() const;

    // Inputs by graph input name; float inputs are converted when precision is Double. Outputs are float32 or float64
    // per the precision, integer outputs keep their type.
    RunResult run(const std::map<std::string, Tensor>& inputs);

    // Compiles the plan run() would use for these inputs (or keeps the current one) without running it, so startup
    // can be timed apart from the first run. Checks the inputs as run() does.
    void prepare(const std::map<std::string, Tensor>& inputs);

    // Peak bytes of activation memory of the current plan (after the first run or prepare).
    std::size_t peak_activation_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mobileone::runtime
