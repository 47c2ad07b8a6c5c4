// The per-ISA micro-kernels behind the fast kernels: plain functions on raw pointers, written once as templates in
// simd/ and compiled per ISA in x86/ and arm/. Only these files are built with ISA flags; the kernels that call them
// (packing, tiling, threads) are portable code in ops/, so nothing compiled for AVX-512 can leak into generic code:
// this header and simd/ include no library header with inline code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/isa.h"

namespace mobileone::runtime {

// Output clamp applied before the store: y = min(max(y, min), max). Relu is [0, inf).
struct ClampBounds {
    float min;
    float max;
};

// C[r, j] = clamp(bias[j] + sum_k A[r, k] * W[k, j]) for rows r < rows (1 <= rows <= mr) and columns j < columns
// (1 <= columns <= nr) of one packed panel: `panel` holds nr biases, then k rows of nr weights (zero beyond N).
using GemmPanelFunction = void (*)(std::size_t rows, std::size_t columns, std::size_t k, const float* a,
                                   std::size_t a_stride, const float* panel, float* c, std::size_t c_stride,
                                   ClampBounds clamp);

// One output row of a depthwise 3x3 convolution in NHWC: y[ow, c] = clamp(bias[c] + sum over taps inside the image of
// w[kh, kw, c] * x[oh * s - pad_top + kh, ow * s - pad_left + kw, c]). `weights` holds per group of `width` channels
// the biases then the 9 taps (zero beyond the channel count).
struct DepthwiseRow {
    const float* image;  // one image, NHWC
    int64_t height, width, channels;
    int64_t stride, pad_top, pad_left;
    int64_t output_row, output_width;
    const float* weights;
    float* output;  // the output row: output_width * channels
    ClampBounds clamp;
};
using DepthwiseRowFunction = void (*)(const DepthwiseRow& row);

// y[c] = (sum over pixels p of x[p, c]) / pixels, for one NHWC image.
using ChannelMeanFunction = void (*)(const float* x, int64_t pixels, int64_t channels, float* y);

// y[p, c] = clamp(x[p, c] * scale[c]) for one NHWC image.
using ChannelScaleFunction = void (*)(const float* x, const float* scale, int64_t pixels, int64_t channels, float* y,
                                      ClampBounds clamp);

struct Microkernels {
    Isa isa;
    int vector_width;  // floats per register
    std::size_t gemm_mr, gemm_nr;
    GemmPanelFunction gemm;      // gemm_mr x gemm_nr
    GemmPanelFunction gemm_row;  // 1 x gemm_nr, for a lone row (a matrix-vector product)
    DepthwiseRowFunction depthwise3x3_row;
    ChannelMeanFunction channel_mean;
    ChannelScaleFunction channel_scale;
};

#if defined(__x86_64__)
extern const Microkernels avx512_microkernels;
extern const Microkernels avx2_microkernels;
#endif
#if defined(__aarch64__)
extern const Microkernels neon_microkernels;
#endif

// Added to a fast kernel's priority so that, of two accepting sets, the wider ISA wins.
constexpr int isa_rank(Isa isa) { return isa == Isa::Avx512 ? 2 : (isa == Isa::Generic ? 0 : 1); }

// The micro-kernel sets built for this architecture, whether or not this CPU runs them (cpu_supports decides).
std::span<const Microkernels* const> compiled_microkernels();

}  // namespace mobileone::runtime
