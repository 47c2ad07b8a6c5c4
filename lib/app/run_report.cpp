#include "app/run_report.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/error.h"

namespace mobileone {

LatencyStats summarize_latencies(std::vector<double> milliseconds) {
    if (milliseconds.empty()) fail("no timed runs to summarize");
    std::vector<double> sorted = milliseconds;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return {n, median, sorted.front(), std::move(milliseconds)};
}

std::vector<ProfileRow> profile_rows(const std::vector<std::vector<runtime::NodeProfile>>& runs) {
    std::vector<ProfileRow> rows;
    if (runs.empty()) return rows;
    for (const runtime::NodeProfile& node : runs.front())
        rows.push_back({node.node, node.op_type, node.kernel, node.output_shape, 0, 0});
    for (const std::vector<runtime::NodeProfile>& run : runs) {
        if (run.size() != rows.size()) fail("profiled runs executed different plans");
        for (std::size_t i = 0; i < run.size(); ++i) rows[i].milliseconds += run[i].milliseconds / double(runs.size());
    }
    double total = 0;
    for (const ProfileRow& row : rows) total += row.milliseconds;
    for (ProfileRow& row : rows) row.percent = total > 0 ? 100 * row.milliseconds / total : 0;
    std::stable_sort(rows.begin(), rows.end(),
                     [](const ProfileRow& a, const ProfileRow& b) { return a.milliseconds > b.milliseconds; });
    return rows;
}

std::string format_predictions(const ClassifiedInput& input) {
    if (!input.error.empty()) return fmt::format("{}: error: {}\n", input.source, input.error);
    std::string text = fmt::format("{}\n", input.source);
    for (std::size_t rank = 0; rank < input.top.size(); ++rank) {
        const Prediction& p = input.top[rank];
        text += fmt::format("  {:>2}. {:>6}  {:.4f}  {}\n", rank + 1, p.index, p.probability, p.label);
    }
    return text;
}

std::string format_startup(const StartupTimes& startup) {
    return fmt::format("startup  load {:.1f} ms  optimize {:.1f} ms  plan {:.1f} ms  total {:.1f} ms\n",
                       startup.load_ms, startup.optimize_ms, startup.plan_ms, startup.total_ms());
}

std::string format_latency(const LatencyStats& latency) {
    return fmt::format("latency over {} runs: median {:.3f} ms, min {:.3f} ms\n", latency.runs, latency.median_ms,
                       latency.min_ms);
}

std::string format_profile(const std::vector<ProfileRow>& rows) {
    std::size_t node_width = 4, op_width = 2, kernel_width = 6, shape_width = 5;
    for (const ProfileRow& row : rows) {
        node_width = std::max(node_width, row.node.size());
        op_width = std::max(op_width, row.op_type.size());
        kernel_width = std::max(kernel_width, row.kernel.size());
        shape_width = std::max(shape_width, shape_to_string(row.output_shape).size());
    }
    std::string text = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>9}  {:>6}\n", "node", node_width, "op", op_width,
                                   "kernel", kernel_width, "shape", shape_width, "ms", "%");
    double total = 0;
    for (const ProfileRow& row : rows) {
        total += row.milliseconds;
        text += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>9.3f}  {:>6.2f}\n", row.node, node_width, row.op_type,
                            op_width, row.kernel, kernel_width, shape_to_string(row.output_shape), shape_width,
                            row.milliseconds, row.percent);
    }
    text += fmt::format("total {:.3f} ms in {} nodes\n", total, rows.size());
    return text;
}

std::string format_measurements(const RunMeasurements& measurements) {
    std::string text;
    if (measurements.startup) text += format_startup(*measurements.startup);
    if (measurements.latency) text += format_latency(*measurements.latency);
    if (!measurements.profile.empty()) text += format_profile(measurements.profile);
    if (measurements.peak_activation_bytes)
        text += fmt::format("peak activation memory: {:.2f} MiB\n", *measurements.peak_activation_bytes / 1048576.0);
    return text;
}

nlohmann::json run_output_json(const std::string& model, bool optimized, const std::vector<ClassifiedInput>& results,
                               const RunMeasurements& measurements) {
    const auto& [startup, latency, profile, peak_activation_bytes] = measurements;
    nlohmann::json document = {{"model", model}, {"optimized", optimized}, {"results", nlohmann::json::array()}};
    for (const ClassifiedInput& input : results) {
        nlohmann::json entry = {{"image", input.source}};
        if (!input.error.empty()) {
            entry["error"] = input.error;
        } else {
            entry["top"] = nlohmann::json::array();
            for (const Prediction& p : input.top)
                entry["top"].push_back({{"index", p.index}, {"label", p.label}, {"probability", p.probability}});
        }
        document["results"].push_back(entry);
    }
    if (startup)
        document["startup_ms"] = {{"load", startup->load_ms},
                                  {"optimize", startup->optimize_ms},
                                  {"plan", startup->plan_ms},
                                  {"total", startup->total_ms()}};
    if (latency)
        document["latency_ms"] = {{"median", latency->median_ms},
                                  {"min", latency->min_ms},
                                  {"runs", latency->runs},
                                  {"runs_ms", latency->runs_ms}};
    if (peak_activation_bytes) document["peak_activation_bytes"] = *peak_activation_bytes;
    if (!profile.empty()) {
        document["profile"] = nlohmann::json::array();
        for (const ProfileRow& row : profile)
            document["profile"].push_back({{"node", row.node},
                                           {"op", row.op_type},
                                           {"kernel", row.kernel},
                                           {"shape", row.output_shape},
                                           {"ms", row.milliseconds},
                                           {"percent", row.percent}});
    }
    return document;
}

}  // namespace mobileone
