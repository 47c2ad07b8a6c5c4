// Depthwise 3x3 convolution, one NHWC output row at a time, for any vector type V of simd/vec_*.h. Channels are the
// vector lanes, so any stride costs the same; per group of V::width channels the bias and nine taps stay in
// registers while a strip of the row is swept. Columns whose three taps are all inside the image skip the bounds checks
// and go kBlock at a time, so the FMA chains of neighbouring outputs overlap.
#pragma once

#include <cstdint>

#include "runtime/ops/microkernels.h"

namespace mobileone::runtime::simd {
namespace {

constexpr int kBlock = 4;  // output columns computed together in the interior: independent FMA chains

template <class V, bool Partial>
struct DepthwiseGroup {
    using Reg = typename V::Reg;
    const DepthwiseRow& p;
    const float* const* rows;
    int64_t channel;
    int count;
    Reg bias, low, high;
    Reg tap[9];

    DepthwiseGroup(const DepthwiseRow& row, const float* const* input_rows, int64_t first_channel, int lanes,
                   const float* weights)
        : p(row), rows(input_rows), channel(first_channel), count(lanes), bias(V::load(weights)),
          low(V::set1(row.clamp.min)), high(V::set1(row.clamp.max)) {
        for (int t = 0; t < 9; ++t) tap[t] = V::load(weights + V::width * (t + 1));
    }

    Reg load(const float* x) const { return Partial ? V::load_partial(x, count) : V::load(x); }

    void store(int64_t ow, Reg acc) const {
        Reg y = V::min(high, V::max(low, acc));  // NaN stays NaN: see simd/gemm.h
        float* out = p.output + ow * p.channels + channel;
        if (Partial)
            V::store_partial(out, y, count);
        else
            V::store(out, y);
    }

    // One output column, any position: taps outside the image are skipped.
    void column(int64_t ow) const {
        const int64_t left = ow * p.stride - p.pad_left;
        Reg acc = bias;
        for (int kh = 0; kh < 3; ++kh) {
            if (!rows[kh]) continue;
            for (int kw = 0; kw < 3; ++kw)
                if (left + kw >= 0 && left + kw < p.width)
                    acc = V::fma(load(rows[kh] + (left + kw) * p.channels + channel), tap[3 * kh + kw], acc);
        }
        store(ow, acc);
    }

    // kBlock output columns whose taps are all inside the image: each input column is loaded once for all of them.
    template <int S>
    void block(int64_t ow) const {
        const int64_t left = ow * S - p.pad_left;
        Reg acc[kBlock];
        for (int o = 0; o < kBlock; ++o) acc[o] = bias;
        for (int kh = 0; kh < 3; ++kh) {
            if (!rows[kh]) continue;
            const float* x = rows[kh] + left * p.channels + channel;
            for (int col = 0; col < 3 + (kBlock - 1) * S; ++col) {
                const Reg v = load(x + col * p.channels);
                for (int o = 0; o < kBlock; ++o) {
                    const int kw = col - o * S;
                    if (kw >= 0 && kw < 3) acc[o] = V::fma(v, tap[3 * kh + kw], acc[o]);
                }
            }
        }
        for (int o = 0; o < kBlock; ++o) store(ow + o, acc[o]);
    }

    // Output columns [begin, end); those whose taps are all inside the image go kBlock at a time.
    template <int S>
    void sweep(int64_t begin, int64_t end) const {
        const int64_t first = (p.pad_left + S - 1) / S;
        const int64_t last = p.width - 3 + p.pad_left >= 0 ? (p.width - 3 + p.pad_left) / S + 1 : 0;
        int64_t ow = begin;
        for (; ow < end && ow < first; ++ow) column(ow);
        for (; ow + kBlock <= last && ow + kBlock <= end; ow += kBlock) block<S>(ow);
        for (; ow < end; ++ow) column(ow);
    }

    void run(int64_t begin, int64_t end) const {
        if (p.stride == 1)
            sweep<1>(begin, end);
        else if (p.stride == 2)
            sweep<2>(begin, end);
        else
            for (int64_t ow = begin; ow < end; ++ow) column(ow);
    }
};

// Columns are swept in strips narrow enough that the strip's three input rows, all channels, stay in L1 while every
// channel group passes over them.
template <class V>
void depthwise3x3_row(const DepthwiseRow& p) {
    constexpr int W = V::width;
    constexpr int64_t strip_bytes = 16 * 1024;
    const int64_t strip = kBlock * (1 + strip_bytes / (3 * kBlock * p.stride * p.channels * 4));
    const float* rows[3];
    for (int kh = 0; kh < 3; ++kh) {
        const int64_t ih = p.output_row * p.stride - p.pad_top + kh;
        rows[kh] = ih >= 0 && ih < p.height ? p.image + ih * p.width * p.channels : nullptr;
    }
    for (int64_t begin = 0; begin < p.output_width; begin += strip) {
        const int64_t end = begin + strip < p.output_width ? begin + strip : p.output_width;
        const float* weights = p.weights;
        int64_t channel = 0;
        for (; channel + W <= p.channels; channel += W, weights += 10 * W)
            DepthwiseGroup<V, false>(p, rows, channel, W, weights).run(begin, end);
        if (channel < p.channels)
            DepthwiseGroup<V, true>(p, rows, channel, static_cast<int>(p.channels - channel), weights).run(begin, end);
    }
}

}  // namespace
}  // namespace mobileone::runtime::simd
