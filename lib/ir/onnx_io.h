#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "ir/graph.h"

namespace mobileone {

// `source` names the file in every error message.
Model parse_model(std::string_view bytes, const std::string& source);
Model load_model(const std::filesystem::path& path);

// Deterministic: the same Model always serializes to the same bytes.
std::string serialize_model(const Model& model);

// Writes atomically (temporary file in the same directory, then rename) so a failure leaves no partial file.
void save_model(const Model& model, const std::filesystem::path& path);
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);
// Fails unless `path` could be written: its directory exists and is writable, and it is not a directory.
void check_writable(const std::filesystem::path& path);

// onnx::checker::check_model plus strict shape inference (what onnx.checker's full_check does).
void check_model(const Model& model, const std::string& source);

// Shapes and types of every value ONNX shape inference can derive (inputs, outputs and intermediates).
std::map<std::string, ValueInfo> infer_shapes(const Model& model);

Tensor parse_tensor(std::string_view bytes, const std::string& source);  // a serialized onnx.TensorProto
Tensor load_tensor(const std::filesystem::path& path);
std::string serialize_tensor(const Tensor& tensor, const std::string& name = {});

std::string read_file(const std::filesystem::path& path);

}  // namespace mobileone
