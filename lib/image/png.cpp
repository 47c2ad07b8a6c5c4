// PNG decoding with libpng. Like libjpeg, libpng reports errors through a callback that must not return: decoding runs
// inside one setjmp scope holding no C++ objects with destructors, and the error is thrown after it.
#include <csetjmp>
#include <cstring>

#include <png.h>

#include "image/decode.h"
#include "ir/error.h"

namespace mobileone {

namespace {

struct PngSource {
    std::string_view bytes;
    std::size_t offset = 0;
    char message[256] = {};
};

void read_from_memory(png_structp png, png_bytep data, png_size_t length) {
    auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
    if (length > source->bytes.size() - source->offset) png_error(png, "file is truncated");
    std::memcpy(data, source->bytes.data() + source->offset, length);
    source->offset += length;
}

[[noreturn]] void jump_on_error(png_structp png, png_const_charp message) {
    auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
    std::snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

// Warnings concern ancillary data (colour profiles, text chunks); the pixels are still right.
void ignore_warning(png_structp, png_const_charp) {}

// Converts whatever the file holds to 8-bit RGB as PIL's convert("RGB") does: palette looked up, grey replicated,
// alpha (and palette transparency) dropped, 16-bit samples cut to their high byte.
void request_rgb8(png_structp png, png_infop info) {
    const int color_type = png_get_color_type(png, info);
    const int bit_depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);
    if (color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

bool read_png(png_structp png, png_infop info, Image& out, std::vector<png_bytep>& rows) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_info(png, info);
    request_rgb8(png, info);
    out = Image(int(png_get_image_width(png, info)), int(png_get_image_height(png, info)));
    if (png_get_rowbytes(png, info) != std::size_t(out.width) * 3) png_error(png, "unexpected row layout");
    rows.resize(out.height);
    for (int y = 0; y < out.height; ++y) rows[y] = out.pixel(0, y);
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
    return true;
}

}  // namespace

Image decode_png(std::string_view bytes, const std::string& source_name) {
    PngSource source{bytes};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, jump_on_error, ignore_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        fail("{}: cannot start the PNG decoder", source_name);
    }
    png_set_read_fn(png, &source, read_from_memory);
    Image image;
    std::vector<png_bytep> rows;
    const bool decoded = read_png(png, info, image, rows);
    png_destroy_read_struct(&png, &info, nullptr);
    if (!decoded) fail("{}: corrupt PNG ({})", source_name, source.message);
    return image;
}

}  // namespace mobileone
