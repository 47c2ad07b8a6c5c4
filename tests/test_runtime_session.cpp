// The runtime's plumbing: thread pool, liveness memory plan, and the Session (plan-time folding, buffer reuse,
// precision, kept values, errors). Models are built by hand; expected values are worked out from the op definitions.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "ir/error.h"
#include "runtime/kernel.h"
#include "runtime/memory_plan.h"
#include "runtime/session.h"
#include "runtime/thread_pool.h"

namespace mobileone {
namespace {

using runtime::BufferRequest;
using runtime::MemoryPlan;
using runtime::RunResult;
using runtime::Session;
using runtime::SessionOptions;
using runtime::ThreadPool;

// Shapes for ValueInfo; -1 is a symbolic dim.
std::vector<Dim> dims_of(const std::vector<int64_t>& dims) {
    std::vector<Dim> result;
    for (int64_t dim : dims) result.push_back(dim < 0 ? Dim{std::nullopt, "n"} : Dim{dim, {}});
    return result;
}

Model empty_model(int64_t opset = 13) {
    Model model;
    model.opset_imports = {{"", opset}};
    return model;
}

void add_input(Model& model, const std::string& name, std::vector<int64_t> dims, DataType dtype = DataType::Float) {
    model.graph.inputs.push_back({name, dtype, dims_of(dims), {}});
}

Node& add_node(Model& model, const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
               const std::string& name = {}) {
    model.graph.nodes.push_back({name, op, "", std::move(inputs), std::move(outputs), {}, {}});
    return model.graph.nodes.back();
}

void add_output(Model& model, const std::string& name) {
    model.graph.outputs.push_back({name, DataType::Undefined, {}, {}});
}

Tensor floats(std::vector<int64_t> dims, std::vector<float> values) {
    return Tensor::from_values<float>(std::move(dims), values);
}

Tensor random_floats(std::vector<int64_t> dims, uint32_t seed) {
    std::mt19937 generator(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> values(static_cast<std::size_t>(element_count(dims)));
    for (float& value : values) value = uniform(generator);
    return floats(std::move(dims), values);
}

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return {};
}

// x -> Softmax -> s1 -> ... -> s<length>, the last one the output.
Model softmax_chain(int length, std::vector<int64_t> shape) {
    Model model = empty_model();
    add_input(model, "x", shape);
    for (int i = 1; i <= length; ++i)
        add_node(model, "Softmax", {i == 1 ? "x" : fmt::format("s{}", i - 1)}, {fmt::format("s{}", i)});
    add_output(model, fmt::format("s{}", length));
    return model;
}

// A test-only op served by three kernels that fill the output with different constants, so the result shows which
// one the kernel table picked: the highest priority among those that accept the node and whose ISA this CPU has.
std::vector<runtime::ValueType> same_as_input(const runtime::NodeSignature& signature) { return {signature.inputs[0]}; }

template <int Value>
class FillKernel final : public runtime::Kernel {
public:
    void run(std::span<const runtime::TensorView>, std::span<const runtime::TensorView> outputs,
             runtime::ThreadPool&) const override {
        std::fill_n(outputs[0].as<float>(), outputs[0].numel(), static_cast<float>(Value));
    }
};

template <int Value>
std::unique_ptr<runtime::Kernel> make_fill(const runtime::NodeSignature&) {
    return std::make_unique<FillKernel<Value>>();
}

#if defined(__aarch64__)
constexpr runtime::Isa kMissingIsa = runtime::Isa::Avx2;
#else
constexpr runtime::Isa kMissingIsa = runtime::Isa::Neon;
#endif

bool accepts_flagged(const runtime::NodeSignature& signature) { return signature.node.attribute_int("flag", 0) == 1; }

MOBILEONE_REGISTER_OP(TestFill, same_as_input, make_fill<1>);
MOBILEONE_REGISTER_KERNEL(fill_flagged, "TestFill", "fill_flagged", runtime::Isa::Generic, 5, accepts_flagged,
                          make_fill<2>);
MOBILEONE_REGISTER_KERNEL(fill_missing_isa, "TestFill", "fill_missing_isa", kMissingIsa, 10, nullptr, make_fill<3>);

TEST(KernelTable, PicksTheBestAcceptingKernelThisCpuCanRun) {
    EXPECT_TRUE(runtime::cpu_supports(runtime::Isa::Generic));
    EXPECT_FALSE(runtime::cpu_supports(kMissingIsa));
    for (int64_t flag : {0, 1}) {
        Model model = empty_model();
        add_input(model, "x", {2});
        add_node(model, "TestFill", {"x"}, {"y"}, "fill").attributes["flag"] = flag;
        add_output(model, "y");
        SessionOptions options;
        options.profile = true;
        RunResult result = Session(model, options).run({{"x", Tensor(DataType::Float, {2})}});
        EXPECT_EQ(result.profile.at(0).kernel, flag ? "fill_flagged" : "TestFill_reference");
        EXPECT_EQ(result.outputs.at("y").data<float>()[0], flag ? 2.0f : 1.0f);
    }
    EXPECT_THROW(runtime::OpRegistry::instance().add_op({"TestFill", same_as_input}), Error);
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        EXPECT_EQ(pool.size(), threads);
        for (int64_t count : {0, 1, 5, 97, 1000}) {
            for (int64_t grain : {1, 7, 2000}) {
                std::vector<std::atomic<int>> hits(static_cast<std::size_t>(count));
                pool.parallel_for(
                    count,
                    [&](int64_t begin, int64_t end) {
                        for (int64_t i = begin; i < end; ++i) ++hits[static_cast<std::size_t>(i)];
                    },
                    grain);
                for (int64_t i = 0; i < count; ++i)
                    ASSERT_EQ(hits[static_cast<std::size_t>(i)], 1) << count << " " << grain;
            }
        }
    }
}

TEST(ThreadPool, ZeroThreadsMeansEveryHardwareThreadAndErrorsReachTheCaller) {
    ThreadPool all(0);
    EXPECT_EQ(all.size(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    ThreadPool pool(3);
    EXPECT_THROW(pool.parallel_for(100,
                                   [](int64_t begin, int64_t) {
                                       if (begin > 50) fail("chunk at {}", begin);
                                   }),
                 Error);
    std::atomic<int64_t> total = 0;
    pool.parallel_for(10, [&](int64_t begin, int64_t end) {
        // Nested calls run inline on the calling thread.
        pool.parallel_for(end - begin, [&](int64_t b, int64_t e) { total += e - b; });
    });
    EXPECT_EQ(total, 10);
    EXPECT_THROW(ThreadPool(-1), Error);
}

TEST(MemoryPlan, BuffersWithDisjointLifetimesShareMemory) {
    // Three 100-byte buffers, each alive across two steps: the first and third never meet.
    std::vector<BufferRequest> requests = {{100, 0, 1}, {100, 1, 2}, {100, 2, 3}};
    MemoryPlan plan = runtime::plan_memory(requests);
    EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
    EXPECT_NE(plan.offsets[0], plan.offsets[1]);
    EXPECT_EQ(plan.arena_bytes, 128u + 100u);  // the second sits at the next 64-byte boundary
}

TEST(MemoryPlan, BuffersAliveTogetherNeverOverlap) {
    std::mt19937 generator(7);
    std::vector<BufferRequest> requests;
    for (int i = 0; i < 200; ++i) {
        int first = static_cast<int>(generator() % 50);
        requests.push_back({1 + generator() % 5000, first, first + static_cast<int>(generator() % 8)});
    }
    MemoryPlan plan = runtime::plan_memory(requests);
    std::size_t total = 0;
    for (std::size_t a = 0; a < requests.size(); ++a) {
        total += requests[a].bytes;
        EXPECT_EQ(plan.offsets[a] % runtime::buffer_alignment, 0u);
        EXPECT_LE(plan.offsets[a] + requests[a].bytes, plan.arena_bytes);
        for (std::size_t b = a + 1; b < requests.size(); ++b) {
            bool alive_together =
                requests[a].first_step <= requests[b].last_step && requests[b].first_step <= requests[a].last_step;
            bool disjoint = plan.offsets[a] + requests[a].bytes <= plan.offsets[b] ||
                            plan.offsets[b] + requests[b].bytes <= plan.offsets[a];
            ASSERT_TRUE(!alive_together || disjoint) << a << " and " << b;
        }
    }
    EXPECT_LT(plan.arena_bytes, total / 2);
}

TEST(Session, ChainReusesActivationMemory) {
    // Seven [1, 64] float values (input and six results) of 256 bytes; at most two are alive at once.
    Session session(softmax_chain(6, {1, 64}));
    EXPECT_EQ(session.peak_activation_bytes(), 0u);  // nothing planned before the first run
    RunResult result = session.run({{"x", Tensor(DataType::Float, {1, 64})}});
    EXPECT_EQ(session.peak_activation_bytes(), 2u * 256u);
    EXPECT_LT(session.peak_activation_bytes(), 7u * 256u);
    // Softmax of equal values is uniform, and stays so down the chain.
    for (float value : result.outputs.at("s6").data<float>()) EXPECT_EQ(value, 1.0f / 64.0f);
}

TEST(Session, KeptValuesAreReturnedAndNotOverwritten) {
    SessionOptions options;
    options.keep_values = {"s1", "s2"};
    Session session(softmax_chain(4, {1, 2}), options);
    RunResult result = session.run({{"x", floats({1, 2}, {0.0f, std::log(3.0f)})}});
    ASSERT_EQ(result.outputs.size(), 3u);
    // softmax([0, ln 3]) = [1/4, 3/4]; softmax([1/4, 3/4]) = [1, e^0.5] / (1 + e^0.5).
    std::span<const float> s1 = result.outputs.at("s1").data<float>();
    EXPECT_NEAR(s1[0], 0.25f, 1e-6);
    EXPECT_NEAR(s1[1], 0.75f, 1e-6);
    double e = std::exp(0.5);
    std::span<const float> s2 = result.outputs.at("s2").data<float>();
    EXPECT_NEAR(s2[0], 1 / (1 + e), 1e-6);
    EXPECT_NEAR(s2[1], e / (1 + e), 1e-6);

    options.keep_values = {"nowhere"};
    EXPECT_EQ(error_of([&] {
                  Session(softmax_chain(2, {1, 2}), options);
              }),
              "cannot keep value 'nowhere': the model has no value of that name");
}

// x [2, 3, 9, 9] -> Conv 3x3/2 -> MaxPool 3x3/2 -> grouped Conv -> GlobalAveragePool -> Flatten -> Gemm -> Softmax
Model small_network() {
    Model model = empty_model();
    Graph& graph = model.graph;
    add_input(model, "x", {-1, 3, 9, 9});
    graph.initializers["w1"] = random_floats({8, 3, 3, 3}, 1);
    graph.initializers["b1"] = random_floats({8}, 2);
    graph.initializers["w2"] = random_floats({8, 2, 3, 3}, 3);
    graph.initializers["w3"] = random_floats({5, 8}, 4);
    graph.initializers["b3"] = random_floats({5}, 5);
    add_node(model, "Conv", {"x", "w1", "b1"}, {"c1"}, "conv1").attributes = {
        {"strides", std::vector<int64_t>{2, 2}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
    add_node(model, "MaxPool", {"c1"}, {"p1"}, "pool").attributes = {{"kernel_shape", std::vector<int64_t>{3, 3}},
                                                                     {"strides", std::vector<int64_t>{2, 2}},
                                                                     {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
    add_node(model, "Conv", {"p1", "w2"}, {"c2"}, "conv2").attributes = {{"group", int64_t{4}},
                                                                         {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
    add_node(model, "GlobalAveragePool", {"c2"}, {"g"}, "gap");
    add_node(model, "Flatten", {"g"}, {"f"}, "flatten");
    add_node(model, "Gemm", {"f", "w3", "b3"}, {"logits"}, "fc").attributes = {{"transB", int64_t{1}}};
    add_node(model, "Softmax", {"logits"}, {"probabilities"}, "softmax");
    add_output(model, "probabilities");
    return model;
}

TEST(Session, ResultsAreBitIdenticalForAnyThreadCount) {
    std::map<std::string, Tensor> inputs = {{"x", random_floats({2, 3, 9, 9}, 9)}};
    auto run_with = [&](int threads) {
        SessionOptions options;
        options.threads = threads;
        return Session(small_network(), options).run(inputs).outputs.at("probabilities");
    };
    Tensor single = run_with(1);
    EXPECT_EQ(single.dims(), (std::vector<int64_t>{2, 5}));
    EXPECT_EQ(run_with(2), single);
    EXPECT_EQ(run_with(3), single);
    EXPECT_EQ(run_with(0), single);
}

TEST(Session, DoublePrecisionComputesFloatingValuesInFloat64AndKeepsIntegers) {
    // y = A B + C with A = [[1]], B = [[1e-8]], C = [1]: float32 rounds 1 + 1e-8 to 1, float64 does not.
    Model model = empty_model();
    add_input(model, "a", {1, 1});
    model.graph.initializers["b"] = floats({1, 1}, {1e-8f});
    model.graph.initializers["c"] = floats({1}, {1.0f});
    add_node(model, "Gemm", {"a", "b", "c"}, {"y"});
    add_node(model, "Shape", {"a"}, {"a_shape"});
    add_output(model, "y");
    add_output(model, "a_shape");
    std::map<std::string, Tensor> inputs = {{"a", floats({1, 1}, {1.0f})}};

    RunResult single = Session(model).run(inputs);
    EXPECT_EQ(single.outputs.at("y").data<float>()[0], 1.0f);

    SessionOptions options;
    options.precision = DataType::Double;
    RunResult wide = Session(model, options).run(inputs);
    ASSERT_EQ(wide.outputs.at("y").dtype(), DataType::Double);
    EXPECT_EQ(wide.outputs.at("y").data<double>()[0], 1.0 + static_cast<double>(1e-8f));
    ASSERT_EQ(wide.outputs.at("a_shape").dtype(), DataType::Int64);
    EXPECT_EQ(wide.outputs.at("a_shape").to_int64s(), (std::vector<int64_t>{1, 1}));
}

TEST(Session, ConstantSubgraphsRunOnceAtPlanTime) {
    // w = Gemm(w1, w2) reads only initializers and Shape(x) only x's shape: neither runs with the model.
    Model model = empty_model();
    add_input(model, "x", {2, 3});
    model.graph.initializers["w1"] = floats({3, 1}, {1, 2, 3});
    model.graph.initializers["w2"] = floats({1, 2}, {1, -1});
    add_node(model, "Gemm", {"w1", "w2"}, {"w"}, "fold_me");
    add_node(model, "Gemm", {"x", "w"}, {"xw"}, "product");
    add_node(model, "Shape", {"xw"}, {"xw_shape"}, "shape");
    add_node(model, "Reshape", {"xw", "xw_shape"}, {"y"}, "reshape");
    add_output(model, "y");
    SessionOptions options;
    options.profile = true;
    RunResult result = Session(model, options).run({{"x", floats({2, 3}, {1, 0, 0, 1, 1, 1})}});
    std::vector<std::string> ran;
    for (const runtime::NodeProfile& entry : result.profile) ran.push_back(entry.node);
    EXPECT_EQ(ran, (std::vector<std::string>{"product", "reshape"}));
    const std::string& kernel = result.profile[0].kernel;  // the packed one where this CPU has a fast kernel set
    EXPECT_TRUE(kernel == "Gemm_reference" || kernel.starts_with("gemm_packed_")) << kernel;
    EXPECT_EQ(result.profile[0].output_shape, (std::vector<int64_t>{2, 2}));
    // w = [[1, -1], [2, -2], [3, -3]]; rows of x pick row 0, and the sum of all rows.
    EXPECT_EQ(result.outputs.at("y").data<float>()[0], 1.0f);
    EXPECT_EQ(result.outputs.at("y").data<float>()[1], -1.0f);
    EXPECT_EQ(result.outputs.at("y").data<float>()[2], 6.0f);
    EXPECT_EQ(result.outputs.at("y").data<float>()[3], -6.0f);
}

TEST(Session, ReplansWhenInputShapesChange) {
    Session session(softmax_chain(2, {1, -1}));
    EXPECT_EQ(session.run({{"x", Tensor(DataType::Float, {1, 4})}}).outputs.at("s2").data<float>()[3], 0.25f);
    std::size_t small = session.peak_activation_bytes();
    Tensor wide = session.run({{"x", Tensor(DataType::Float, {1, 32})}}).outputs.at("s2");
    EXPECT_EQ(wide.dims(), (std::vector<int64_t>{1, 32}));
    EXPECT_EQ(wide.data<float>()[31], 1.0f / 32.0f);
    EXPECT_GT(session.peak_activation_bytes(), small);
}

TEST(Session, UnsupportedOpsAreListedWithTheirNodes) {
    Model model = softmax_chain(1, {1, 2});
    add_node(model, "Frobnicate", {"s1"}, {"f1"}, "first");
    add_node(model, "Frobnicate", {"f1"}, {"f2"}, "second");
    add_node(model, "Bar", {"f2"}, {"unnamed_output"});
    model.graph.nodes.push_back({"custom", "Softmax", "com.example", {"f2"}, {"c"}, {}, {}});
    EXPECT_EQ(error_of([&] { Session session(model); }),
              "the runtime does not support Bar (node 'unnamed_output'); Frobnicate (nodes 'first', 'second'); "
              "com.example::Softmax (node 'custom')");
}

TEST(Session, BadInputsAndBadNodesAreOneLineErrors) {
    Session session(small_network());
    EXPECT_EQ(error_of([&] { session.run({}); }), "missing input 'x'");
    EXPECT_EQ(error_of([&] {
                  session.run({{"x", random_floats({1, 3, 9, 9}, 1)}, {"z", Tensor()}});
              }),
              "'z' is not an input of the model");
    EXPECT_EQ(error_of([&] {
                  session.run({{"x", random_floats({1, 3, 8, 9}, 1)}});
              }),
              "input 'x' has shape [1, 3, 8, 9], the model expects [n, 3, 9, 9]");
    EXPECT_EQ(error_of([&] {
                  session.run({{"x", Tensor(DataType::Double, {1, 3, 9, 9})}});
              }),
              "input 'x' is float64, the model expects float32");

    Model bad_weight = small_network();
    bad_weight.graph.initializers["w2"] = random_floats({8, 3, 3, 3}, 3);
    std::string message = error_of([&] { Session(bad_weight).run({{"x", random_floats({1, 3, 9, 9}, 1)}}); });
    EXPECT_NE(message.find("'conv2' (Conv)"), std::string::npos) << message;

    Model unordered = small_network();
    std::swap(unordered.graph.nodes[0], unordered.graph.nodes[1]);
    EXPECT_EQ(error_of([&] {
                  Session(unordered).run({{"x", random_floats({1, 3, 9, 9}, 1)}});
              }),
              "value 'c1' is read by node 'pool' (MaxPool) before any node, input or initializer defines it");
}

}  // namespace
}  // namespace mobileone
