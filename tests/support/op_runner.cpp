#include "support/op_runner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ir/error.h"
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

}  // namespace

std::vector<ValueType> infer_op(const OpCall& call) {
    Node node = call.node();
    return definition_of(call.op_type).infer(signature_of(node, call));
}

std::vector<Tensor> run_op(const OpCall& call, int threads) {
    Node node = call.node();
    NodeSignature signature = signature_of(node, call);
    std::vector<ValueType> types = definition_of(call.op_type).infer(signature);
    const runtime::KernelEntry* entry = runtime::OpRegistry::instance().select_kernel(signature);
    if (!entry) fail("no kernel for op {}", call.op_type);
    std::unique_ptr<runtime::Kernel> kernel = entry->make(signature);

    std::vector<Tensor> inputs;
    for (const OpInput& input : call.inputs) inputs.push_back(input.value.value_or(Tensor()));
    std::vector<TensorView> input_views;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        input_views.push_back(signature.inputs[i].present() ? TensorView{signature.inputs[i], inputs[i].bytes().data()}
                                                             : TensorView{});
    std::vector<Tensor> outputs;
    for (const ValueType& type : types) outputs.emplace_back(type.dtype, type.shape);
    std::vector<TensorView> output_views;
    for (Tensor& output : outputs) output_views.push_back({{output.dtype(), output.dims()}, output.bytes().data()});

    runtime::ThreadPool pool(threads);
    kernel->run(input_views, output_views, pool);
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
