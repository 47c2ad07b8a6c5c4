#include "app/model_to_run.h"

#include <chrono>

#include "compiler/pipeline.h"
#include "ir/error.h"
#include "ir/onnx_io.h"

namespace mobileone {
namespace {

double milliseconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// convert_model's errors start with the file name (or "<file> (converted)"), which mobileone-run's warning already
// gives.
std::string without_file_name(std::string message, const std::string& path) {
    for (const std::string& prefix : {path + ": ", path + " (converted): "})
        if (message.starts_with(prefix)) return message.substr(prefix.size());
    return message;
}

}  // namespace

ModelToRun load_model_to_run(const std::string& path) {
    auto start = std::chrono::steady_clock::now();
    ModelToRun loaded{load_model(path), false, {}, {}};
    loaded.startup.load_ms = milliseconds_since(start);
    return loaded;
}

void optimize_model_to_run(ModelToRun& loaded, const std::string& path) {
    auto start = std::chrono::steady_clock::now();
    Model converted = loaded.model;  // a refused conversion may have rewritten part of its copy
    try {
        // The pipeline alone: the runtime validates every node it plans, so the converter's statistics and ONNX's
        // full check would only add start-up time.
        run_pipeline(converted, default_pipeline());
        loaded.model = std::move(converted);
        loaded.optimized = true;
    } catch (const Error& error) {
        loaded.not_optimized_because = without_file_name(error.what(), path);
    }
    loaded.startup.optimize_ms = milliseconds_since(start);
}

}  // namespace mobileone
