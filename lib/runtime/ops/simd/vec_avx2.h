// 8 float lanes of AVX2 + FMA, for the micro-kernel templates (include only from a file compiled with AVX2 flags).
#pragma once

#include <immintrin.h>

namespace mobileone::runtime::simd {
namespace {

struct Avx2 {
    using Reg = __m256;
    static constexpr int width = 8;

    static Reg zero() { return _mm256_setzero_ps(); }
    static Reg set1(float value) { return _mm256_set1_ps(value); }
    static Reg load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
    // The first `count` lanes (0 < count <= width); the others read as zero and are never touched in memory.
    static Reg load_partial(const float* p, int count) { return _mm256_maskload_ps(p, mask(count)); }
    static void store_partial(float* p, Reg v, int count) { _mm256_maskstore_ps(p, mask(count), v); }
    static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }  // a * b + c
    static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
    static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
    static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
    static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }

private:
    static __m256i mask(int count) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
};

}  // namespace
}  // namespace mobileone::runtime::simd
