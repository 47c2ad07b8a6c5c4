#include "verify/equivalence_gate.h"

#include <algorithm>

#include "ir/error.h"

namespace mobileone {

std::string require_equivalent(const Model& original, const Model& converted, const VerifyOptions& options) {
    VerifyReport check = verify_models(original, converted, options);
    if (check.equivalent) return format_summary(check);
    auto failed = std::find_if(check.outputs.begin(), check.outputs.end(), [](const Comparison& c) { return !c.pass; });
    if (failed == check.outputs.end())
        fail("{}: the conversion changed intermediate values beyond tolerance; nothing written", options.reference_source);
    fail("{}: the conversion changed output '{}' by up to {:.3g} (tolerance {:.3g}); nothing written",
         options.reference_source, failed->name, failed->max_abs_diff, failed->tolerance);
}

}  // namespace mobileone
