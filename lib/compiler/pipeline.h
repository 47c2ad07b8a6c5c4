#pragma once

#include <string>
#include <vector>

#include "compiler/pass.h"

namespace mobileone {

struct PassStats {
    std::string name;
    int changes = 0;         // summed over all iterations
    double milliseconds = 0;
    std::vector<std::string> notes;  // from the last iteration only: earlier ones repeat it
};

struct PipelineResult {
    int iterations = 0;
    std::vector<PassStats> passes;  // in pipeline order
};

// The passes `mobileone-convert` runs when no --passes is given, in order.
const std::vector<std::string>& default_pipeline();

// Runs the named passes in order, repeating the whole list until an iteration changes nothing.
// Unknown names fail before anything runs.
PipelineResult run_pipeline(Model& model, const std::vector<std::string>& pass_names, int max_iterations = 16);

}  // namespace mobileone
