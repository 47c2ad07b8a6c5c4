#pragma once

#include <string>

#include "ir/graph.h"

namespace mobileone {

// How long mobileone-run took to be ready for its first run.
struct StartupTimes {
    double load_ms = 0;      // reading and parsing the model file
    double optimize_ms = 0;  // reparameterizing it in memory (also when the converter gave up); 0 with --no-optimize
    double plan_ms = 0;      // compiling the runtime's plan for the first inputs
    double total_ms() const { return load_ms + optimize_ms + plan_ms; }
};

// The graph mobileone-run executes.
struct ModelToRun {
    Model model;
    bool optimized = false;              // reparameterized by the converter's passes
    std::string not_optimized_because;  // the converter's reason for refusing the model, without the file name
    StartupTimes startup;                // load and optimize; the plan is timed once inputs are known
};

// Reads and parses the ONNX file.
ModelToRun load_model_to_run(const std::string& path);

// Reparameterizes the model in memory with mobileone-convert's default pipeline: the deploy graph computes the same
// function with far fewer nodes. A model the converter refuses stays as written, and says why.
void optimize_model_to_run(ModelToRun& loaded, const std::string& path);

}  // namespace mobileone
