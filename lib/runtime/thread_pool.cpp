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

}  // namespace

struct ThreadPool::State {
    std::vector<std::thread> workers;
    std::mutex call_mutex;  // one parallel_for at a time
    std::mutex mutex;
    std::condition_variable work_ready;
    std::condition_variable work_done;
    uint64_t generation = 0;
    bool stopping = false;
    int busy_workers = 0;
    std::exception_ptr error;

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

    void worker_loop() {
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock lock(mutex);
                work_ready.wait(lock, [&] { return stopping || generation != seen; });
                if (stopping) return;
                seen = generation;
            }
            run_chunks();
            std::lock_guard lock(mutex);
            if (--busy_workers == 0) work_done.notify_one();
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
    {
        std::lock_guard lock(state_->mutex);
        state_->body = &body;
        state_->count = count;
        state_->chunk_size = (count + chunk_count - 1) / chunk_count;
        state_->chunk_count = (count + state_->chunk_size - 1) / state_->chunk_size;
        state_->next_chunk = 0;
        state_->busy_workers = static_cast<int>(state_->workers.size());
        state_->error = nullptr;
        ++state_->generation;
    }
    state_->work_ready.notify_all();
    state_->run_chunks();
    std::unique_lock lock(state_->mutex);
    state_->work_done.wait(lock, [&] { return state_->busy_workers == 0; });
    if (state_->error) std::rethrow_exception(state_->error);
}

}  // namespace mobileone::runtime
