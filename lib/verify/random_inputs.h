#pragma once

#include <cstdint>
#include <vector>

#include "ir/tensor.h"

namespace mobileone {

// Standard normal samples from splitmix64 and the Box–Muller transform: the same seed gives the same numbers on
// every platform and standard library, which std::normal_distribution does not promise.
class NormalGenerator {
public:
    explicit NormalGenerator(uint64_t seed) : state_(seed) {}
    double next();

private:
    uint64_t next_bits();
    double next_unit();  // uniform in (0, 1]

    uint64_t state_;
    double spare_ = 0;
    bool has_spare_ = false;
};

// A float32 tensor of standard normal values drawn from `generator`.
Tensor random_normal_tensor(std::vector<int64_t> dims, NormalGenerator& generator);

}  // namespace mobileone
