#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace mobileone {

// What a pass tells the user beyond its change count: `-v` prints these lines, e.g. why a branch sum was left alone.
struct PassLog {
    std::vector<std::string> notes;
    void note(std::string line) { notes.push_back(std::move(line)); }
};

class Pass {
public:
    virtual ~Pass() = default;
    // Rewrites `model` in place and returns how many rewrites it made; 0 means nothing matched.
    // A pass keeps graph.nodes topologically ordered and never changes graph input/output names.
    virtual int run(Model& model, PassLog& log) const = 0;
};

struct PassInfo {
    std::string name;
    std::string description;  // one line, shown by --list-passes
    std::function<std::unique_ptr<Pass>()> make;
};

class PassRegistry {
public:
    static PassRegistry& instance();
    bool add(PassInfo info);
    const PassInfo* find(const std::string& name) const;
    std::vector<const PassInfo*> all() const;  // sorted by name

private:
    std::vector<PassInfo> passes_;
};

}  // namespace mobileone

// Registers a pass under `name` at static-initialisation time; used once at the bottom of each passes/*.cpp.
#define MOBILEONE_REGISTER_PASS(PassClass, name, description)                                     \
    [[maybe_unused]] static const bool registered_##PassClass = ::mobileone::PassRegistry::instance().add( \
        {name, description, [] { return std::make_unique<PassClass>(); }})
