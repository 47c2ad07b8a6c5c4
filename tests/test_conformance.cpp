// ONNX backend conformance: every ONNX node test and PyTorch-converted test from Debian's libonnx-testdata whose model
// uses only ops the runtime implements (the list of issue 3) runs through a Session, in float32 and in float64
// precision, and must match the reference outputs as ONNX's runner checks them: |actual - expected| <= atol +
// rtol * |expected|. Tests using any other op are not instantiated. Known gaps are skipped by the list below, each
// with its reason; everything else in scope must pass.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "runtime/session.h"

namespace mobileone {
namespace {

namespace fs = std::filesystem;

const fs::path kTestDataRoot = "/usr/share/libonnx-testdata/data";

struct Suite {
    const char* directory;
    const char* prefix;  // of the test names, which must be unique across suites
};
const Suite kSuites[] = {{"node", "node_"}, {"pytorch-converted", "pytorch_"}};

const std::set<std::string> kRuntimeOps = {"Conv",        "BatchNormalization",
                                           "Add",         "Sub",
                                           "Mul",         "Div",
                                           "Relu",        "Sigmoid",
                                           "Clip",        "LeakyRelu",
                                           "HardSigmoid", "HardSwish",
                                           "Tanh",        "GlobalAveragePool",
                                           "AveragePool", "MaxPool",
                                           "Pad",         "Gemm",
                                           "MatMul",      "Flatten",
                                           "Reshape",     "Shape",
                                           "Gather",      "Unsqueeze",
                                           "Squeeze",     "Concat",
                                           "Transpose",   "Constant",
                                           "Identity",    "Dropout",
                                           "Softmax"};

constexpr double kRelativeTolerance = 1e-3;
constexpr double kAbsoluteTolerance = 1e-7;

// In-scope tests the runtime deliberately does not pass, matched (regex search) against the test name.
struct Skip {
    const char* pattern;
    const char* reason;
};
const Skip kSkips[] = {
    {"batchnorm_.*training_mode",
     "training-mode BatchNormalization (batch statistics) is outside an inference runtime"},
    {"^node_identity_(opt|sequence)$", "optional and sequence values are not tensors; the IR holds tensors only"},
    {"^node_training_dropout", "training-mode Dropout draws a random mask, which an inference runtime never does"},
};

struct ConformanceCase {
    std::string name;
    fs::path directory;
    std::string skip_reason;  // empty: must pass
};

// gtest prints parameters in listings and failures (and CTest shows them beside each test name): the data directory.
void PrintTo(const ConformanceCase& test, std::ostream* out) {
    *out << test.directory.parent_path().filename().string() << '/' << test.directory.filename().string();
}

std::set<std::string> op_types_of(const fs::path& model_path) {
    std::ifstream file(model_path, std::ios::binary);
    onnx::ModelProto model;
    if (!model.ParseFromIstream(&file)) return {"<unreadable model>"};
    std::set<std::string> ops;
    for (const onnx::NodeProto& node : model.graph().node())
        ops.insert(node.domain().empty() || node.domain() == "ai.onnx" ? node.op_type()
                                                                       : node.domain() + "::" + node.op_type());
    return ops;
}

std::string test_name(const Suite& suite, const std::string& directory) {
    std::string name =
        fmt::format("{}{}", suite.prefix, directory.starts_with("test_") ? directory.substr(5) : directory);
    std::replace_if(
        name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

struct Discovery {
    std::vector<ConformanceCase> cases;  // in scope
    std::size_t discovered = 0;
    std::size_t skipped = 0;
};

const Discovery& discovery() {
    static const Discovery result = [] {
        Discovery found;
        for (const Suite& suite : kSuites) {
            fs::path root = kTestDataRoot / suite.directory;
            if (!fs::is_directory(root)) continue;
            std::vector<fs::path> directories;
            for (const fs::directory_entry& entry : fs::directory_iterator(root))
                if (fs::exists(entry.path() / "model.onnx")) directories.push_back(entry.path());
            std::sort(directories.begin(), directories.end());
            for (const fs::path& directory : directories) {
                ++found.discovered;
                std::set<std::string> ops = op_types_of(directory / "model.onnx");
                if (!std::includes(kRuntimeOps.begin(), kRuntimeOps.end(), ops.begin(), ops.end())) continue;
                ConformanceCase test{test_name(suite, directory.filename().string()), directory, {}};
                for (const Skip& skip : kSkips)
                    if (std::regex_search(test.name, std::regex(skip.pattern))) test.skip_reason = skip.reason;
                found.skipped += !test.skip_reason.empty();
                found.cases.push_back(std::move(test));
            }
        }
        return found;
    }();
    return result;
}

class ConformanceSummary : public ::testing::Environment {
public:
    void SetUp() override {
        const Discovery& found = discovery();
        std::cout << "ONNX conformance: " << found.discovered << " tests discovered under " << kTestDataRoot.string()
                  << ", " << found.cases.size() << " in scope, " << found.skipped << " of those skipped\n";
    }
};
[[maybe_unused]] ::testing::Environment* const summary = ::testing::AddGlobalTestEnvironment(new ConformanceSummary);

std::vector<fs::path> data_sets(const fs::path& directory) {
    std::vector<fs::path> sets;
    for (const fs::directory_entry& entry : fs::directory_iterator(directory))
        if (entry.is_directory() && entry.path().filename().string().starts_with("test_data_set_"))
            sets.push_back(entry.path());
    std::sort(sets.begin(), sets.end());
    return sets;
}

bool close_enough(double actual, double expected) {
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    return std::abs(actual - expected) <= kAbsoluteTolerance + kRelativeTolerance * std::abs(expected);
}

// float64 precision returns float64 where the reference holds float32; every other type must match exactly.
void expect_matches(const Tensor& actual, const Tensor& expected, DataType precision, const std::string& what) {
    DataType wanted =
        precision == DataType::Double && expected.dtype() == DataType::Float ? DataType::Double : expected.dtype();
    ASSERT_EQ(to_string(actual.dtype()), to_string(wanted)) << what;
    ASSERT_EQ(shape_to_string(actual.dims()), shape_to_string(expected.dims())) << what;
    std::vector<double> got = actual.to_doubles();
    std::vector<double> want = expected.to_doubles();
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (close_enough(got[i], want[i])) continue;
        if (++mismatches <= 5)
            ADD_FAILURE() << what << " element " << i << ": got " << got[i] << ", expected " << want[i];
    }
    EXPECT_EQ(mismatches, 0u) << what << ": elements out of tolerance";
}

void run_data_set(runtime::Session& session, const Model& model, const fs::path& data_set, DataType precision) {
    std::map<std::string, Tensor> inputs;
    for (std::size_t i = 0; i < model.graph.inputs.size(); ++i)
        inputs[model.graph.inputs[i].name] = load_tensor(data_set / ("input_" + std::to_string(i) + ".pb"));
    runtime::RunResult result = session.run(inputs);
    for (std::size_t i = 0; i < model.graph.outputs.size(); ++i) {
        const std::string& name = model.graph.outputs[i].name;
        Tensor expected = load_tensor(data_set / ("output_" + std::to_string(i) + ".pb"));
        std::string what = fmt::format("{} in {} ({})", name, data_set.filename().string(), to_string(precision));
        expect_matches(result.outputs.at(name), expected, precision, what);
    }
}

class Conformance : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(Conformance, MatchesReferenceOutputs) {
    const ConformanceCase& test = GetParam();
    if (!test.skip_reason.empty()) GTEST_SKIP() << test.skip_reason;
    std::vector<fs::path> sets = data_sets(test.directory);
    ASSERT_FALSE(sets.empty()) << "no test_data_set_* in " << test.directory;
    try {
        Model model = load_model(test.directory / "model.onnx");
        for (DataType precision : {DataType::Float, DataType::Double}) {
            runtime::SessionOptions options;
            options.precision = precision;
            options.threads = 2;
            runtime::Session session(model, options);
            for (const fs::path& data_set : sets) run_data_set(session, model, data_set, precision);
        }
    } catch (const Error& error) {
        FAIL() << error.what();
    }
}

INSTANTIATE_TEST_SUITE_P(Onnx, Conformance, ::testing::ValuesIn(discovery().cases),
                         [](const ::testing::TestParamInfo<ConformanceCase>& info) { return info.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

// Without the data every parameterized test silently vanishes; this one says why instead.
TEST(ConformanceData, IsInstalledAndHasTestsInScope) {
    ASSERT_TRUE(fs::is_directory(kTestDataRoot / "node"))
        << kTestDataRoot.string() << " missing: install libonnx-testdata";
    EXPECT_GT(discovery().cases.size(), 100u);
}

}  // namespace
}  // namespace mobileone
