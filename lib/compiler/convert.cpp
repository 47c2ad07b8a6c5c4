#include "compiler/convert.h"

#include <chrono>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "ir/error.h"
#include "ir/onnx_io.h"

namespace mobileone {
namespace {

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code ec;
    if (std::filesystem::exists(b, ec)) return std::filesystem::equivalent(a, b, ec);
    return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

nlohmann::json stats_to_json(const ModelStats& stats) {
    return {{"nodes", stats.node_count},
            {"nodes_by_op", stats.nodes_by_op},
            {"parameters", stats.parameters},
            {"macs", stats.macs}};
}

std::string with_unit(int64_t value) {
    if (value >= 1'000'000'000) return fmt::format("{:.3f} G", value / 1e9);
    if (value >= 1'000'000) return fmt::format("{:.3f} M", value / 1e6);
    if (value >= 1'000) return fmt::format("{:.3f} K", value / 1e3);
    return std::to_string(value);
}

int count_of(const ModelStats& stats, const std::string& op) {
    auto it = stats.nodes_by_op.find(op);
    return it == stats.nodes_by_op.end() ? 0 : it->second;
}

}  // namespace

ConvertReport convert_model(Model& model, const ConvertOptions& options, const std::string& source) {
    ConvertReport report;
    auto start = std::chrono::steady_clock::now();
    report.input = source;
    report.before = compute_stats(model);
    try {
        report.pipeline = run_pipeline(model, options.passes);
    } catch (const Error& error) {
        fail("{}: {}", source, error.what());
    }
    check_model(model, source + " (converted)");
    report.after = compute_stats(model);
    report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return report;
}

ConvertReport convert_file(const std::filesystem::path& input, const std::filesystem::path& output,
                           const ConvertOptions& options) {
    if (same_file(input, output)) fail("{}: refusing to overwrite the input model", output.string());
    check_writable(output);
    auto start = std::chrono::steady_clock::now();
    Model model = load_model(input);
    std::optional<Model> original;
    if (options.before_write) original = model;
    ConvertReport report = convert_model(model, options, input.string());
    if (options.before_write) options.before_write(*original, model);
    save_model(model, output);
    report.output = output.string();
    report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return report;
}

nlohmann::json report_to_json(const ConvertReport& report) {
    nlohmann::json passes = nlohmann::json::array();
    for (const PassStats& pass : report.pipeline.passes)
        passes.push_back({{"name", pass.name},
                          {"changes", pass.changes},
                          {"milliseconds", pass.milliseconds},
                          {"notes", pass.notes}});
    return {{"input", report.input},
            {"output", report.output},
            {"before", stats_to_json(report.before)},
            {"after", stats_to_json(report.after)},
            {"iterations", report.pipeline.iterations},
            {"passes", passes},
            {"milliseconds", report.milliseconds}};
}

std::string format_summary(const ConvertReport& report, bool verbose) {
    std::string out = fmt::format("{} -> {}  ({:.0f} ms)\n", report.input, report.output, report.milliseconds);
    out += fmt::format("  {:<22}{:>8} -> {}\n", "nodes", report.before.node_count, report.after.node_count);
    std::set<std::string> ops;
    for (const auto& [op, count] : report.before.nodes_by_op) ops.insert(op);
    for (const auto& [op, count] : report.after.nodes_by_op) ops.insert(op);
    for (const std::string& op : ops)
        out += fmt::format("    {:<20}{:>8} -> {}\n", op, count_of(report.before, op), count_of(report.after, op));
    out += fmt::format("  {:<22}{:>8} -> {}\n", "parameters", with_unit(report.before.parameters),
                       with_unit(report.after.parameters));
    out += fmt::format("  {:<22}{:>8} -> {}\n", "MACs", with_unit(report.before.macs), with_unit(report.after.macs));
    out += fmt::format("  passes ({} iteration{}):\n", report.pipeline.iterations,
                       report.pipeline.iterations == 1 ? "" : "s");
    for (const PassStats& pass : report.pipeline.passes) {
        out += fmt::format("    {:<26}{:>4} change{}  {:>8.2f} ms\n", pass.name, pass.changes,
                           pass.changes == 1 ? " " : "s", pass.milliseconds);
        if (verbose)
            for (const std::string& note : pass.notes) out += fmt::format("      - {}\n", note);
    }
    return out;
}

}  // namespace mobileone
