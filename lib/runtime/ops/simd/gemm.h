// GEMM micro-kernels over one packed panel, for any vector type V of simd/vec_*.h: MR rows of A are broadcast one
// element at a time against the panel's two vectors of columns (NR = 2 * V::width), accumulating MR x 2 registers
// across the whole K loop (the classic register-blocked outer product). Rows past `rows` alias the last real row, so
// one code path serves every tile; their duplicate stores write the same values.
#pragma once

#include <cstddef>

#include "runtime/ops/microkernels.h"

namespace mobileone::runtime::simd {
namespace {

template <class V, std::size_t MR>
using Accumulators = typename V::Reg[MR][2];

template <class V, std::size_t MR>
void start_with_bias(Accumulators<V, MR>& acc, const float* panel) {
    const typename V::Reg bias0 = V::load(panel), bias1 = V::load(panel + V::width);
    for (std::size_t r = 0; r < MR; ++r) {
        acc[r][0] = bias0;
        acc[r][1] = bias1;
    }
}

// acc[r] += a_row[r][0..k) * w, w holding k rows of 2 vectors; returns the weights past them.
template <class V, std::size_t MR>
const float* accumulate(Accumulators<V, MR>& acc, const float* const (&a_row)[MR], std::size_t k, const float* w) {
    using Reg = typename V::Reg;
    constexpr std::size_t W = V::width;
    for (std::size_t i = 0; i < k; ++i, w += 2 * W) {
        const Reg w0 = V::load(w), w1 = V::load(w + W);
        for (std::size_t r = 0; r < MR; ++r) {
            const Reg x = V::set1(a_row[r][i]);
            acc[r][0] = V::fma(x, w0, acc[r][0]);
            acc[r][1] = V::fma(x, w1, acc[r][1]);
        }
    }
    return w;
}

template <class V, std::size_t MR>
void clamp_and_store(const Accumulators<V, MR>& acc, float* const (&c_row)[MR], std::size_t columns,
                     ClampBounds clamp) {
    using Reg = typename V::Reg;
    constexpr std::size_t W = V::width;
    // max/min return their second operand when either is NaN, so a NaN result stays NaN as in the reference.
    const Reg low = V::set1(clamp.min), high = V::set1(clamp.max);
    for (std::size_t r = MR; r-- > 0;) {
        Reg y0 = V::min(high, V::max(low, acc[r][0]));
        Reg y1 = V::min(high, V::max(low, acc[r][1]));
        if (columns == 2 * W) {
            V::store(c_row[r], y0);
            V::store(c_row[r] + W, y1);
        } else if (columns > W) {
            V::store(c_row[r], y0);
            V::store_partial(c_row[r] + W, y1, static_cast<int>(columns - W));
        } else {
            V::store_partial(c_row[r], y0, static_cast<int>(columns));
        }
    }
}

template <class V, std::size_t MR>
void gemm_panel(std::size_t rows, std::size_t columns, std::size_t k, const float* a, std::size_t a_stride,
                const float* panel, float* c, std::size_t c_stride, ClampBounds clamp) {
    const float* a_row[MR];
    float* c_row[MR];
    for (std::size_t r = 0; r < MR; ++r) {
        const std::size_t row = r < rows ? r : rows - 1;
        a_row[r] = a + row * a_stride;
        c_row[r] = c + row * c_stride;
    }
    Accumulators<V, MR> acc;
    start_with_bias<V, MR>(acc, panel);
    accumulate<V, MR>(acc, a_row, k, panel + 2 * V::width);
    clamp_and_store<V, MR>(acc, c_row, columns, clamp);
}

}  // namespace
}  // namespace mobileone::runtime::simd
