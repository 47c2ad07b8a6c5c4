#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "image/image.h"

namespace mobileone {

// Decodes a JPEG or PNG (told apart by signature) to 8-bit RGB, as PIL's Image.open(...).convert("RGB") would:
// grey and palette expanded, alpha dropped, 16-bit samples cut to their high byte, CMYK converted (Adobe-inverted
// when the file has an Adobe marker), and a JPEG's EXIF orientation applied.
// A corrupt, truncated or unsupported file throws Error naming `source`.
Image decode_image(std::string_view bytes, const std::string& source);
Image load_image(const std::filesystem::path& path);

Image decode_jpeg(std::string_view bytes, const std::string& source);
Image decode_png(std::string_view bytes, const std::string& source);

}  // namespace mobileone
