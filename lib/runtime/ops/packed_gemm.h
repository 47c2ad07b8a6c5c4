// C = clamp(A * B + bias) with B a constant matrix packed once, at plan time, into the micro-kernels' panel layout.
// The engine behind every fast kernel that is a matrix product: pointwise and im2col convolutions, Gemm, MatMul.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/kernel.h"
#include "runtime/ops/aligned_buffer.h"
#include "runtime/ops/microkernels.h"

namespace mobileone::runtime {

class PackedMatrix {
public:
    // B is k x n; weight(i, j) gives B[i, j] and bias(j) the column's bias. Panels of gemm_nr columns, each its
    // biases then k rows, zero past column n. (A template: packing calls them once per weight.)
    template <class Weight, class Bias>
    PackedMatrix(const Microkernels& microkernels, int64_t k, int64_t n, const Weight& weight, const Bias& bias)
        : k_(k), n_(n) {
        const auto nr = static_cast<int64_t>(microkernels.gemm_nr);
        panels_ = (n + nr - 1) / nr;
        panel_size_ = (k + 1) * nr;
        data_ = AlignedBuffer(static_cast<std::size_t>(panels_ * panel_size_));
        for (int64_t p = 0; p < panels_; ++p) {
            float* out = data_.data() + p * panel_size_;
            const int64_t columns = std::min(nr, n - p * nr);
            for (int64_t j = 0; j < columns; ++j) out[j] = bias(p * nr + j);
            for (int64_t i = 0; i < k; ++i)
                for (int64_t j = 0; j < columns; ++j) out[(i + 1) * nr + j] = weight(i, p * nr + j);
        }
    }

    int64_t k() const { return k_; }
    int64_t n() const { return n_; }
    int64_t panels() const { return panels_; }
    const float* panel(int64_t index) const { return data_.data() + index * panel_size_; }

private:
    int64_t k_, n_, panels_, panel_size_;
    AlignedBuffer data_;
};

// A fused activation is applied in two halves: the micro-kernels clamp before they store (Relu, Clip), and
// finish_activation then applies what needs a transcendental function (Sigmoid) to the values just stored.
ClampBounds clamp_bounds(const FusedActivation& activation);
void finish_activation(const FusedActivation& activation, float* values, int64_t count);

struct GemmRows {
    const float* a;  // rows x k, rows a_stride floats apart
    int64_t rows;
    int64_t a_stride;
    float* c;  // rows x n, rows c_stride floats apart
    int64_t c_stride;
};

// One row tile of gemm_mr rows against every panel of B (the caller owns threading): the step an im2col kernel
// takes after gathering a tile.
void gemm_tile(const Microkernels& microkernels, const PackedMatrix& b, const GemmRows& tile,
               const FusedActivation& activation);

// The whole product, split over the pool by (panel, row tile); each output is computed by one fixed sequence of
// instructions, so results do not depend on the thread count.
void packed_gemm(const Microkernels& microkernels, const PackedMatrix& b, const GemmRows& rows,
                 const FusedActivation& activation, ThreadPool& pool);

}  // namespace mobileone::runtime
