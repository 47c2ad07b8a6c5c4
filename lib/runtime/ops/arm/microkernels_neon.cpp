// The neon micro-kernels: the templates of simd/ instantiated for Neon (this file alone is compiled with neon flags).
#include "runtime/ops/microkernels.h"
#include "runtime/ops/simd/channelwise.h"
#include "runtime/ops/simd/depthwise.h"
#include "runtime/ops/simd/gemm.h"
#include "runtime/ops/simd/vec_neon.h"

namespace mobileone::runtime {

extern const Microkernels neon_microkernels = {
    Isa::Neon,
    simd::Neon::width,
    8,
    2 * simd::Neon::width,
    simd::gemm_panel<simd::Neon, 8>,
    simd::gemm_panel<simd::Neon, 1>,
    simd::depthwise3x3_row<simd::Neon>,
    simd::channel_mean<simd::Neon>,
    simd::channel_scale<simd::Neon>,
};

}  // namespace mobileone::runtime
