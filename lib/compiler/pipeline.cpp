#include "compiler/pipeline.h"

#include <chrono>
#include <memory>

#include "ir/error.h"

namespace mobileone {

const std::vector<std::string>& default_pipeline() {
    static const std::vector<std::string> names = {
        "constants_to_initializers", "remove_noops",          "fold_batchnorm",    "batchnorm_to_conv",
        "merge_parallel_branches",   "fold_channel_affine",   "avgpool_to_global", "fold_constants",
        "eliminate_dead_code",
    };
    return names;
}

PipelineResult run_pipeline(Model& model, const std::vector<std::string>& pass_names, int max_iterations) {
    std::vector<std::unique_ptr<Pass>> passes;
    PipelineResult result;
    for (const std::string& name : pass_names) {
        const PassInfo* info = PassRegistry::instance().find(name);
        if (!info) fail("unknown pass '{}' (see --list-passes)", name);
        passes.push_back(info->make());
        result.passes.push_back(PassStats{name, 0, 0.0, {}});
    }
    bool changed = true;
    while (changed && result.iterations < max_iterations) {
        changed = false;
        ++result.iterations;
        for (std::size_t i = 0; i < passes.size(); ++i) {
            PassLog log;
            auto start = std::chrono::steady_clock::now();
            int changes = passes[i]->run(model, log);
            auto elapsed = std::chrono::steady_clock::now() - start;
            PassStats& stats = result.passes[i];
            stats.changes += changes;
            stats.milliseconds += std::chrono::duration<double, std::milli>(elapsed).count();
            stats.notes = std::move(log.notes);
            changed = changed || changes > 0;
        }
    }
    return result;
}

}  // namespace mobileone
