#include "support/op_runner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ir/error.h"
#include "runtime/layout.h"
#include "runtime/thread_pool.h"

namespace mobileone {

using runtime::NodeSignature;
using runtime::TensorView;
using runtime::ValueType;

std::vector<float> iota_floats(int64_t count) {
    std::vector<float> values;
    for (int64_t i = 0; i < count; ++i) values.push_back(static_cast<float>(i));
    return values;
}

Node OpCall::node() const {
    Node node;
    node.name = "node_under_test";
    node.op_type = op_type;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        node.inputs.push_back(inputs[i].value ? fmt::format("x{}", i) : std::string());
    for (std::size_t i = 0; i < outputs; ++i) node.outputs.push_back(fmt::format("y{}", i));
    node.attributes = attributes;
    return node;
}

namespace {

NodeSignature signature_of(const Node& node, const OpCall& call) {
    NodeSignature signature{node, call.opset, {}, {}};
    for (const OpInput& input : call.inputs) {
        signature.inputs.push_back(input.value ? ValueType{input.value->dtype(), input.value->dims()} : ValueType{});
        signature.constants.push_back(input.value && input.constant ? &*input.value : nullptr);
    }
    return signature;
}

const runtime::OpDefinition& definition_of(const std::string& op_type) {
    const runtime::OpDefinition* op = runtime::OpRegistry::instance().find_op(op_type);
    if (!op) fail("op {} is not registered", op_type);
    return *op;
}

TensorView view_of(const Tensor& tensor) {
    return {{tensor.dtype(), tensor.dims()}, const_cast<std::byte*>(tensor.bytes().data())};
}

// `value` rewritten into layout `to` by the runtime's reorder kernel; its dims stay [N, C, H, W].
Tensor reordered(const Tensor& value, runtime::Layout to, runtime::ThreadPool& pool) {
    Tensor result(value.dtype(), value.dims());
    TensorView input = view_of(value), output = view_of(result);
    runtime::make_reorder(to)->run({&input, 1}, {&output, 1}, pool);
    return result;
}

}  // namespace

std::vector<ValueType> infer_op(const OpCall& call) {
    Node node = call.node();
    return definition_of(call.op_type).infer(signature_of(node, call));
}

std::vector<Tensor> run_op(const OpCall& call, int threads) {
    infer_op(call);  // as in the planner, the type rules check the node before any kernel's accepts() sees it
    std::vector<const runtime::KernelEntry*> entries = accepting_kernels(call);
    if (entries.empty()) fail("no kernel for op {}", call.op_type);
    return run_op_with_kernel(call, *entries.front(), threads);
}

std::vector<const runtime::KernelEntry*> accepting_kernels(const OpCall& call) {
    Node node = call.node();
    return runtime::OpRegistry::instance().accepting_kernels(signature_of(node, call));
}

const runtime::KernelEntry& reference_kernel(const std::string& op_type) {
    for (const runtime::KernelEntry* entry : runtime::OpRegistry::instance().kernels_of(op_type))
        if (entry->name == op_type + "_reference") return *entry;
    fail("op {} has no reference kernel", op_type);
}

bool kernel_accepts(const runtime::KernelEntry& entry, const OpCall& call) {
    Node node = call.node();
    return entry.op_type == call.op_type && (!entry.accepts || entry.accepts(signature_of(node, call)));
}

std::vector<Tensor> run_op_with_kernel(const OpCall& call, const runtime::KernelEntry& entry, int threads,
                                       runtime::FusedActivation activation) {
    Node node = call.node();
    NodeSignature signature = signature_of(node, call);
    std::vector<ValueType> types = definition_of(call.op_type).infer(signature);
    signature.activation = activation;
    std::unique_ptr<runtime::Kernel> kernel = entry.make(signature);
    runtime::ThreadPool pool(threads);
    // Constants stay NCHW, like the planner's; so do values whose layouts coincide.
    auto in_kernel_layout = [&](const ValueType& type, bool constant) {
        return entry.layout == runtime::Layout::Nhwc && !constant && !runtime::layout_neutral(type.shape);
    };

    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < call.inputs.size(); ++i) {
        const OpInput& input = call.inputs[i];
        bool reorder = input.value && in_kernel_layout(signature.inputs[i], input.constant);
        inputs.push_back(reorder ? reordered(*input.value, runtime::Layout::Nhwc, pool)
                                 : input.value.value_or(Tensor()));
    }
    std::vector<TensorView> input_views;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        input_views.push_back(signature.inputs[i].present() ? view_of(inputs[i]) : TensorView{});
    std::vector<Tensor> outputs;
    std::vector<TensorView> output_views;
    for (const ValueType& type : types) outputs.emplace_back(type.dtype, type.shape);
    for (Tensor& output : outputs) output_views.push_back(view_of(output));

    kernel->run(input_views, output_views, pool);
    for (std::size_t i = 0; i < outputs.size(); ++i)
        if (in_kernel_layout(types[i], false)) outputs[i] = reordered(outputs[i], runtime::Layout::Nchw, pool);
    return outputs;
}

Tensor run_single(const OpCall& call, int threads) {
    std::vector<Tensor> outputs = run_op(call, threads);
    if (outputs.size() != 1) fail("op {} gave {} outputs, expected one", call.op_type, outputs.size());
    return std::move(outputs.front());
}

std::string run_error(const OpCall& call) {
    try {
        run_op(call);
    } catch (const Error& error) {
        return error.what();
    }
    return {};
}

void expect_error_names_node(const OpCall& call, const std::string& fragment) {
    std::string message = run_error(call);
    EXPECT_NE(message.find("'node_under_test'"), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

}  // namespace mobileone
