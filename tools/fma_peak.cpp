// Measures this machine's float32 fused multiply-add peak: the ceiling tools/bench.py divides achieved GFLOP/s by.
//
// usage: mobileone-fma-peak [--json]
//
// Each instruction set the CPU supports runs independent multiply-add chains on registers only: enough chains to cover
// FMA latency × FMA ports (4-5 cycles × 2 ports on current x86 cores, 4 × 4 on Neoverse V-class), so throughput, not
// latency, bounds the loop; 12 with 16 vector registers, 24 with 32. Best of kRepeats, on one thread and on one thread
// per physical core. Every x86 kernel is compiled for its own target (function attributes) and chosen at run time, so
// the binary runs on any x86-64.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace {

constexpr int kChains16Registers = 12;
constexpr int kChains32Registers = 24;
// Short repeats, best of many: on a busy machine a 2-4 ms run often fits in one scheduler slice, a 50 ms one never.
constexpr int kRepeats = 100;
constexpr int64_t kIterations = 1'000'000;

// acc += x * y, the accumulator as the addend (the form every ISA's FMA overwrites in place): with x * y = 1e-6 the
// sums stay finite and normal for any iteration count.
constexpr float kFactor = 1e-3f;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) float fma_chains_avx512(int64_t iterations) {
    constexpr int kChains = kChains32Registers;
    __m512 acc[kChains];
    const __m512 x = _mm512_set1_ps(kFactor), y = _mm512_set1_ps(kFactor);
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
    for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(x, y, acc[c]);
    }
    __m512 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
    alignas(64) float lanes[16];  // not _mm512_reduce_add_ps: GCC 12's header warns about it under -Wall
    _mm512_store_ps(lanes, sum);
    float total = 0;
    for (float lane : lanes) total += lane;
    return total;
}

__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iterations) {
    constexpr int kChains = kChains16Registers;
    __m256 acc[kChains];
    const __m256 x = _mm256_set1_ps(kFactor), y = _mm256_set1_ps(kFactor);
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
    for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(x, y, acc[c]);
    }
    __m256 sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float total = 0;
    for (float lane : lanes) total += lane;
    return total;
}
#elif defined(__aarch64__)
float fma_chains_neon(int64_t iterations) {
    constexpr int kChains = kChains32Registers;
    float32x4_t acc[kChains];
    const float32x4_t x = vdupq_n_f32(kFactor), y = vdupq_n_f32(kFactor);
#pragma GCC unroll 32
    for (int c = 0; c < kChains; ++c) acc[c] = vdupq_n_f32(static_cast<float>(c));
    for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 32
        for (int c = 0; c < kChains; ++c) acc[c] = vfmaq_f32(acc[c], x, y);
    }
    float32x4_t sum = acc[0];
#pragma GCC unroll 32
    for (int c = 1; c < kChains; ++c) sum = vaddq_f32(sum, acc[c]);
    return vaddvq_f32(sum);
}
#endif

struct Kernel {
    const char* isa;
    int lanes, chains;
    float (*run)(int64_t iterations);
};

std::vector<Kernel> supported_kernels() {
    std::vector<Kernel> kernels;
#if defined(__x86_64__)
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    if (__builtin_cpu_supports("avx512f")) kernels.push_back({"avx512f", 16, kChains32Registers, fma_chains_avx512});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        kernels.push_back({"avx2-fma", 8, kChains16Registers, fma_chains_avx2});
#elif defined(__aarch64__)
    kernels.push_back({"neon", 4, kChains32Registers, fma_chains_neon});
#endif
    return kernels;
}

// The first allowed CPU of each physical core: SMT siblings share the FMA units, so one thread per core is the peak.
std::vector<int> one_cpu_per_core() {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    std::vector<int> cpus;
    std::set<std::string> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        std::ifstream siblings("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list");
        std::string core = std::to_string(cpu);  // without sysfs, count every CPU as its own core
        if (siblings) std::getline(siblings, core);
        if (cores.insert(core).second) cpus.push_back(cpu);
    }
    return cpus;
}

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

volatile float g_sink;  // keeps the chains' results observable, so the compiler cannot drop them

// One thread per given CPU, all started together, each running the kernel kRepeats times back to back and keeping
// its best rate; the sum of those rates is the machine's (threads overlap throughout: they do the same work).
double measure(const Kernel& kernel, const std::vector<int>& cpus) {
    const double flops = 2.0 * kernel.lanes * kernel.chains * static_cast<double>(kIterations);
    std::vector<double> best(cpus.size(), 0.0);
    std::latch go(1);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < cpus.size(); ++i)
        threads.emplace_back([&, i] {
            pin_to(cpus[i]);
            go.wait();
            for (int repeat = 0; repeat < kRepeats; ++repeat) {
                auto start = std::chrono::steady_clock::now();
                g_sink = kernel.run(kIterations);
                std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
                best[i] = std::max(best[i], flops / seconds.count() / 1e9);
            }
        });
    go.count_down();
    for (std::thread& thread : threads) thread.join();
    double total = 0;
    for (double rate : best) total += rate;
    return total;
}

struct Result {
    const Kernel* kernel;
    double one_thread, all_cores;
};

}  // namespace

int main(int argc, char** argv) {
    bool json = argc == 2 && std::strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !json)) {
        std::fprintf(stderr, "usage: mobileone-fma-peak [--json]\n");
        return 2;
    }
    std::vector<Kernel> kernels = supported_kernels();
    if (kernels.empty()) {
        std::fprintf(stderr, "mobileone-fma-peak: this CPU has no vector FMA instruction set this tool knows\n");
        return 1;
    }
    std::vector<int> cores = one_cpu_per_core();
    std::vector<Result> results;
    for (const Kernel& kernel : kernels)
        results.push_back({&kernel, measure(kernel, {cores.front()}), measure(kernel, cores)});
    auto slower = [](const Result& a, const Result& b) { return a.one_thread < b.one_thread; };
    const Result& peak = *std::max_element(results.begin(), results.end(), slower);

    if (json) {
        std::printf("{\"cores\": %zu, \"results\": [", cores.size());
        for (std::size_t i = 0; i < results.size(); ++i) {
            const Result& result = results[i];
            std::printf("%s{\"isa\": \"%s\", \"lanes\": %d, \"chains\": %d, \"gflops_1_thread\": %.2f, "
                        "\"gflops_all_cores\": %.2f}",
                        i ? ", " : "", result.kernel->isa, result.kernel->lanes, result.kernel->chains,
                        result.one_thread, result.all_cores);
        }
        std::printf("], \"peak_isa\": \"%s\", \"peak_gflops_1_thread\": %.2f, \"peak_gflops_all_cores\": %.2f}\n",
                    peak.kernel->isa, peak.one_thread, peak.all_cores);
        return 0;
    }
    std::printf("float32 FMA peak in GFLOP/s, best of %d (%zu physical %s)\n", kRepeats, cores.size(),
                cores.size() == 1 ? "core" : "cores");
    std::printf("%-10s %6s %7s %10s %10s\n", "isa", "lanes", "chains", "1 thread", "all cores");
    for (const Result& result : results)
        std::printf("%-10s %6d %7d %10.2f %10.2f\n", result.kernel->isa, result.kernel->lanes, result.kernel->chains,
                    result.one_thread, result.all_cores);
    return 0;
}
