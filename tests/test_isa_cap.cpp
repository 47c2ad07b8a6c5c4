// MOBILEONE_ISA caps the kernel level and is read once per process, so each level is checked in a child process: this
// executable run again with the variable set, filtered to the test that inspects what the kernel table selects.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "runtime/ops/microkernels.h"
#include "support/op_runner.h"
#include "support/process.h"

namespace mobileone {
namespace {

using Shape = std::vector<int64_t>;

Tensor ones(Shape dims) {
    return floats(dims, std::vector<float>(static_cast<std::size_t>(element_count(dims)), 1.0f));
}

// A node of each fast kernel family, shaped as in MobileOne.
std::vector<OpCall> mobileone_nodes() {
    OpCall depthwise{"Conv", {runtime_value(ones({1, 64, 14, 14})), known(ones({64, 1, 3, 3}))}};
    depthwise.attributes = {{"group", int64_t{64}}, {"pads", Shape{1, 1, 1, 1}}};
    return {
        {"Conv", {runtime_value(ones({1, 64, 14, 14})), known(ones({128, 64, 1, 1}))}},
        depthwise,
        {"GlobalAveragePool", {runtime_value(ones({1, 64, 7, 7}))}},
        {"Gemm", {runtime_value(ones({1, 64})), known(ones({64, 10}))}},
    };
}

// The level kernels are selected at: MOBILEONE_ISA when set, else the widest micro-kernel set this CPU runs.
std::string expected_level() {
    if (const char* forced = std::getenv("MOBILEONE_ISA"); forced && *forced) return forced;
    std::optional<runtime::Isa> widest;
    for (const runtime::Microkernels* set : runtime::compiled_microkernels())
        if (runtime::cpu_supports(set->isa) && (!widest || runtime::isa_rank(set->isa) > runtime::isa_rank(*widest)))
            widest = set->isa;
    return runtime::to_string(widest.value_or(runtime::Isa::Generic));
}

// What the kernel table selects in this process; the tests below also run it as a child under a chosen level.
TEST(IsaCap, SelectionFollowsTheLevel) {
    const std::string level = expected_level();
    for (const OpCall& call : mobileone_nodes()) {
        const runtime::KernelEntry* selected = accepting_kernels(call).at(0);
        if (level == "generic")
            EXPECT_EQ(selected->name, call.op_type + "_reference");
        else
            EXPECT_EQ(runtime::to_string(selected->isa), level) << selected->name;
    }
}

struct Child {
    int exit_code;
    std::string output;  // stdout and stderr
};

Child run_selection_test_with(const std::string& isa) {
    CommandResult result = run_command(fmt::format(
        "MOBILEONE_ISA={} '{}' --gtest_filter=IsaCap.SelectionFollowsTheLevel", isa, tool_path("test_isa_cap")));
    return {result.exit_code, result.stdout_text + result.stderr_text};
}

TEST(IsaCap, GenericSelectsTheReferenceKernels) {
    Child child = run_selection_test_with("generic");
    EXPECT_EQ(child.exit_code, 0) << child.output;
    EXPECT_NE(child.output.find("[  PASSED  ] 1 test."), std::string::npos) << child.output;
    // Where this process runs a fast set, it is the cap that made the child pick the references.
    std::span<const runtime::Microkernels* const> sets = runtime::compiled_microkernels();
    if (std::any_of(sets.begin(), sets.end(), [](auto* set) { return runtime::cpu_supports(set->isa); })) {
        EXPECT_NE(accepting_kernels(mobileone_nodes()[0]).at(0)->isa, runtime::Isa::Generic);
    }
}

TEST(IsaCap, UnknownOrUnsupportedLevelIsAnErrorNamingIt) {
    Child unknown = run_selection_test_with("sse9");
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.output.find("MOBILEONE_ISA=sse9 is not one of generic, avx2, avx512, neon"), std::string::npos)
        << unknown.output;
#if defined(__aarch64__)
    const std::string other_architecture = "avx2";
#else
    const std::string other_architecture = "neon";
#endif
    Child missing = run_selection_test_with(other_architecture);
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.output.find("MOBILEONE_ISA=" + other_architecture + ": this CPU does not support it"),
              std::string::npos)
        << missing.output;
}

}  // namespace
}  // namespace mobileone
