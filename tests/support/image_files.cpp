#include "support/image_files.h"

#include <csetjmp>
#include <cstdlib>
#include <vector>

#include <jpeglib.h>
#include <png.h>

#include "ir/error.h"

namespace mobileone {

namespace {

struct JpegErrors {
    jpeg_error_mgr manager;
    std::jmp_buf jump;
};

[[noreturn]] void jpeg_jump(j_common_ptr cinfo) { std::longjmp(reinterpret_cast<JpegErrors*>(cinfo->err)->jump, 1); }

struct JpegBuffer {
    unsigned char* data = nullptr;
    unsigned long size = 0;
};

bool compress(jpeg_compress_struct& cinfo, JpegErrors& errors, int width, int height, JpegColor color,
              std::span<const uint8_t> samples, const JpegOptions& options, JpegBuffer& buffer) {
    if (setjmp(errors.jump)) return false;
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer.data, &buffer.size);
    cinfo.image_width = JDIMENSION(width);
    cinfo.image_height = JDIMENSION(height);
    cinfo.input_components = color == JpegColor::Gray ? 1 : color == JpegColor::Rgb ? 3 : 4;
    cinfo.in_color_space = color == JpegColor::Gray ? JCS_GRAYSCALE : color == JpegColor::Rgb ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, options.quality, TRUE);
    if (color == JpegColor::Cmyk) {
        jpeg_set_colorspace(&cinfo, options.ycck ? JCS_YCCK : JCS_CMYK);
        cinfo.write_Adobe_marker = options.adobe_marker;
    }
    jpeg_start_compress(&cinfo, TRUE);
    if (!options.app1.empty())
        jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(options.app1.data()),
                          unsigned(options.app1.size()));
    const std::size_t row_bytes = std::size_t(width) * cinfo.input_components;
    while (cinfo.next_scanline < cinfo.image_height) {
        auto row = const_cast<JSAMPROW>(samples.data() + row_bytes * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    return true;
}

void append_png(png_structp png, png_bytep data, png_size_t length) {
    static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), length);
}

[[noreturn]] void png_jump(png_structp png, png_const_charp) { png_longjmp(png, 1); }

bool write_png(png_structp png, png_infop info, int width, int height, PngColor color, int bit_depth,
               std::span<const uint8_t> rows, std::span<const uint8_t> palette_rgb, std::vector<png_color>& palette,
               std::vector<png_bytep>& row_pointers) {
    if (setjmp(png_jmpbuf(png))) return false;
    static constexpr int kColorTypes[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                          PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_PALETTE};
    png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), bit_depth, kColorTypes[int(color)],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    for (std::size_t i = 0; i + 2 < palette_rgb.size(); i += 3)
        palette.push_back({palette_rgb[i], palette_rgb[i + 1], palette_rgb[i + 2]});
    if (color == PngColor::Palette) png_set_PLTE(png, info, palette.data(), int(palette.size()));
    png_write_info(png, info);
    const std::size_t row_bytes = png_get_rowbytes(png, info);
    if (rows.size() != row_bytes * std::size_t(height)) png_error(png, "wrong sample count");
    for (int y = 0; y < height; ++y) row_pointers.push_back(const_cast<png_bytep>(rows.data() + row_bytes * y));
    png_write_image(png, row_pointers.data());
    png_write_end(png, nullptr);
    return true;
}

void put_u16(std::string& out, uint16_t value, bool big_endian) {
    out += char(big_endian ? value >> 8 : value & 0xFF);
    out += char(big_endian ? value & 0xFF : value >> 8);
}

void put_u32(std::string& out, uint32_t value, bool big_endian) {
    put_u16(out, uint16_t(big_endian ? value >> 16 : value & 0xFFFF), big_endian);
    put_u16(out, uint16_t(big_endian ? value & 0xFFFF : value >> 16), big_endian);
}

}  // namespace

std::string encode_jpeg(int width, int height, JpegColor color, std::span<const uint8_t> samples,
                        const JpegOptions& options) {
    jpeg_compress_struct cinfo{};
    JpegErrors errors{};
    cinfo.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = jpeg_jump;
    JpegBuffer buffer;
    const bool encoded = compress(cinfo, errors, width, height, color, samples, options, buffer);
    jpeg_destroy_compress(&cinfo);
    std::string bytes(reinterpret_cast<const char*>(buffer.data), buffer.size);
    std::free(buffer.data);
    if (!encoded) fail("libjpeg could not encode the test image");
    return bytes;
}

std::string encode_jpeg(const Image& image, const JpegOptions& options) {
    return encode_jpeg(image.width, image.height, JpegColor::Rgb, image.pixels, options);
}

std::string exif_orientation_payload(int orientation, bool big_endian) {
    std::string payload("Exif\0\0", 6);
    payload += big_endian ? "MM" : "II";
    put_u16(payload, 42, big_endian);
    put_u32(payload, 8, big_endian);  // IFD0 right after the header
    put_u16(payload, 1, big_endian);  // one entry
    put_u16(payload, 0x0112, big_endian);
    put_u16(payload, 3, big_endian);  // SHORT
    put_u32(payload, 1, big_endian);
    put_u16(payload, uint16_t(orientation), big_endian);
    put_u16(payload, 0, big_endian);  // value field padding
    put_u32(payload, 0, big_endian);  // no next IFD
    return payload;
}

std::string encode_png(int width, int height, PngColor color, int bit_depth, std::span<const uint8_t> rows,
                       std::span<const uint8_t> palette_rgb) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_jump, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) fail("libpng could not start");
    std::string bytes;
    png_set_write_fn(png, &bytes, append_png, nullptr);
    std::vector<png_color> palette;
    std::vector<png_bytep> row_pointers;
    const bool encoded =
        write_png(png, info, width, height, color, bit_depth, rows, palette_rgb, palette, row_pointers);
    png_destroy_write_struct(&png, &info);
    if (!encoded) fail("libpng could not encode the test image");
    return bytes;
}

std::string encode_png(const Image& image) {
    return encode_png(image.width, image.height, PngColor::Rgb, 8, image.pixels);
}

}  // namespace mobileone
