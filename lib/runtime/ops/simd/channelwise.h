// Per-channel reductions and scales over one NHWC image, for any vector type V of simd/vec_*.h: the channels of a
// pixel are contiguous, so each runs along vectors of channels and walks the pixels in order.
#pragma once

#include <cstdint>

#include "runtime/ops/microkernels.h"

namespace mobileone::runtime::simd {
namespace {

template <class V, bool Partial>
void channel_group_mean(const float* x, int64_t pixels, int64_t channels, int count, float* y) {
    typename V::Reg sum = V::zero();
    for (int64_t p = 0; p < pixels; ++p, x += channels)
        sum = V::add(sum, Partial ? V::load_partial(x, count) : V::load(x));
    const typename V::Reg mean = V::mul(sum, V::set1(1.0f / static_cast<float>(pixels)));
    if (Partial)
        V::store_partial(y, mean, count);
    else
        V::store(y, mean);
}

template <class V>
void channel_mean(const float* x, int64_t pixels, int64_t channels, float* y) {
    constexpr int W = V::width;
    int64_t c = 0;
    for (; c + W <= channels; c += W) channel_group_mean<V, false>(x + c, pixels, channels, W, y + c);
    if (c < channels) channel_group_mean<V, true>(x + c, pixels, channels, static_cast<int>(channels - c), y + c);
}

template <class V>
void channel_scale(const float* x, const float* scale, int64_t pixels, int64_t channels, float* y, ClampBounds clamp) {
    constexpr int W = V::width;
    const typename V::Reg low = V::set1(clamp.min), high = V::set1(clamp.max);
    for (int64_t p = 0; p < pixels; ++p, x += channels, y += channels) {
        int64_t c = 0;
        for (; c + W <= channels; c += W)
            V::store(y + c, V::min(high, V::max(low, V::mul(V::load(x + c), V::load(scale + c)))));
        if (c < channels) {
            const int count = static_cast<int>(channels - c);
            V::store_partial(
                y + c, V::min(high, V::max(low, V::mul(V::load_partial(x + c, count), V::load_partial(scale + c, count)))),
                count);
        }
    }
}

}  // namespace
}  // namespace mobileone::runtime::simd
