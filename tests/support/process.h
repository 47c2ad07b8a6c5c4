#pragma once

#include <string>

namespace mobileone {

struct CommandResult {
    int exit_code = -1;
    std::string stdout_text;
    std::string stderr_text;
};

// Runs `command` through /bin/sh and captures both streams.
CommandResult run_command(const std::string& command);

// Absolute path of a built tool, e.g. tool_path("mobileone-convert").
std::string tool_path(const std::string& tool);

}  // namespace mobileone
