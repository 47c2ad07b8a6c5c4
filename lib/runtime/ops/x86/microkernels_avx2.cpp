// The avx2 micro-kernels: the templates of simd/ instantiated for Avx2 (this file alone is compiled with avx2 flags).
#include "runtime/ops/microkernels.h"
#include "runtime/ops/simd/channelwise.h"
#include "runtime/ops/simd/depthwise.h"
#include "runtime/ops/simd/gemm.h"
#include "runtime/ops/simd/vec_avx2.h"

namespace mobileone::runtime {

extern const Microkernels avx2_microkernels = {
    Isa::Avx2,
    simd::Avx2::width,
    6,
    2 * simd::Avx2::width,
    simd::gemm_panel<simd::Avx2, 6>,
    simd::gemm_panel<simd::Avx2, 1>,
    simd::depthwise3x3_row<simd::Avx2>,
    simd::channel_mean<simd::Avx2>,
    simd::channel_scale<simd::Avx2>,
};

}  // namespace mobileone::runtime
