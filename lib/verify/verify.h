#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/graph.h"
#include "verify/layerwise.h"
#include "verify/metrics.h"

namespace mobileone {

// Equivalence of a converted (candidate) model and its train graph (reference).
//
// Both models run in the project's runtime, in float32, on the same samples: every given image, preprocessed as
// mobileone-run does, then `samples` seeded standard-normal inputs (worst_sample counts in that order). Each sample is
// one run with batch 1 (a symbolic batch dimension is set to 1). For every graph output, over all samples:
//   max abs diff   max |candidate - reference|
//   max rel diff   max abs diff / max |reference|
//   mean abs diff  mean |candidate - reference|
//   cosine         the lowest cosine similarity of one sample's output vectors
//   top-1, top-5   for class scores ([batch, C] or [batch, C, 1, 1], C >= 5): the fraction of predictions whose best
//                  class (top-1) or set of five best classes (top-5, order ignored) is the same in both models.
// An output passes iff
//   max abs diff <= atol + rtol * max|reference|                                                 (the tolerance)
//   and no decisive top-1 mismatch: a prediction whose best class differs although the reference's best score
//   exceeds its second best by more than the tolerance. Closer races are reported in the top-1 rate but do not fail:
//   rounding noise may legitimately reorder them.
// The models are equivalent iff every output passes (and, with --layerwise, every matched tensor is within its
// tolerance). NaN or infinite differences always fail.
//
// Default tolerances: rtol 1e-4, atol 1e-6. The yardstick is float32 rounding noise. A graph's float32 result differs
// from its float64 result by rounding alone, and a correct deploy graph (the same function, summed in another order)
// differs from the train graph by about as much. Measured with this tool on build_mobileone's random-weight graphs,
// S0-S4 in both export styles, 224 x 224, 16 seeded normal inputs (--precision f64):
//   max rel diff of the logits, train graph float32 vs float64    1.0e-6 (S0) to 2.3e-6 (S4)
//   max rel diff of the logits, deploy graph float32 vs float64   1.1e-6 to 2.1e-6
//   max rel diff of the logits, deploy vs train (the verdict's)   0.8e-6 to 1.6e-6
//   worst matched tensor, deploy vs train (layerwise, 4 inputs)   1.7e-6 (S0) to 7.4e-6 (S4, a block sum in stage 3)
// rtol = 1e-4 sits 40x above the worst float32-vs-float64 error of the logits and 13x above the worst intermediate
// tensor, leaving room for trained weights and real images, whose dynamic range is larger. Tighter would not buy much
// (see --layerwise). atol only matters for a tensor that is zero (or nearly) everywhere.
//
// --precision f64 also runs the reference in float64 and reports both float32 models against it with the same
// metrics, to show the candidate adds no error beyond the reference's own float32 noise. It does not change the verdict.
//
// --layerwise matches tensors produced under the same name in both graphs (see match_tensors), keeps them from both runs
// and compares each with the same metrics (no top-k), its tolerance scaled by that tensor's own max|reference|; the
// first in the reference's topological order beyond tolerance is the first divergence, and fails the verdict. It is
// the sharper test: an error in one block is diluted by every layer after it. One weight of one block off by 1e-2 (in
// a random-weight S0 at 64 x 64) moved the logits by 7e-7 to 3.5e-4 relative, within rtol for all but the last block,
// but that block's output by 1e-4 to 1e-2, beyond it in every block where the weight had any effect (it had none
// where it multiplied a channel the previous Relu zeroes everywhere).
inline constexpr double kDefaultRtol = 1e-4;
inline constexpr double kDefaultAtol = 1e-6;

struct VerifyOptions {
    int samples = 16;  // seeded random inputs
    uint64_t seed = 0;
    std::vector<std::filesystem::path> images;  // files, or directories: every .jpg/.jpeg/.png below, by path
    Tolerance tolerance{kDefaultRtol, kDefaultAtol};
    bool float64_reference = false;
    bool layerwise = false;
    int threads = 0;  // 0: all hardware threads
    std::string reference_source = "reference";  // names the models in errors and reports
    std::string candidate_source = "candidate";
};

struct LayerComparison {
    MatchedTensor tensor;
    Comparison comparison;
};

struct LayerwiseReport {
    std::vector<LayerComparison> tensors;       // in the reference's topological order
    std::vector<std::string> shape_mismatches;  // same name, different shape: not compared
    std::optional<std::size_t> first_divergence;  // index into tensors
};

struct VerifyReport {
    std::string reference;
    std::string candidate;
    VerifyOptions options;
    std::vector<std::string> images;  // every image sample, in the order run (before the random ones)
    std::vector<Comparison> outputs;  // candidate vs reference, both float32
    std::vector<Comparison> reference_vs_float64;  // float64_reference only
    std::vector<Comparison> candidate_vs_float64;
    std::optional<LayerwiseReport> layerwise;
    bool equivalent = false;
    double milliseconds = 0;
};

// Runs both models on the samples and compares them. Throws Error (naming the model) when they cannot be compared:
// different input names, types or shapes, different output names or shapes, no samples, an unreadable image, an op the
// runtime does not support.
VerifyReport verify_models(const Model& reference, const Model& candidate, const VerifyOptions& options);

// The image files `paths` name: files as given, directories expanded to their images sorted by path.
std::vector<std::filesystem::path> collect_images(const std::vector<std::filesystem::path>& paths);

nlohmann::json report_to_json(const VerifyReport& report);  // schemas/verify-report.schema.json
std::string format_summary(const VerifyReport& report);

}  // namespace mobileone
