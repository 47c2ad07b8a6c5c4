#include "support/process.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "ir/error.h"
#include "support/temp_dir.h"

namespace mobileone {

CommandResult run_command(const std::string& command) {
    TempDir dir;
    auto stderr_path = dir.path() / "stderr";
    std::string full = command + " 2>" + stderr_path.string();
    FILE* pipe = popen(full.c_str(), "r");
    if (!pipe) fail("cannot run: {}", command);
    CommandResult result;
    char buffer[4096];
    std::size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.stdout_text.append(buffer, n);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::stringstream err;
    err << std::ifstream(stderr_path).rdbuf();
    result.stderr_text = err.str();
    return result;
}

std::string tool_path(const std::string& tool) { return std::string(MOBILEONE_BINARY_DIR) + "/bin/" + tool; }

}  // namespace mobileone
