#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace mobileone::runtime {

// One activation buffer: its size and the plan steps that touch it (inclusive), from the writer to the last reader.
struct BufferRequest {
    std::size_t bytes = 0;
    int first_step = 0;
    int last_step = 0;
};

struct MemoryPlan {
    std::vector<std::size_t> offsets;  // per request, into one arena
    std::size_t arena_bytes = 0;       // the peak: the arena's size
};

// Every offset is a multiple of this, enough for any vector load.
inline constexpr std::size_t buffer_alignment = 64;

// Greedy best-fit: largest buffers first, each placed in the smallest gap left by already-placed buffers whose
// lifetimes overlap it, or above them all when no gap fits. Buffers with overlapping lifetimes never overlap in memory.
MemoryPlan plan_memory(std::span<const BufferRequest> requests);

}  // namespace mobileone::runtime
