#pragma once

#include <string>

#include "verify/verify.h"

namespace mobileone {

// The check `mobileone-convert --verify` runs before writing: returns the verify summary when `converted` is
// equivalent to `original`, else throws one-line Error naming `options.reference_source` and the worst output.
std::string require_equivalent(const Model& original, const Model& converted, const VerifyOptions& options);

}  // namespace mobileone
