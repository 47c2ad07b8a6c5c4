// Depthwise 3x3 convolution, one NHWC output row at a time, for any vector type V of simd/vec_*.h. Channels are the
// vector lanes, so any stride costs the same; per group of V::width channels the bias and nine taps stay in
// registers while the row is swept. Columns whose three taps are all inside the image skip the bounds checks.
#pragma once

#include <cstdint>

#include "runtime/ops/microkernels.h"

namespace mobileone::runtime::simd {
namespace {

template <class V, bool Partial>
void depthwise3x3_group(const DepthwiseRow& p, const float* const rows[3], int64_t channel, int count,
                        const float* weights) {
    using Reg = typename V::Reg;
    constexpr int W = V::width;
    auto load = [&](const float* x) { return Partial ? V::load_partial(x, count) : V::load(x); };
    const Reg bias = V::load(weights);
    Reg tap[9];
    for (int t = 0; t < 9; ++t) tap[t] = V::load(weights + W * (t + 1));
    const Reg low = V::set1(p.clamp.min), high = V::set1(p.clamp.max);
    const int64_t C = p.channels;
    for (int64_t ow = 0; ow < p.output_width; ++ow) {
        const int64_t left = ow * p.stride - p.pad_left;
        Reg acc = bias;
        const bool inside = left >= 0 && left + 2 < p.width;
        for (int kh = 0; kh < 3; ++kh) {
            if (!rows[kh]) continue;
            const float* x = rows[kh] + left * C + channel;
            if (inside) {
                acc = V::fma(load(x), tap[3 * kh], acc);
                acc = V::fma(load(x + C), tap[3 * kh + 1], acc);
                acc = V::fma(load(x + 2 * C), tap[3 * kh + 2], acc);
                continue;
            }
            for (int kw = 0; kw < 3; ++kw)
                if (left + kw >= 0 && left + kw < p.width) acc = V::fma(load(x + kw * C), tap[3 * kh + kw], acc);
        }
        Reg y = V::min(high, V::max(low, acc));  // NaN stays NaN: see simd/gemm.h
        float* out = p.output + ow * C + channel;
        if (Partial)
            V::store_partial(out, y, count);
        else
            V::store(out, y);
    }
}

template <class V>
void depthwise3x3_row(const DepthwiseRow& p) {
    constexpr int W = V::width;
    const float* rows[3];
    for (int kh = 0; kh < 3; ++kh) {
        const int64_t ih = p.output_row * p.stride - p.pad_top + kh;
        rows[kh] = ih >= 0 && ih < p.height ? p.image + ih * p.width * p.channels : nullptr;
    }
    const float* weights = p.weights;
    int64_t channel = 0;
    for (; channel + W <= p.channels; channel += W, weights += 10 * W)
        depthwise3x3_group<V, false>(p, rows, channel, W, weights);
    if (channel < p.channels)
        depthwise3x3_group<V, true>(p, rows, channel, static_cast<int>(p.channels - channel), weights);
}

}  // namespace
}  // namespace mobileone::runtime::simd
