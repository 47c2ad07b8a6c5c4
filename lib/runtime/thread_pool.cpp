#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ir/error.h"

namespace mobileone::runtime {

namespace {

// A kernel that calls parallel_for from inside a chunk runs the inner loop on its own thread instead of deadlocking.
thread_local bool inside_parallel_for = false;

// A plan runs dozens of parallel steps per inference, each far shorter than a sleep/wake round trip through the
// kernel, so waiting threads spin this many rounds (tens of microseconds) before they block; short enough to cost
// little when the machine is oversubscribed.
constexpr int kSpinRounds = 1 << 11;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace

struct ThreadPool::State {
    std::vector<std::thread> workers;
    std::mutex call_mutex;  // one parallel_for at a time
    std::mutex mutex;       // guards sleeping on work_ready
    std::condition_variable work_ready;
    std::atomic<uint64_t> generation{0};
    std::atomic<bool> stopping{false};
    std::atomic<int> busy_workers{0};
    std::exception_ptr error;  // written under `mutex`

    const std::function<void(int64_t, int64_t)>* body = nullptr;
    int64_t count = 0;
    int64_t chunk_size = 0;
    int64_t chunk_count = 0;
    std::atomic<int64_t> next_chunk{0};

    void run_chunks() {
        inside_parallel_for = true;
        for (int64_t chunk = next_chunk++; chunk < chunk_count; chunk = next_chunk++) {
            int64_t begin = chunk * chunk_size;
            try {
                (*body)(begin, std::min(count, begin + chunk_size));
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!error) error = std::current_exception();
            }
        }
        inside_parallel_for = false;
    }

    // Waits for a generation other than `seen`: spinning first, then asleep.
    uint64_t wait_for_work(uint64_t seen) {
        for (int round = 0; round < kSpinRounds; ++round) {
            uint64_t current = generation.load(std::memory_order_acquire);
            if (current != seen || stopping.load(std::memory_order_relaxed)) return current;
            cpu_relax();
        }
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return stopping || generation.load(std::memory_order_acquire) != seen; });
        return generation.load(std::memory_order_acquire);
    }

    void worker_loop() {
        uint64_t seen = 0;
        for (;;) {
            seen = wait_for_work(seen);
            if (stopping) return;
            run_chunks();
            busy_workers.fetch_sub(1, std::memory_order_acq_rel);
        }
    }
};

ThreadPool::ThreadPool(int threads) : state_(new State) {
    if (threads < 0) fail("thread count must be 0 (all hardware threads) or positive, got {}", threads);
    if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 1; i < threads; ++i) state_->workers.emplace_back([this] { state_->worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->work_ready.notify_all();
    for (std::thread& worker : state_->workers) worker.join();
    delete state_;
}

int ThreadPool::size() const { return static_cast<int>(state_->workers.size()) + 1; }

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t begin, int64_t end)>& body,
                              int64_t grain) {
    if (count <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    // A few chunks per thread balance uneven work; chunk boundaries never affect results (see header).
    int64_t chunk_count = std::min<int64_t>((count + grain - 1) / grain, int64_t{4} * size());
    if (chunk_count <= 1 || state_->workers.empty() || inside_parallel_for) {
        body(0, count);
        return;
    }
    std::lock_guard call_lock(state_->call_mutex);
    State& state = *state_;
    state.body = &body;
    state.count = count;
    state.chunk_size = (count + chunk_count - 1) / chunk_count;
    state.chunk_count = (count + state.chunk_size - 1) / state.chunk_size;
    state.next_chunk = 0;
    state.error = nullptr;
    state.busy_workers.store(static_cast<int>(state.workers.size()), std::memory_order_relaxed);
    {
        // Under the mutex, so a worker about to sleep either sees the new generation or gets the notification.
        std::lock_guard lock(state.mutex);
        state.generation.fetch_add(1, std::memory_order_release);
    }
    state.work_ready.notify_all();
    state.run_chunks();
    for (int round = 0; state.busy_workers.load(std::memory_order_acquire) != 0; ++round)
        round < kSpinRounds ? cpu_relax() : std::this_thread::yield();
    if (state.error) std::rethrow_exception(state.error);
}

}  // namespace mobileone::runtime
