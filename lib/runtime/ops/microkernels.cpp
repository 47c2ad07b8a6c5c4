#include "runtime/ops/microkernels.h"

namespace mobileone::runtime {

std::span<const Microkernels* const> compiled_microkernels() {
    static constexpr const Microkernels* sets[] = {
#if defined(__x86_64__)
        &avx512_microkernels, &avx2_microkernels,
#elif defined(__aarch64__)
        &neon_microkernels,
#endif
        nullptr,  // keeps the array non-empty on other architectures
    };
    return {sets, std::size(sets) - 1};
}

}  // namespace mobileone::runtime
