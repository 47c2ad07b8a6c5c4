#include <algorithm>
#include <new>
#include <unordered_map>

#include "ir/error.h"
#include "runtime/memory_plan.h"
#include "runtime/plan.h"

namespace mobileone::runtime {

Arena::Arena(std::size_t bytes)
    : data_(static_cast<std::byte*>(
          ::operator new (std::max<std::size_t>(bytes, 1), std::align_val_t{buffer_alignment}))) {}

Arena::~Arena() { ::operator delete (data_, std::align_val_t{buffer_alignment}); }

namespace {

// Ops whose outputs depend only on their inputs' shapes, which are all known at plan time.
bool depends_only_on_shapes(const Node& node) { return node.op_type == "Shape"; }

// Errors from kernels and type rules must name the node; most already do, the rest get its label in front.
[[noreturn]] void rethrow_naming(const Node& node, const Error& error) {
    std::string message = error.what();
    if (message.find(node.label()) != std::string::npos) throw error;
    fail("node {}: {}", node.label(), message);
}

struct PlannedValue {
    ValueType type;
    const Tensor* constant = nullptr;  // known at plan time
    int buffer = -1;                   // else: its activation buffer
};

class Planner {
public:
    Planner(const Model& model, const SessionOptions& options, ThreadPool& pool, Plan& plan)
        : model_(model), options_(options), pool_(pool), plan_(plan) {}

    void compile() {
        for (const auto& [name, tensor] : model_.graph.initializers) add_initializer(name, tensor);
        for (const auto& [name, type] : plan_.compiled_for.types) {
            auto value = plan_.compiled_for.values.find(name);
            if (value != plan_.compiled_for.values.end()) {
                define(name, constant_value(value->second));
                continue;
            }
            define(name, {type, nullptr, add_buffer(type, 0)});
            plan_.inputs[name];
        }
        for (const Node& node : model_.graph.nodes) {
            try {
                add_node(node);
            } catch (const Error& error) {
                rethrow_naming(node, error);
            }
        }
        std::vector<std::string> results;
        for (const ValueInfo& output : model_.graph.outputs) results.push_back(output.name);
        results.insert(results.end(), options_.keep_values.begin(), options_.keep_values.end());
        for (const std::string& name : results) {
            const PlannedValue& value =
                lookup(name, "is requested as a result but no node, input or initializer defines it");
            if (value.buffer >= 0) requests_[value.buffer].last_step = static_cast<int>(plan_.steps.size());
            plan_.results[name];
        }
        place_buffers();
    }

private:
    void add_initializer(const std::string& name, const Tensor& tensor) {
        bool widen = options_.precision == DataType::Double && tensor.dtype() == DataType::Float;
        const Tensor& constant = widen ? keep(to_double(tensor)) : tensor;
        define(name, constant_value(constant));
    }

    void add_node(const Node& node) {
        if (!node.domain.empty() && node.domain != "ai.onnx")
            fail("node {}: domain '{}' is not supported", node.label(), node.domain);
        NodeSignature signature{node, model_.opset_version(), {}, {}};
        bool all_constant = true;
        for (const std::string& input : node.inputs) {
            if (input.empty()) {
                signature.inputs.emplace_back();
                signature.constants.push_back(nullptr);
                continue;
            }
            const PlannedValue& value = lookup(
                input,
                fmt::format("is read by node {} before any node, input or initializer defines it", node.label()));
            signature.inputs.push_back(value.type);
            signature.constants.push_back(value.constant);
            all_constant = all_constant && value.constant;
        }

        const OpDefinition* op = OpRegistry::instance().find_op(node.op_type);
        if (!op) fail("node {}: op type is not supported", node.label());
        std::vector<ValueType> output_types = op->infer(signature);
        if (output_types.size() != node.outputs.size())
            fail("node {}: type inference gave {} outputs for {} declared", node.label(), output_types.size(),
                 node.outputs.size());
        const KernelEntry* entry = OpRegistry::instance().select_kernel(signature);
        if (!entry) fail("node {}: no kernel accepts this node on this CPU", node.label());
        std::unique_ptr<Kernel> kernel = entry->make(signature);

        if (all_constant || depends_only_on_shapes(node)) {
            fold(node, signature, output_types, *kernel);
            return;
        }
        int step = static_cast<int>(plan_.steps.size());
        for (const std::string& input : node.inputs) {
            if (input.empty()) continue;
            int buffer = values_.at(input).buffer;
            if (buffer >= 0) requests_[buffer].last_step = step;
        }
        // Outputs with no name still get a buffer: the kernel writes them, nothing reads them.
        std::vector<PlannedValue> outputs;
        for (std::size_t i = 0; i < output_types.size(); ++i) {
            if (options_.precision == DataType::Double && output_types[i].dtype == DataType::Float)
                fail("node {}: produces float32 values, which precision float64 cannot compute in double",
                     node.label());
            PlannedValue value{output_types[i], nullptr, add_buffer(output_types[i], step)};
            if (!node.outputs[i].empty()) define(node.outputs[i], value);
            outputs.push_back(value);
        }
        step_outputs_.push_back(std::move(outputs));
        plan_.steps.push_back({&node, entry, std::move(kernel), {}, {}});
    }

    // Runs a node whose outputs are known now; they become constants of the plan.
    void fold(const Node& node, const NodeSignature& signature, const std::vector<ValueType>& output_types,
              const Kernel& kernel) {
        std::vector<TensorView> inputs;
        for (std::size_t i = 0; i < signature.inputs.size(); ++i) {
            const Tensor* constant = signature.constants[i];
            inputs.push_back(
                {signature.inputs[i], constant ? const_cast<std::byte*>(constant->bytes().data()) : nullptr});
        }
        std::vector<Tensor> results;
        std::vector<TensorView> outputs;
        for (const ValueType& type : output_types) results.emplace_back(type.dtype, type.shape);
        for (Tensor& result : results) outputs.push_back({{result.dtype(), result.dims()}, result.bytes().data()});
        kernel.run(inputs, outputs, pool_);
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (node.outputs[i].empty()) continue;
            // A plan-time Float result (a Constant's value) joins the float64 computation like an initializer.
            bool widen = options_.precision == DataType::Double && results[i].dtype() == DataType::Float;
            define(node.outputs[i], constant_value(keep(widen ? to_double(results[i]) : std::move(results[i]))));
        }
    }

    void place_buffers() {
        MemoryPlan memory = plan_memory(requests_);
        plan_.arena_bytes = memory.arena_bytes;
        plan_.arena = std::make_unique<Arena>(memory.arena_bytes);
        auto view_of_value = [&](const PlannedValue& value) -> TensorView {
            if (value.constant) return {value.type, const_cast<std::byte*>(value.constant->bytes().data())};
            return {value.type, plan_.arena->data() + memory.offsets[value.buffer]};
        };
        auto view_of = [&](const std::string& name) { return view_of_value(values_.at(name)); };
        for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
            PlanStep& step = plan_.steps[s];
            for (const std::string& input : step.node->inputs)
                step.inputs.push_back(input.empty() ? TensorView{} : view_of(input));
            for (const PlannedValue& output : step_outputs_[s]) step.outputs.push_back(view_of_value(output));
        }
        for (auto& [name, view] : plan_.inputs) view = view_of(name);
        for (auto& [name, view] : plan_.results) view = view_of(name);
    }

    int add_buffer(const ValueType& type, int step) {
        requests_.push_back({type.byte_size(), step, step});
        return static_cast<int>(requests_.size()) - 1;
    }

    static PlannedValue constant_value(const Tensor& tensor) {
        PlannedValue value;
        value.type = {tensor.dtype(), tensor.dims()};
        value.constant = &tensor;
        return value;
    }

    void define(const std::string& name, PlannedValue value) {
        if (!values_.emplace(name, value).second) fail("value '{}' is defined twice", name);
    }

    const PlannedValue& lookup(const std::string& name, const std::string& problem) const {
        auto it = values_.find(name);
        if (it == values_.end()) fail("value '{}' {}", name, problem);
        return it->second;
    }

    const Tensor& keep(Tensor tensor) { return plan_.constants.emplace_back(std::move(tensor)); }

    static Tensor to_double(const Tensor& tensor) {
        return Tensor::from_doubles(DataType::Double, tensor.dims(), tensor.to_doubles());
    }

    const Model& model_;
    const SessionOptions& options_;
    ThreadPool& pool_;
    Plan& plan_;
    std::unordered_map<std::string, PlannedValue> values_;
    std::vector<BufferRequest> requests_;
    std::vector<std::vector<PlannedValue>> step_outputs_;  // per step, including unnamed outputs
};

}  // namespace

bool is_floating(DataType dtype) {
    return dtype == DataType::Float || dtype == DataType::Double || dtype == DataType::Float16 ||
           dtype == DataType::BFloat16;
}

std::unique_ptr<Plan> compile_plan(const Model& model, const SessionOptions& options, PlanInputs inputs,
                                   ThreadPool& pool) {
    auto plan = std::make_unique<Plan>();
    plan->compiled_for = std::move(inputs);
    Planner(model, options, pool, *plan).compile();
    return plan;
}

}  // namespace mobileone::runtime
