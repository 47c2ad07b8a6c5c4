#include "runtime/memory_plan.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace mobileone::runtime {

namespace {

std::size_t align_up(std::size_t bytes) { return (bytes + buffer_alignment - 1) / buffer_alignment * buffer_alignment; }

bool lifetimes_overlap(const BufferRequest& a, const BufferRequest& b) {
    return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

MemoryPlan plan_memory(std::span<const BufferRequest> requests) {
    std::vector<std::size_t> order(requests.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
        return requests[a].first_step < requests[b].first_step;
    });

    MemoryPlan plan;
    plan.offsets.assign(requests.size(), 0);
    std::vector<std::size_t> placed;
    for (std::size_t index : order) {
        const BufferRequest& request = requests[index];
        std::vector<std::size_t> neighbours;
        for (std::size_t other : placed)
            if (lifetimes_overlap(request, requests[other])) neighbours.push_back(other);
        std::sort(neighbours.begin(), neighbours.end(),
                  [&](std::size_t a, std::size_t b) { return plan.offsets[a] < plan.offsets[b]; });

        std::size_t best_offset = 0;
        std::size_t best_gap = std::numeric_limits<std::size_t>::max();
        std::size_t cursor = 0;
        for (std::size_t other : neighbours) {
            std::size_t gap_end = plan.offsets[other];
            if (gap_end >= cursor && gap_end - cursor >= request.bytes && gap_end - cursor < best_gap) {
                best_gap = gap_end - cursor;
                best_offset = cursor;
            }
            cursor = std::max(cursor, align_up(plan.offsets[other] + requests[other].bytes));
        }
        plan.offsets[index] = best_gap != std::numeric_limits<std::size_t>::max() ? best_offset : cursor;
        plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[index] + request.bytes);
        placed.push_back(index);
    }
    return plan;
}

}  // namespace mobileone::runtime
