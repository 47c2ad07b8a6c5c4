#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/error.h"
#include "runtime/kernel.h"
#include "runtime/plan.h"
#include "runtime/thread_pool.h"

namespace mobileone::runtime {

namespace {

// One line listing every unsupported op type with the nodes that use it.
void check_ops_supported(const Graph& graph) {
    std::map<std::string, std::vector<std::string>> unsupported;
    for (const Node& node : graph.nodes) {
        bool default_domain = node.domain.empty() || node.domain == "ai.onnx";
        if (default_domain && OpRegistry::instance().find_op(node.op_type)) continue;
        std::string op = default_domain ? node.op_type : node.domain + "::" + node.op_type;
        unsupported[op].push_back("'" + (node.name.empty() ? node.outputs.front() : node.name) + "'");
    }
    if (unsupported.empty()) return;
    std::vector<std::string> entries;
    for (const auto& [op, nodes] : unsupported)
        entries.push_back(fmt::format("{} (node{} {})", op, nodes.size() > 1 ? "s" : "", fmt::join(nodes, ", ")));
    fail("the runtime does not support {}", fmt::join(entries, "; "));
}

void check_kept_values_exist(const Graph& graph, const std::vector<std::string>& keep_values) {
    std::unordered_set<std::string> defined;
    for (const ValueInfo& input : graph.inputs) defined.insert(input.name);
    for (const auto& [name, tensor] : graph.initializers) defined.insert(name);
    for (const Node& node : graph.nodes) defined.insert(node.outputs.begin(), node.outputs.end());
    for (const std::string& name : keep_values)
        if (name.empty() || !defined.contains(name))
            fail("cannot keep value '{}': the model has no value of that name", name);
}

void check_input_shape(const ValueInfo& info, const Tensor& tensor) {
    if (!info.shape) return;
    bool matches = info.shape->size() == tensor.rank();
    for (std::size_t axis = 0; matches && axis < tensor.rank(); ++axis) {
        const Dim& dim = (*info.shape)[axis];
        matches = !dim.value || *dim.value == tensor.dim(axis);
    }
    if (matches) return;
    std::vector<std::string> expected;
    for (const Dim& dim : *info.shape)
        expected.push_back(dim.value ? std::to_string(*dim.value) : (dim.symbol.empty() ? "?" : dim.symbol));
    fail("input '{}' has shape {}, the model expects [{}]", info.name, shape_to_string(tensor.dims()),
         fmt::join(expected, ", "));
}

}  // namespace

struct Session::Impl {
    Model model;
    SessionOptions options;
    ThreadPool pool;
    std::unique_ptr<Plan> plan;

    Impl(Model source, SessionOptions session_options)
        : model(std::move(source)), options(std::move(session_options)), pool(options.threads) {}

    // The type each input has inside the plan: floating inputs are widened in float64 precision.
    ValueType planned_type(const ValueInfo& info, const Tensor& tensor) const {
        DataType dtype = tensor.dtype();
        bool widened = options.precision == DataType::Double && info.dtype == DataType::Float;
        if (widened ? dtype != DataType::Float && dtype != DataType::Double
                    : info.dtype != DataType::Undefined && dtype != info.dtype)
            fail("input '{}' is {}, the model expects {}", info.name, to_string(dtype), to_string(info.dtype));
        check_input_shape(info, tensor);
        return {widened ? DataType::Double : dtype, tensor.dims()};
    }

    static void copy_input(const Tensor& tensor, const TensorView& view) {
        if (tensor.dtype() == view.type.dtype) {
            std::ranges::copy(tensor.bytes(), view.data);
            return;
        }
        std::span<const float> source = tensor.data<float>();
        std::copy(source.begin(), source.end(), view.as<double>());
    }

    static Tensor copy_result(const TensorView& view) {
        Tensor tensor(view.type.dtype, view.type.shape);
        std::copy_n(view.data, tensor.bytes().size(), tensor.bytes().data());
        return tensor;
    }

    static void run_step(const PlanStep& step, ThreadPool& pool) {
        try {
            step.kernel->run(step.inputs, step.outputs, pool);
        } catch (const Error& error) {
            std::string message = error.what();
            if (message.find(step.node->label()) != std::string::npos) throw;
            fail("node {}: {}", step.node->label(), message);
        }
    }
};

Session::Session(Model model, SessionOptions options) {
    if (options.precision != DataType::Float && options.precision != DataType::Double)
        fail("session precision must be float32 or float64, not {}", to_string(options.precision));
    cpu_supports(Isa::Generic);  // a bad MOBILEONE_ISA is reported here, not as the first node's error
    check_ops_supported(model.graph);
    check_kept_values_exist(model.graph, options.keep_values);
    impl_ = std::make_unique<Impl>(std::move(model), std::move(options));
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const Graph& Session::graph() const { return impl_->model.graph; }
const std::vector<ValueInfo>& Session::inputs() const { return impl_->model.graph.inputs; }
const std::vector<ValueInfo>& Session::outputs() const { return impl_->model.graph.outputs; }

std::size_t Session::peak_activation_bytes() const { return impl_->plan ? impl_->plan->arena_bytes : 0; }

void Session::prepare(const std::map<std::string, Tensor>& inputs) {
    const Graph& graph = impl_->model.graph;
    for (const auto& [name, tensor] : inputs)
        if (!graph.is_input(name)) fail("'{}' is not an input of the model", name);
    PlanInputs plan_inputs;
    for (const ValueInfo& info : graph.inputs) {
        auto it = inputs.find(info.name);
        if (it == inputs.end()) fail("missing input '{}'", info.name);
        plan_inputs.types[info.name] = impl_->planned_type(info, it->second);
        if (!is_floating(it->second.dtype())) plan_inputs.values[info.name] = it->second;
    }
    if (!impl_->plan || impl_->plan->compiled_for != plan_inputs)
        impl_->plan = compile_plan(impl_->model, impl_->options, std::move(plan_inputs), impl_->pool);
}

RunResult Session::run(const std::map<std::string, Tensor>& inputs) {
    prepare(inputs);
    const Plan& plan = *impl_->plan;

    for (const auto& [name, view] : plan.inputs) Impl::copy_input(inputs.at(name), view);
    RunResult result;
    for (const PlanStep& step : plan.steps) {
        if (!impl_->options.profile) {
            Impl::run_step(step, impl_->pool);
            continue;
        }
        auto start = std::chrono::steady_clock::now();
        Impl::run_step(step, impl_->pool);
        std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
        const Node& node = *step.node;
        result.profile.push_back({node.name.empty() ? node.outputs.front() : node.name, node.op_type, step.entry->name,
                                  step.outputs.empty() ? std::vector<int64_t>{} : step.outputs.front().shape(),
                                  elapsed.count()});
    }
    for (const auto& [name, view] : plan.results) result.outputs.emplace(name, Impl::copy_result(view));
    return result;
}

}  // namespace mobileone::runtime
