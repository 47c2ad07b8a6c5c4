#include "image/decode.h"

#include "ir/error.h"
#include "ir/onnx_io.h"

namespace mobileone {

Image decode_image(std::string_view bytes, const std::string& source) {
    if (bytes.starts_with("\xFF\xD8\xFF")) return decode_jpeg(bytes, source);
    if (bytes.starts_with("\x89PNG\r\n\x1A\n")) return decode_png(bytes, source);
    fail("{}: not a JPEG or PNG image", source);
}

Image load_image(const std::filesystem::path& path) { return decode_image(read_file(path), path.string()); }

}  // namespace mobileone
