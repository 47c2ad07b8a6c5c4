// What the planner does around the fast kernels: NCHW <-> NHWC reorders only where a value crosses layouts, Relu, Clip
// and Sigmoid fused into the kernel producing their input (unless that value is also a result), and the results equal
// to the graph evaluated node by node with the reference kernels, whatever the kernel level and thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/session.h"
#include "support/op_runner.h"

namespace mobileone {
namespace {

using runtime::RunResult;
using runtime::Session;
using runtime::SessionOptions;
using Shape = std::vector<int64_t>;

Tensor random_floats(Shape dims, uint32_t seed) {
    std::mt19937 generator(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> values(static_cast<std::size_t>(element_count(dims)));
    for (float& value : values) value = uniform(generator);
    return floats(std::move(dims), values);
}

Node& add_node(Model& model, const std::string& op, std::vector<std::string> inputs, std::string output) {
    model.graph.nodes.push_back({output + "_node", op, "", std::move(inputs), {output}, {}, {}});
    return model.graph.nodes.back();
}

void add_output(Model& model, const std::string& name) {
    model.graph.outputs.push_back({name, DataType::Undefined, {}, {}});
}

// x [2, 3, 15, 15] -> Conv 3x3/2 (the stem) -> c1 -> Relu -> r1 -> Conv 1x1 -> c2 -> Relu -> r2 -> GlobalAveragePool
// -> Flatten -> Gemm -> y [2, 10]: a MobileOne in miniature.
Model small_mobileone() {
    Model model;
    model.opset_imports = {{"", 13}};
    Graph& graph = model.graph;
    graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{2, {}}, {3, {}}, {15, {}}, {15, {}}}, {}});
    graph.initializers["w1"] = random_floats({16, 3, 3, 3}, 1);
    graph.initializers["b1"] = random_floats({16}, 2);
    graph.initializers["w2"] = random_floats({24, 16, 1, 1}, 3);
    graph.initializers["b2"] = random_floats({24}, 4);
    graph.initializers["fc"] = random_floats({10, 24}, 5);
    add_node(model, "Conv", {"x", "w1", "b1"}, "c1").attributes = {{"strides", Shape{2, 2}},
                                                                   {"pads", Shape{1, 1, 1, 1}}};
    add_node(model, "Relu", {"c1"}, "r1");
    add_node(model, "Conv", {"r1", "w2", "b2"}, "c2");
    add_node(model, "Relu", {"c2"}, "r2");
    add_node(model, "GlobalAveragePool", {"r2"}, "g");
    add_node(model, "Flatten", {"g"}, "f");
    add_node(model, "Gemm", {"f", "fc"}, "y").attributes = {{"transB", int64_t{1}}};
    add_output(model, "y");
    return model;
}

const std::map<std::string, Tensor> kInputs = {{"x", random_floats({2, 3, 15, 15}, 9)}};

// Every value of the graph, computed node by node by the reference kernels in NCHW: what any plan must produce.
std::map<std::string, Tensor> reference_values(const Model& model, std::map<std::string, Tensor> values) {
    for (const Node& node : model.graph.nodes) {
        OpCall call{node.op_type, {}, node.attributes, model.opset_version(), node.outputs.size()};
        for (const std::string& input : node.inputs) {
            auto initializer = model.graph.initializers.find(input);
            call.inputs.push_back(input.empty()                                   ? omitted()
                                  : initializer != model.graph.initializers.end() ? known(initializer->second)
                                                                                  : runtime_value(values.at(input)));
        }
        std::vector<Tensor> outputs = run_op_with_kernel(call, reference_kernel(node.op_type));
        for (std::size_t i = 0; i < outputs.size(); ++i) values[node.outputs[i]] = std::move(outputs[i]);
    }
    return values;
}

// Float rounding only: the sums run in another order, within a small multiple of the largest value's precision.
void expect_close(const Tensor& actual, const Tensor& expected, const std::string& name) {
    ASSERT_EQ(actual.dims(), expected.dims()) << name;
    std::vector<double> got = actual.to_doubles(), want = expected.to_doubles();
    double largest = 0;
    for (double value : want) largest = std::max(largest, std::abs(value));
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + largest)) << name << " element " << i;
}

// Whether an NHWC kernel serves the stem here (not with MOBILEONE_ISA=generic, nor on a CPU without a fast set).
bool fast_kernels_run() {
    const Model model = small_mobileone();
    const Node& stem = model.graph.nodes[0];
    OpCall call{"Conv",
                {runtime_value(kInputs.at("x")), known(model.graph.initializers.at("w1")),
                 known(model.graph.initializers.at("b1"))},
                stem.attributes};
    return accepting_kernels(call).front()->layout == runtime::Layout::Nhwc;
}

RunResult run_profiled(const Model& model, SessionOptions options = {}) {
    options.profile = true;
    return Session(model, options).run(kInputs);
}

std::vector<std::string> op_types(const RunResult& result) {
    std::vector<std::string> ops;
    for (const runtime::NodeProfile& step : result.profile) ops.push_back(step.op_type);
    return ops;
}

bool ran(const RunResult& result, const std::string& node) {
    return std::any_of(result.profile.begin(), result.profile.end(),
                       [&](const runtime::NodeProfile& step) { return step.node == node; });
}

TEST(PlannerFusion, NhwcKernelsNeedOneReorderAtTheInputAndFuseEveryRelu) {
    const Model model = small_mobileone();
    RunResult result = run_profiled(model);
    if (fast_kernels_run()) {
        EXPECT_EQ(op_types(result),
                  (std::vector<std::string>{"LayoutReorder", "Conv", "Conv", "GlobalAveragePool", "Flatten", "Gemm"}));
        EXPECT_EQ(result.profile.at(0).node, "x to NHWC");
    } else {
        EXPECT_EQ(op_types(result),
                  (std::vector<std::string>{"Conv", "Relu", "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"}));
        for (const runtime::NodeProfile& step : result.profile)  // the reference code, for elementwise ops in any layout
            EXPECT_TRUE(step.kernel == step.op_type + "_reference" || step.kernel == step.op_type + "_any_layout")
                << step.kernel;
    }
    expect_close(result.outputs.at("y"), reference_values(model, kInputs).at("y"), "y");
}

TEST(PlannerFusion, ResultsAreBitIdenticalForOneToFourThreads) {
    auto run_with = [](int threads) {
        SessionOptions options;
        options.threads = threads;
        options.keep_values = {"r1"};
        return Session(small_mobileone(), options).run(kInputs).outputs;
    };
    const std::map<std::string, Tensor> single = run_with(1);
    for (int threads = 2; threads <= 4; ++threads) EXPECT_EQ(run_with(threads), single) << threads << " threads";
}

TEST(PlannerFusion, AConvOutputThatIsAlsoAResultIsNotFused) {
    const std::map<std::string, Tensor> expected = reference_values(small_mobileone(), kInputs);
    Model as_output = small_mobileone();
    add_output(as_output, "c1");
    SessionOptions keep;
    keep.keep_values = {"c1"};
    for (const auto& [how, result] : {std::pair{"graph output", run_profiled(as_output)},
                                      std::pair{"kept value", run_profiled(small_mobileone(), keep)}}) {
        SCOPED_TRACE(how);
        EXPECT_TRUE(ran(result, "r1_node"));  // c1 stays as the Conv wrote it, so the Relu runs on its own
        EXPECT_EQ(ran(result, "r2_node"), !fast_kernels_run());
        const Tensor& c1 = result.outputs.at("c1");
        ASSERT_TRUE(std::any_of(c1.data<float>().begin(), c1.data<float>().end(), [](float v) { return v < 0; }))
            << "a fused Relu would have clamped the negative values away";
        expect_close(c1, expected.at("c1"), "c1");
        expect_close(result.outputs.at("y"), expected.at("y"), "y");
    }
}

TEST(PlannerFusion, ClipWithConstantBoundsAndSigmoidAreFused) {
    // x -> Conv 3x3 -> c -> <activation> -> a
    auto conv_then = [](const std::string& activation, std::vector<std::string> bounds) {
        Model model;
        model.opset_imports = {{"", 13}};
        model.graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{1, {}}, {8, {}}, {7, {}}, {7, {}}}, {}});
        model.graph.initializers["w"] = random_floats({8, 8, 3, 3}, 11);
        model.graph.initializers["low"] = Tensor::scalar(-0.25f);
        model.graph.initializers["high"] = Tensor::scalar(0.5f);
        add_node(model, "Conv", {"x", "w"}, "c").attributes = {{"pads", Shape{1, 1, 1, 1}}};
        bounds.insert(bounds.begin(), "c");
        add_node(model, activation, bounds, "a");
        add_output(model, "a");
        return model;
    };
    const std::map<std::string, Tensor> inputs = {{"x", random_floats({1, 8, 7, 7}, 12)}};
    struct Case {
        Model model;
        bool fused;
    };
    Model runtime_bound = conv_then("Clip", {"low", "bound"});
    runtime_bound.graph.inputs.push_back({"bound", DataType::Float, std::vector<Dim>{}, {}});
    const bool fast = fast_kernels_run();
    for (const auto& [model, fused] :
         {Case{conv_then("Clip", {"low", "high"}), fast}, Case{conv_then("Clip", {"", "high"}), fast},
          Case{conv_then("Sigmoid", {}), fast}, Case{std::move(runtime_bound), false}}) {
        SCOPED_TRACE(model.graph.nodes[1].op_type + " of " +
                     fmt::format("{}", fmt::join(model.graph.nodes[1].inputs, ", ")));
        std::map<std::string, Tensor> values = inputs;
        if (model.graph.inputs.size() == 2) values["bound"] = Tensor::scalar(0.5f);
        SessionOptions options;
        options.profile = true;
        RunResult result = Session(model, options).run(values);
        EXPECT_EQ(ran(result, "a_node"), !fused);
        expect_close(result.outputs.at("a"), reference_values(model, values).at("a"), "a");
    }
}

TEST(PlannerFusion, ResultsConvertedBackToNchwSurviveEachOthersReorders) {
    // Fused Conv+Relu results of several sizes, all NHWC until the reorders at the end of the plan: each converted
    // result must outlive every later reorder, or the memory plan hands its bytes to another.
    Model model;
    model.opset_imports = {{"", 13}};
    model.graph.inputs.push_back({"x", DataType::Float, std::vector<Dim>{{2, {}}, {4, {}}, {6, {}}, {6, {}}}, {}});
    const Shape widths = {4, 8, 4, 12, 4, 8};
    std::string previous = "x";
    SessionOptions options;
    for (std::size_t i = 1; i < widths.size(); ++i) {
        const std::string w = fmt::format("w{}", i), c = fmt::format("c{}", i), r = fmt::format("r{}", i);
        model.graph.initializers[w] = random_floats({widths[i], widths[i - 1], 1, 1}, static_cast<uint32_t>(20 + i));
        add_node(model, "Conv", {previous, w}, c);
        add_node(model, "Relu", {c}, r);
        options.keep_values.push_back(r);
        previous = r;
    }
    add_output(model, previous);
    options.keep_values.pop_back();
    const std::map<std::string, Tensor> inputs = {{"x", random_floats({2, 4, 6, 6}, 30)}};
    RunResult result = Session(model, options).run(inputs);
    const std::map<std::string, Tensor> expected = reference_values(model, inputs);
    for (const auto& [name, value] : result.outputs) expect_close(value, expected.at(name), name);
}

}  // namespace
}  // namespace mobileone
