#include "runtime/ops/packed_gemm.h"

#include <algorithm>
#include <cmath>

namespace mobileone::runtime {

ClampBounds clamp_bounds(const FusedActivation& activation) {
    if (activation.kind == FusedActivation::Kind::Clamp) return {activation.min, activation.max};
    return {-INFINITY, INFINITY};
}

void finish_activation(const FusedActivation& activation, float* values, int64_t count) {
    if (activation.kind != FusedActivation::Kind::Sigmoid) return;
    for (int64_t i = 0; i < count; ++i) values[i] = 1.0f / (1.0f + std::exp(-values[i]));
}

namespace {

void gemm_panel_tile(const Microkernels& microkernels, const PackedMatrix& b, int64_t panel, const GemmRows& tile,
                     const FusedActivation& activation) {
    const auto nr = static_cast<int64_t>(microkernels.gemm_nr);
    const int64_t columns = std::min(nr, b.n() - panel * nr);
    float* c = tile.c + panel * nr;
    auto kernel = tile.rows == 1 ? microkernels.gemm_row : microkernels.gemm;
    kernel(static_cast<std::size_t>(tile.rows), static_cast<std::size_t>(columns), static_cast<std::size_t>(b.k()),
           tile.a, static_cast<std::size_t>(tile.a_stride), b.panel(panel), c, static_cast<std::size_t>(tile.c_stride),
           clamp_bounds(activation));
    for (int64_t r = 0; r < tile.rows; ++r) finish_activation(activation, c + r * tile.c_stride, columns);
}

}  // namespace

void gemm_tile(const Microkernels& microkernels, const PackedMatrix& b, const GemmRows& tile,
               const FusedActivation& activation) {
    for (int64_t panel = 0; panel < b.panels(); ++panel) gemm_panel_tile(microkernels, b, panel, tile, activation);
}

void packed_gemm(const Microkernels& microkernels, const PackedMatrix& b, const GemmRows& rows,
                 const FusedActivation& activation, ThreadPool& pool) {
    const auto mr = static_cast<int64_t>(microkernels.gemm_mr), nr = static_cast<int64_t>(microkernels.gemm_nr);
    const int64_t tiles = (rows.rows + mr - 1) / mr;
    // Cache blocking: the panels of B are taken in groups small enough to stay in L2 while every row tile of A passes
    // them; within a group a tile stays in L1 while it meets each panel. (A quarter of a 1 MiB L2 leaves room for A.)
    constexpr int64_t group_bytes = 256 * 1024;
    const int64_t group = std::clamp<int64_t>(group_bytes / ((b.k() + 1) * nr * 4), 1, b.panels());
    const int64_t groups = (b.panels() + group - 1) / group;
    pool.parallel_for(groups * tiles * group, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t first_panel = task / (tiles * group) * group, tile = task / group % tiles;
            const int64_t panel = first_panel + task % group;
            if (panel >= b.panels()) continue;  // the last group may be narrower
            const int64_t first = tile * mr;
            GemmRows part{rows.a + first * rows.a_stride, std::min(mr, rows.rows - first), rows.a_stride,
                          rows.c + first * rows.c_stride, rows.c_stride};
            gemm_panel_tile(microkernels, b, panel, part, activation);
        }
    });
}

}  // namespace mobileone::runtime
