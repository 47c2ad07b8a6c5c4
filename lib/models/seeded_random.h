#pragma once

#include <cmath>
#include <cstdint>

namespace mobileone {

// Seeded random numbers that are bit-identical on every platform: splitmix64 for the bits (the standard library's
// distributions differ between implementations), Box-Muller for normals. Draws are dyadic on purpose: uniform() has
// 24 bits, so uniform(low, high) over the ranges the builders use is exact, or one rounded product when the range is
// centred on 0, whether or not the compiler fuses multiply-adds; normal() is rounded to a multiple of 2^-20, which
// absorbs last-ulp differences between libm implementations of log and cos (short of a ~2^-30 chance per draw of
// straddling a rounding boundary).
class SeededRandom {
public:
    explicit SeededRandom(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    // In [0, 1), a multiple of 2^-24.
    double uniform() { return std::ldexp(static_cast<double>(next() >> 40), -24); }

    double uniform(double low, double high) {
        double middle = (low + high) / 2, half_width = (high - low) / 2;
        return middle + half_width * (2 * uniform() - 1);
    }

    // Standard normal, a multiple of 2^-20.
    double normal() {
        constexpr double two_pi = 6.283185307179586476925;
        double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));  // 1 - u > 0: log stays finite
        double z = radius * std::cos(two_pi * uniform());
        return std::ldexp(std::nearbyint(std::ldexp(z, 20)), -20);
    }

    double normal(double stddev) { return stddev * normal(); }

private:
    uint64_t state_;
};

}  // namespace mobileone
