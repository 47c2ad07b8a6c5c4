#include "support/schema.h"

#include <fstream>

#include "support/process.h"
#include "support/temp_dir.h"

namespace mobileone {

std::string schema_violation(const nlohmann::json& document, const std::string& schema_file) {
    TempDir dir;
    auto document_path = dir.path() / "document.json";
    std::ofstream(document_path) << document.dump();
    CommandResult result = run_command(std::string("/usr/bin/python3 ") + MOBILEONE_SOURCE_DIR +
                                       "/tests/support/validate_json.py " + MOBILEONE_SOURCE_DIR + "/schemas/" +
                                       schema_file + " " + document_path.string());
    if (result.exit_code == 0) return "";
    return result.stdout_text + result.stderr_text;
}

}  // namespace mobileone
