#include <algorithm>

#include "ir/error.h"
#include "runtime/kernel.h"

namespace mobileone::runtime {

bool cpu_supports(Isa isa) {
    switch (isa) {
        case Isa::Generic: return true;
#if defined(__x86_64__) || defined(__i386__)
        case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case Isa::Avx512: return __builtin_cpu_supports("avx512f");
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
    const KernelEntry* best = nullptr;
    for (const KernelEntry& entry : kernels_) {
        if (entry.op_type != signature.node.op_type || !cpu_supports(entry.isa)) continue;
        if (entry.accepts && !entry.accepts(signature)) continue;
        // Registration order across files is unspecified, so equal priorities are broken by name to stay deterministic.
        if (!best || entry.priority > best->priority || (entry.priority == best->priority && entry.name < best->name))
            best = &entry;
    }
    return best;
}

std::vector<std::string> OpRegistry::op_types() const {
    std::vector<std::string> types;
    for (const OpDefinition& op : ops_) types.push_back(op.op_type);
    std::sort(types.begin(), types.end());
    return types;
}

}  // namespace mobileone::runtime
