#pragma once

#include <cstdint>
#include <string_view>

#include "ir/graph.h"

namespace mobileone {

enum class MobileOneVariant { S0, S1, S2, S3, S4 };

// How the train-time model went through torch.onnx.export (see tools/mobileone_torch.py).
enum class ExportStyle {
    Prefused,   // eval mode, constant folding: the exporter already folded each branch's BN into its Conv
    BatchNorm,  // TrainingMode.PRESERVE, no constant folding: every BatchNormalization node kept
};

MobileOneVariant parse_mobileone_variant(std::string_view text);  // "s0" .. "s4"
ExportStyle parse_export_style(std::string_view text);            // "prefused" or "bn"
std::string_view to_string(MobileOneVariant variant);
std::string_view to_string(ExportStyle style);

// The train graph torch.onnx.export (PyTorch 1.13) writes for tools/mobileone_torch.py's model, node for node:
// same order, op types, attributes, Constant nodes, Add chain order and node names; input "input" [N,3,224,224],
// output "output" [N,1000] for batch N (the exporter also bakes N into the head's view() shape).
// Supported opsets: 11 to 17, each exported as PyTorch does for that opset.
//
// Weights are seeded random numbers (deterministic on every platform) with BN statistics far from the identity.
// Parameters are drawn in the same order for both styles, so a Prefused model is exactly the BN-folded form of
// the BatchNorm model with the same seed. tools/compare_mobileone_graphs.py checks the structure against the
// real exporter.
Model build_mobileone(MobileOneVariant variant, ExportStyle style, uint64_t seed, int opset = 13, int64_t batch = 1);

}  // namespace mobileone
