#include "support/temp_dir.h"

#include <stdlib.h>

#include <string>

#include "ir/error.h"

namespace mobileone {

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mobileone-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) fail("cannot create a temporary directory");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace mobileone
