#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ir/tensor.h"

namespace mobileone {

// NumPy .npy files (format versions 1-3), C order, little-endian: float32, float64, int64, int32, int8, uint8, bool.
// `source` names the file in every error message.
Tensor parse_npy(std::string_view bytes, const std::string& source);
Tensor load_npy(const std::filesystem::path& path);

// Version 1.0, header padded so the data starts 64-byte aligned, as numpy.save writes it.
std::string serialize_npy(const Tensor& tensor);
void save_npy(const Tensor& tensor, const std::filesystem::path& path);  // atomic: no partial file on failure

// A tensor file by extension: .npy, or .pb (a serialized onnx.TensorProto).
Tensor load_tensor_file(const std::filesystem::path& path);

}  // namespace mobileone
