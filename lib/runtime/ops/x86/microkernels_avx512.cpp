// The avx512 micro-kernels: the templates of simd/ instantiated for Avx512 (this file alone is compiled with avx512 flags).
#include "runtime/ops/microkernels.h"
#include "runtime/ops/simd/channelwise.h"
#include "runtime/ops/simd/depthwise.h"
#include "runtime/ops/simd/gemm.h"
#include "runtime/ops/simd/vec_avx512.h"

namespace mobileone::runtime {

extern const Microkernels avx512_microkernels = {
    Isa::Avx512,
    simd::Avx512::width,
    7,
    2 * simd::Avx512::width,
    simd::gemm_panel<simd::Avx512, 7>,
    simd::gemm_panel<simd::Avx512, 1>,
    simd::depthwise3x3_row<simd::Avx512>,
    simd::channel_mean<simd::Avx512>,
    simd::channel_scale<simd::Avx512>,
};

}  // namespace mobileone::runtime
