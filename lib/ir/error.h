#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace mobileone {

// Every user-facing failure is one of these: a single line that names the file and/or node at fault.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mobileone
