#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/model_input.h"
#include "ir/tensor.h"

namespace mobileone {

// Everything `mobileone-run` is told on its command line.
struct RunOptions {
    std::string model;
    std::vector<std::string> images;
    std::vector<std::string> inputs;  // NAME=FILE, instead of images
    std::size_t top_k = 5;
    std::optional<std::filesystem::path> labels;
    int threads = 0;
    bool json = false;
    int bench_runs = 0;  // timed runs after one warm-up
    bool profile = false;
    bool optimize = true;  // reparameterize the graph in memory first (--no-optimize: run it as written)
    std::optional<std::filesystem::path> save_outputs;
    DataType precision = DataType::Float;
    PreprocessOverrides preprocessing;
};

// Classifies each image (or the --input tensors; nothing for a model without inputs) with the runtime and prints the
// top-k classes, startup times, latency and profile to `out`. A failing image gets a one-line error on `err` and the
// rest still run. Returns the exit status: 0 when everything ran, 1 otherwise.
int run_classifier(const RunOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mobileone
