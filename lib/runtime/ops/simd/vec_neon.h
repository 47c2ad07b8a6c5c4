// 4 float lanes of AArch64 Advanced SIMD, for the micro-kernel templates.
#pragma once

#include <arm_neon.h>

namespace mobileone::runtime::simd {
namespace {

struct Neon {
    using Reg = float32x4_t;
    static constexpr int width = 4;

    static Reg zero() { return vdupq_n_f32(0.0f); }
    static Reg set1(float value) { return vdupq_n_f32(value); }
    static Reg load(const float* p) { return vld1q_f32(p); }
    static void store(float* p, Reg v) { vst1q_f32(p, v); }
    // The first `count` lanes (0 < count <= width); the others read as zero and are never touched in memory.
    static Reg load_partial(const float* p, int count) {
        float lanes[width] = {};
        for (int i = 0; i < count; ++i) lanes[i] = p[i];
        return vld1q_f32(lanes);
    }
    static void store_partial(float* p, Reg v, int count) {
        float lanes[width];
        vst1q_f32(lanes, v);
        for (int i = 0; i < count; ++i) p[i] = lanes[i];
    }
    static Reg fma(Reg a, Reg b, Reg c) { return vfmaq_f32(c, a, b); }  // a * b + c
    static Reg add(Reg a, Reg b) { return vaddq_f32(a, b); }
    static Reg mul(Reg a, Reg b) { return vmulq_f32(a, b); }
    static Reg max(Reg a, Reg b) { return vmaxq_f32(a, b); }
    static Reg min(Reg a, Reg b) { return vminq_f32(a, b); }
};

}  // namespace
}  // namespace mobileone::runtime::simd
