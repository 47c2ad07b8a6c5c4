#include <cmath>

#include <fmt/format.h>

#include "verify/verify.h"

namespace mobileone {
namespace {

// JSON has no infinity or NaN: a non-finite measurement is written as null.
nlohmann::json number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

nlohmann::json comparison_to_json(const Comparison& comparison) {
    nlohmann::json classes;
    if (comparison.classes) {
        const ClassAgreement& agreement = *comparison.classes;
        classes = {{"classes", agreement.classes},
                   {"predictions", agreement.predictions},
                   {"top1_agreement", agreement.top1_rate()},
                   {"top5_agreement", agreement.top5_rate()},
                   {"decisive_top1_mismatches", agreement.decisive_top1_mismatches}};
    }
    return {{"name", comparison.name},
            {"shape", comparison.shape},
            {"samples", comparison.samples},
            {"max_abs_reference", number(comparison.max_abs_reference)},
            {"max_abs_diff", number(comparison.max_abs_diff)},
            {"max_rel_diff", number(comparison.max_rel_diff)},
            {"mean_abs_diff", number(comparison.mean_abs_diff)},
            {"cosine_similarity", number(comparison.cosine_similarity)},
            {"worst_sample", comparison.worst_sample},
            {"worst_element", comparison.worst_element},
            {"tolerance", number(comparison.tolerance)},
            {"classes", classes},
            {"pass", comparison.pass}};
}

nlohmann::json comparisons_to_json(const std::vector<Comparison>& comparisons) {
    nlohmann::json list = nlohmann::json::array();
    for (const Comparison& comparison : comparisons) list.push_back(comparison_to_json(comparison));
    return list;
}

nlohmann::json layerwise_to_json(const LayerwiseReport& layerwise) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const LayerComparison& layer : layerwise.tensors)
        tensors.push_back({{"reference_node", layer.tensor.reference_node},
                           {"reference_op", layer.tensor.reference_op},
                           {"candidate_node", layer.tensor.candidate_node},
                           {"candidate_op", layer.tensor.candidate_op},
                           {"comparison", comparison_to_json(layer.comparison)}});
    return {{"tensors", tensors},
            {"shape_mismatches", layerwise.shape_mismatches},
            {"first_divergence", layerwise.first_divergence ? nlohmann::json(*layerwise.first_divergence)
                                                            : nlohmann::json()}};
}

std::string percent(int matches, int total) {
    return total ? fmt::format("{:.1f}%", 100.0 * matches / total) : std::string("-");
}

std::string table(const std::vector<Comparison>& comparisons, const std::string& label_header,
                  const std::vector<std::string>& labels) {
    std::size_t width = label_header.size();
    for (const std::string& label : labels) width = std::max(width, label.size());
    std::string out = fmt::format("  {:<{}}  {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>10}  {}\n",
                                  label_header, width, "max|ref|", "max abs", "max rel", "mean abs", "1-cosine",
                                  "top-1", "top-5", "tolerance", "verdict");
    for (std::size_t i = 0; i < comparisons.size(); ++i) {
        const Comparison& c = comparisons[i];
        std::string top1 = "-", top5 = "-";
        if (c.classes) {
            top1 = percent(c.classes->top1_matches, c.classes->predictions);
            top5 = percent(c.classes->top5_matches, c.classes->predictions);
        }
        out += fmt::format("  {:<{}}  {:>10.3e} {:>10.3e} {:>10.3e} {:>10.3e} {:>10.3e} {:>8} {:>8} {:>10.3e}  {}\n",
                           labels[i], width, c.max_abs_reference, c.max_abs_diff, c.max_rel_diff, c.mean_abs_diff,
                           1.0 - c.cosine_similarity, top1, top5, c.tolerance, c.pass ? "pass" : "FAIL");
    }
    return out;
}

std::vector<std::string> names_of(const std::vector<Comparison>& comparisons, const std::string& prefix = {}) {
    std::vector<std::string> names;
    for (const Comparison& comparison : comparisons) names.push_back(prefix + comparison.name);
    return names;
}

// Why an output failed, in one line.
std::string failure_reason(const Comparison& c) {
    std::string reason;
    if (!(c.max_abs_diff <= c.tolerance))
        reason = fmt::format("max abs diff {:.3e} > tolerance {:.3e} (sample {}, element {})", c.max_abs_diff,
                             c.tolerance, c.worst_sample, c.worst_element);
    if (c.classes && c.classes->decisive_top1_mismatches > 0)
        reason += fmt::format("{}top-1 differs on {} of {} predictions with a clear reference winner",
                              reason.empty() ? "" : "; ", c.classes->decisive_top1_mismatches,
                              c.classes->predictions);
    return reason;
}

}  // namespace

nlohmann::json report_to_json(const VerifyReport& report) {
    const VerifyOptions& options = report.options;
    nlohmann::json document = {
        {"reference", report.reference},
        {"candidate", report.candidate},
        {"settings",
         {{"samples", options.samples},
          {"seed", options.seed},
          {"images", report.images},
          {"rtol", options.tolerance.rtol},
          {"atol", options.tolerance.atol},
          {"precision", options.float64_reference ? "f64" : "f32"},
          {"layerwise", options.layerwise}}},
        {"outputs", comparisons_to_json(report.outputs)},
        {"equivalent", report.equivalent},
        {"milliseconds", report.milliseconds},
    };
    if (options.float64_reference)
        document["float64"] = {{"reference", comparisons_to_json(report.reference_vs_float64)},
                               {"candidate", comparisons_to_json(report.candidate_vs_float64)}};
    if (report.layerwise) document["layerwise"] = layerwise_to_json(*report.layerwise);
    return document;
}

std::string format_summary(const VerifyReport& report) {
    const VerifyOptions& options = report.options;
    std::string out = fmt::format("{} (reference) vs {} (candidate)\n", report.reference, report.candidate);
    out += fmt::format("  {} random input{} (seed {}), {} image{}; rtol {:g}, atol {:g}; {:.0f} ms\n", options.samples,
                       options.samples == 1 ? "" : "s", options.seed, report.images.size(),
                       report.images.size() == 1 ? "" : "s", options.tolerance.rtol, options.tolerance.atol,
                       report.milliseconds);
    out += table(report.outputs, "output", names_of(report.outputs));
    if (options.float64_reference) {
        out += "float32 models against the reference computed in float64:\n";
        std::vector<Comparison> rows = report.reference_vs_float64;
        rows.insert(rows.end(), report.candidate_vs_float64.begin(), report.candidate_vs_float64.end());
        std::vector<std::string> labels = names_of(report.reference_vs_float64, "reference ");
        for (const std::string& name : names_of(report.candidate_vs_float64, "candidate ")) labels.push_back(name);
        out += table(rows, "model output", labels);
    }
    if (report.layerwise) {
        const LayerwiseReport& layerwise = *report.layerwise;
        out += fmt::format("layerwise: {} tensors matched by name", layerwise.tensors.size());
        if (!layerwise.shape_mismatches.empty())
            out += fmt::format(" ({} more differ in shape, first '{}')", layerwise.shape_mismatches.size(),
                               layerwise.shape_mismatches.front());
        if (!layerwise.first_divergence) {
            out += "; all within tolerance\n";
        } else {
            const LayerComparison& layer = layerwise.tensors[*layerwise.first_divergence];
            out += fmt::format(
                "\n  first divergence: '{}' {} from '{}' ({}) in the reference and '{}' ({}) in the candidate: "
                "max abs diff {:.3e} > tolerance {:.3e} (max rel {:.3e})\n",
                layer.tensor.name, shape_to_string(layer.comparison.shape), layer.tensor.reference_node,
                layer.tensor.reference_op, layer.tensor.candidate_node, layer.tensor.candidate_op,
                layer.comparison.max_abs_diff, layer.comparison.tolerance, layer.comparison.max_rel_diff);
        }
    }
    if (report.equivalent) {
        out += "EQUIVALENT\n";
    } else {
        out += "NOT EQUIVALENT\n";
        for (const Comparison& comparison : report.outputs)
            if (!comparison.pass) out += fmt::format("  output '{}': {}\n", comparison.name, failure_reason(comparison));
        if (report.layerwise && report.layerwise->first_divergence) {
            const Comparison& first = report.layerwise->tensors[*report.layerwise->first_divergence].comparison;
            out += fmt::format("  tensor '{}': {}\n", first.name, failure_reason(first));
        }
    }
    return out;
}

}  // namespace mobileone
