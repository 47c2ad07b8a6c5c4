#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/classification.h"
#include "app/model_to_run.h"
#include "runtime/session.h"

namespace mobileone {

// What mobileone-run found for one image (or one batch item of --input tensors).
struct ClassifiedInput {
    std::string source;  // the image path, or the NAME=FILE inputs
    std::vector<Prediction> top;
    std::string error;   // set instead of `top` when the input could not be run
};

struct LatencyStats {
    std::size_t runs = 0;
    double median_ms = 0;  // mean of the middle two for an even count
    double min_ms = 0;
    std::vector<double> runs_ms;  // every timed run in order, so benchmarks can pool samples
};

LatencyStats summarize_latencies(std::vector<double> milliseconds);

// One node's time, averaged over the profiled runs.
struct ProfileRow {
    std::string node;
    std::string op_type;
    std::string kernel;
    std::vector<int64_t> output_shape;
    double milliseconds = 0;
    double percent = 0;  // of the summed node times
};

// Rows in node order averaged over `runs` (each a Session profile of the same plan), then sorted slowest first.
std::vector<ProfileRow> profile_rows(const std::vector<std::vector<runtime::NodeProfile>>& runs);

// What --bench and --profile measure; each part is present only when asked for.
struct RunMeasurements {
    std::optional<StartupTimes> startup;  // once a plan was compiled
    std::optional<LatencyStats> latency;
    std::vector<ProfileRow> profile;
    std::optional<std::size_t> peak_activation_bytes;  // of the plan the measured runs used
};

std::string format_predictions(const ClassifiedInput& input);
std::string format_startup(const StartupTimes& startup);
std::string format_latency(const LatencyStats& latency);
std::string format_profile(const std::vector<ProfileRow>& rows);
std::string format_measurements(const RunMeasurements& measurements);

// The --json document (schemas/run-output.schema.json); `optimized` says whether the reparameterized graph ran.
nlohmann::json run_output_json(const std::string& model, bool optimized, const std::vector<ClassifiedInput>& results,
                               const RunMeasurements& measurements);

}  // namespace mobileone
