#include "verify/random_inputs.h"

#include <cmath>
#include <numbers>

namespace mobileone {

uint64_t NormalGenerator::next_bits() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double NormalGenerator::next_unit() { return static_cast<double>((next_bits() >> 11) + 1) * 0x1.0p-53; }

// Box–Muller turns two uniforms into two independent normals; the second is kept for the next call.
double NormalGenerator::next() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    double radius = std::sqrt(-2.0 * std::log(next_unit()));
    double angle = 2.0 * std::numbers::pi * next_unit();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
}

Tensor random_normal_tensor(std::vector<int64_t> dims, NormalGenerator& generator) {
    Tensor tensor(DataType::Float, std::move(dims));
    for (float& value : tensor.data<float>()) value = static_cast<float>(generator.next());
    return tensor;
}

}  // namespace mobileone
