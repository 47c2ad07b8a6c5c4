#include "compiler/pass.h"

#include <algorithm>

#include "ir/error.h"

namespace mobileone {

PassRegistry& PassRegistry::instance() {
    static PassRegistry registry;
    return registry;
}

bool PassRegistry::add(PassInfo info) {
    if (find(info.name)) fail("pass '{}' is registered twice", info.name);
    passes_.push_back(std::move(info));
    return true;
}

const PassInfo* PassRegistry::find(const std::string& name) const {
    auto it = std::find_if(passes_.begin(), passes_.end(), [&](const PassInfo& p) { return p.name == name; });
    return it == passes_.end() ? nullptr : &*it;
}

std::vector<const PassInfo*> PassRegistry::all() const {
    std::vector<const PassInfo*> sorted;
    for (const PassInfo& info : passes_) sorted.push_back(&info);
    std::sort(sorted.begin(), sorted.end(), [](const PassInfo* a, const PassInfo* b) { return a->name < b->name; });
    return sorted;
}

}  // namespace mobileone
