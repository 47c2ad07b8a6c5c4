#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mobileone {

// Validates `document` against schemas/<schema_file> with Debian's python3-jsonschema.
// Returns "" when valid, else the validator's first error.
std::string schema_violation(const nlohmann::json& document, const std::string& schema_file);

}  // namespace mobileone
