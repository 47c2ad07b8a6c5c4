#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/model_stats.h"
#include "compiler/pipeline.h"

namespace mobileone {

struct ConvertOptions {
    std::vector<std::string> passes = default_pipeline();
    // Called with the loaded model and its conversion before anything is written; throwing Error aborts the write.
    // `mobileone-convert --verify` checks equivalence here.
    std::function<void(const Model& original, const Model& converted)> before_write;
};

struct ConvertReport {
    std::string input;
    std::string output;
    ModelStats before;
    ModelStats after;
    PipelineResult pipeline;
    double milliseconds = 0;
};

// Runs the pipeline on a model in memory; the result passes the ONNX full check or this throws.
ConvertReport convert_model(Model& model, const ConvertOptions& options, const std::string& source);

// Loads `input`, converts, writes `output` atomically. Refuses to overwrite the input. Every failure throws Error
// naming the file (and node), before anything is written.
ConvertReport convert_file(const std::filesystem::path& input, const std::filesystem::path& output,
                           const ConvertOptions& options);

nlohmann::json report_to_json(const ConvertReport& report);  // schemas/convert-report.schema.json
std::string format_summary(const ConvertReport& report, bool verbose);

}  // namespace mobileone
