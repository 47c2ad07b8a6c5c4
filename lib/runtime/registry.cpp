#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "ir/error.h"
#include "runtime/kernel.h"

namespace mobileone::runtime {

namespace {

bool hardware_supports(Isa isa) {
    switch (isa) {
        case Isa::Generic: return true;
#if defined(__x86_64__) || defined(__i386__)
        case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case Isa::Avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
        case Isa::Avx2:
        case Isa::Avx512: return false;
#endif
        case Isa::Neon:
#if defined(__aarch64__)
            return true;  // Advanced SIMD is mandatory on AArch64
#else
            return false;
#endif
    }
    return false;
}

// MOBILEONE_ISA caps the kernel level so tests can exercise every path on one machine; unset, nothing is capped.
std::optional<Isa> isa_cap() {
    static const std::optional<Isa> cap = []() -> std::optional<Isa> {
        const char* forced = std::getenv("MOBILEONE_ISA");
        if (!forced || !*forced) return std::nullopt;
        for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512, Isa::Neon}) {
            if (std::string_view(forced) != to_string(isa)) continue;
            if (!hardware_supports(isa)) fail("MOBILEONE_ISA={}: this CPU does not support it", forced);
            return isa;
        }
        fail("MOBILEONE_ISA={} is not one of generic, avx2, avx512, neon", forced);
    }();
    return cap;
}

// Whether kernels of `isa` run when `cap` is the highest level allowed: each level includes the ones below it.
bool within(Isa isa, Isa cap) {
    if (isa == Isa::Generic || isa == cap) return true;
    return isa == Isa::Avx2 && cap == Isa::Avx512;
}

}  // namespace

const char* to_string(Isa isa) {
    switch (isa) {
        case Isa::Generic: return "generic";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
        case Isa::Neon: return "neon";
    }
    return "unknown";
}

bool cpu_supports(Isa isa) {
    std::optional<Isa> cap = isa_cap();
    return hardware_supports(isa) && (!cap || within(isa, *cap));
}

OpRegistry& OpRegistry::instance() {
    static OpRegistry registry;
    return registry;
}

bool OpRegistry::add_op(OpDefinition op) {
    if (find_op(op.op_type)) fail("runtime op '{}' is registered twice", op.op_type);
    ops_.push_back(std::move(op));
    return true;
}

bool OpRegistry::add_kernel(KernelEntry kernel) {
    auto same_name = [&](const KernelEntry& k) { return k.op_type == kernel.op_type && k.name == kernel.name; };
    if (std::any_of(kernels_.begin(), kernels_.end(), same_name))
        fail("kernel '{}' for op '{}' is registered twice", kernel.name, kernel.op_type);
    kernels_.push_back(std::move(kernel));
    return true;
}

const OpDefinition* OpRegistry::find_op(const std::string& op_type) const {
    auto it = std::find_if(ops_.begin(), ops_.end(), [&](const OpDefinition& op) { return op.op_type == op_type; });
    return it == ops_.end() ? nullptr : &*it;
}

const KernelEntry* OpRegistry::select_kernel(const NodeSignature& signature) const {
    std::vector<const KernelEntry*> candidates = accepting_kernels(signature);
    return candidates.empty() ? nullptr : candidates.front();
}

std::vector<const KernelEntry*> OpRegistry::accepting_kernels(const NodeSignature& signature) const {
    std::vector<const KernelEntry*> candidates;
    for (const KernelEntry& entry : kernels_) {
        if (entry.op_type != signature.node.op_type || !cpu_supports(entry.isa)) continue;
        if (entry.accepts && !entry.accepts(signature)) continue;
        candidates.push_back(&entry);
    }
    // Registration order across files is unspecified, so equal priorities are broken by name to stay deterministic.
    std::sort(candidates.begin(), candidates.end(), [](const KernelEntry* a, const KernelEntry* b) {
        return a->priority != b->priority ? a->priority > b->priority : a->name < b->name;
    });
    return candidates;
}

std::vector<const KernelEntry*> OpRegistry::kernels_of(const std::string& op_type) const {
    std::vector<const KernelEntry*> entries;
    for (const KernelEntry& entry : kernels_)
        if (entry.op_type == op_type) entries.push_back(&entry);
    return entries;
}

std::vector<std::string> OpRegistry::op_types() const {
    std::vector<std::string> types;
    for (const OpDefinition& op : ops_) types.push_back(op.op_type);
    std::sort(types.begin(), types.end());
    return types;
}

}  // namespace mobileone::runtime
