// 16 float lanes of AVX-512F, for the micro-kernel templates (include only from a file compiled with AVX-512 flags).
#pragma once

#include <immintrin.h>

namespace mobileone::runtime::simd {
namespace {

struct Avx512 {
    using Reg = __m512;
    static constexpr int width = 16;

    static Reg zero() { return _mm512_setzero_ps(); }
    static Reg set1(float value) { return _mm512_set1_ps(value); }
    static Reg load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
    // The first `count` lanes (0 < count <= width); the others read as zero and are never touched in memory.
    static Reg load_partial(const float* p, int count) { return _mm512_maskz_loadu_ps(mask(count), p); }
    static void store_partial(float* p, Reg v, int count) { _mm512_mask_storeu_ps(p, mask(count), v); }
    static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }  // a * b + c
    static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
    static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
    // The zero-masked forms: GCC 12's _mm512_max_ps/_mm512_min_ps trip -Wuninitialized on their undefined source.
    static Reg max(Reg a, Reg b) { return _mm512_maskz_max_ps(0xFFFF, a, b); }
    static Reg min(Reg a, Reg b) { return _mm512_maskz_min_ps(0xFFFF, a, b); }

private:
    static __mmask16 mask(int count) { return static_cast<__mmask16>((1u << count) - 1u); }
};

}  // namespace
}  // namespace mobileone::runtime::simd
