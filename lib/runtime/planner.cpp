#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <new>
#include <unordered_map>

#include "ir/error.h"
#include "runtime/layout.h"
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
    const Tensor* constant = nullptr;  // known at plan time (always NCHW)
    int buffer = -1;                   // else: its activation buffer
    Layout layout = Layout::Nchw;
};

// An activation node that a kernel producing its input can apply itself.
struct Fusion {
    const Node* node;
    FusedActivation activation;
};

class Planner {
public:
    Planner(const Model& model, const SessionOptions& options, ThreadPool& pool, Plan& plan)
        : model_(model), options_(options), pool_(pool), plan_(plan) {}

    void compile() {
        std::vector<std::string> results;
        for (const ValueInfo& output : model_.graph.outputs) results.push_back(output.name);
        results.insert(results.end(), options_.keep_values.begin(), options_.keep_values.end());
        count_readers(results);
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
        for (const std::string& name : results) {
            PlannedValue value = lookup(name, "is requested as a result but no node, input or initializer defines it");
            if (value.layout != Layout::Nchw) value = in_layout(name, Layout::Nchw);
            result_values_[name] = value;
        }
        // Only once every result's reorder step exists is the plan's end known: a result must outlive all of them.
        for (const auto& [name, value] : result_values_)
            if (value.buffer >= 0) requests_[value.buffer].last_step = static_cast<int>(plan_.steps.size());
        place_buffers();
    }

private:
    void add_initializer(const std::string& name, const Tensor& tensor) {
        bool widen = options_.precision == DataType::Double && tensor.dtype() == DataType::Float;
        const Tensor& constant = widen ? keep(to_double(tensor)) : tensor;
        define(name, constant_value(constant));
    }

    void count_readers(const std::vector<std::string>& results) {
        for (const Node& node : model_.graph.nodes)
            for (const std::string& input : node.inputs)
                if (!input.empty() && readers_[input]++ == 0) first_reader_[input] = &node;
        for (const std::string& name : results) ++readers_[name];
    }

    void add_node(const Node& node) {
        if (auto fused = fused_into_.find(&node); fused != fused_into_.end()) {
            define(node.outputs[0], values_.at(fused->second));  // its producer's kernel applied it
            return;
        }
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
        std::vector<const KernelEntry*> entries = OpRegistry::instance().accepting_kernels(signature);
        if (entries.empty()) fail("node {}: no kernel accepts this node on this CPU", node.label());

        if (all_constant || depends_only_on_shapes(node)) {
            // Plan-time constants are NCHW, so they are computed by an NCHW kernel.
            auto nchw = std::find_if(entries.begin(), entries.end(), [](auto* e) { return e->layout == Layout::Nchw; });
            if (nchw == entries.end()) fail("node {}: no NCHW kernel to fold it at plan time", node.label());
            fold(node, signature, output_types, *(*nchw)->make(signature));
            return;
        }
        const KernelEntry* entry = entries.front();
        if (entry->fuses_activation && output_types[0].dtype == DataType::Float) {
            if (std::optional<Fusion> fusion = fusable_activation(node)) {
                signature.activation = fusion->activation;
                fused_into_[fusion->node] = node.outputs[0];
            }
        }
        std::unique_ptr<Kernel> kernel = entry->make(signature);

        // Activations reach the kernel in its layout; a crossing costs one reorder, shared by later readers.
        const Layout layout = entry->layout == Layout::Any ? layout_of_first_activation(node) : entry->layout;
        std::vector<PlannedValue> inputs;
        for (const std::string& input : node.inputs) {
            if (input.empty()) {
                inputs.emplace_back();
                continue;
            }
            PlannedValue value = values_.at(input);
            if (!value.constant && value.layout != layout && !layout_neutral(value.type.shape))
                value = in_layout(input, layout);
            inputs.push_back(value);
        }
        int step = static_cast<int>(plan_.steps.size());
        for (const PlannedValue& input : inputs)
            if (input.buffer >= 0) requests_[input.buffer].last_step = step;
        // Outputs with no name still get a buffer: the kernel writes them, nothing reads them.
        std::vector<PlannedValue> outputs;
        for (std::size_t i = 0; i < output_types.size(); ++i) {
            if (options_.precision == DataType::Double && output_types[i].dtype == DataType::Float)
                fail("node {}: produces float32 values, which precision float64 cannot compute in double",
                     node.label());
            PlannedValue value{output_types[i], nullptr, add_buffer(output_types[i], step),
                               layout_neutral(output_types[i].shape) ? Layout::Nchw : layout};
            if (!node.outputs[i].empty()) define(node.outputs[i], value);
            outputs.push_back(value);
        }
        add_step(&node, entry, std::move(kernel), std::move(inputs), std::move(outputs));
    }

    void add_step(const Node* node, const KernelEntry* entry, std::unique_ptr<Kernel> kernel,
                  std::vector<PlannedValue> inputs, std::vector<PlannedValue> outputs) {
        step_inputs_.push_back(std::move(inputs));
        step_outputs_.push_back(std::move(outputs));
        plan_.steps.push_back({node, entry, std::move(kernel), {}, {}});
    }

    Layout layout_of_first_activation(const Node& node) const {
        for (const std::string& input : node.inputs) {
            if (input.empty()) continue;
            const PlannedValue& value = values_.at(input);
            if (!value.constant && !layout_neutral(value.type.shape)) return value.layout;
        }
        return Layout::Nchw;
    }

    // The node's sole reader when it is an activation its kernel can apply: Relu, Clip with known bounds, Sigmoid.
    std::optional<Fusion> fusable_activation(const Node& node) const {
        if (node.outputs.empty() || node.outputs[0].empty()) return std::nullopt;
        auto readers = readers_.find(node.outputs[0]);
        auto first_reader = first_reader_.find(node.outputs[0]);
        if (first_reader == first_reader_.end() || readers->second != 1) return std::nullopt;  // unread, or read twice
        const Node& reader = *first_reader->second;
        if ((!reader.domain.empty() && reader.domain != "ai.onnx") || reader.inputs[0] != node.outputs[0] ||
            reader.outputs.size() != 1)
            return std::nullopt;
        FusedActivation activation;
        if (reader.op_type == "Relu") {
            activation = {FusedActivation::Kind::Clamp, 0.0f, activation.max};
        } else if (reader.op_type == "Sigmoid") {
            activation.kind = FusedActivation::Kind::Sigmoid;
        } else if (reader.op_type == "Clip") {
            activation.kind = FusedActivation::Kind::Clamp;
            if (model_.opset_version() < 11) {
                activation.min = reader.attribute_float("min", std::numeric_limits<float>::lowest());
                activation.max = reader.attribute_float("max", std::numeric_limits<float>::max());
            } else {
                for (std::size_t i = 1; i < reader.inputs.size(); ++i) {
                    if (reader.inputs[i].empty()) continue;
                    auto bound = values_.find(reader.inputs[i]);
                    if (bound == values_.end() || !bound->second.constant ||
                        bound->second.constant->dtype() != DataType::Float || bound->second.constant->numel() != 1)
                        return std::nullopt;
                    (i == 1 ? activation.min : activation.max) = bound->second.constant->data<float>()[0];
                }
            }
        } else {
            return std::nullopt;
        }
        return Fusion{&reader, activation};
    }

    // The value `name` in `layout`: converted by a reorder step the first time it is asked for.
    PlannedValue in_layout(const std::string& name, Layout layout) {
        auto cached = converted_.find({name, layout});
        if (cached != converted_.end()) return cached->second;
        const PlannedValue source = values_.at(name);
        int step = static_cast<int>(plan_.steps.size());
        requests_[source.buffer].last_step = step;
        PlannedValue converted{source.type, nullptr, add_buffer(source.type, step), layout};
        Node& reorder = plan_.reorder_nodes.emplace_back();
        reorder.op_type = "LayoutReorder";
        reorder.name = fmt::format("{} to {}", name, layout == Layout::Nhwc ? "NHWC" : "NCHW");
        reorder.inputs = {name};
        reorder.outputs = {reorder.name};
        add_step(&reorder, &reorder_entry(layout), make_reorder(layout), {source}, {converted});
        converted_.emplace(std::pair{name, layout}, converted);
        return converted;
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
        for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
            PlanStep& step = plan_.steps[s];
            for (const PlannedValue& input : step_inputs_[s])
                step.inputs.push_back(input.type.present() ? view_of_value(input) : TensorView{});
            for (const PlannedValue& output : step_outputs_[s]) step.outputs.push_back(view_of_value(output));
        }
        for (auto& [name, view] : plan_.inputs) view = view_of_value(values_.at(name));
        for (const auto& [name, value] : result_values_) plan_.results[name] = view_of_value(value);
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
    std::vector<std::vector<PlannedValue>> step_inputs_;   // per step; type Undefined for an omitted input
    std::vector<std::vector<PlannedValue>> step_outputs_;  // per step, including unnamed outputs
    std::map<std::pair<std::string, Layout>, PlannedValue> converted_;
    std::map<std::string, PlannedValue> result_values_;
    std::unordered_map<std::string, int> readers_;  // node inputs, graph outputs and kept values reading each value
    std::unordered_map<std::string, const Node*> first_reader_;
    std::unordered_map<const Node*, std::string> fused_into_;  // fused activation node -> its producer's output
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
