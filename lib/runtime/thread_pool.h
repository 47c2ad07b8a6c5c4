#pragma once

#include <cstdint>
#include <functional>

namespace mobileone::runtime {

// A fixed set of worker threads. parallel_for splits [0, count) into contiguous chunks; kernels must compute every
// output element with the same sequential arithmetic whatever the split, so results are bit-identical for any N.
class ThreadPool {
public:
    explicit ThreadPool(int threads);  // 0: all hardware threads
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const;
    // Calls body(begin, end) on disjoint chunks covering [0, count); returns when all are done.
    // `grain` is the smallest chunk worth a thread.
    void parallel_for(int64_t count, const std::function<void(int64_t begin, int64_t end)>& body, int64_t grain = 1);

private:
    struct State;
    State* state_;
};

}  // namespace mobileone::runtime
