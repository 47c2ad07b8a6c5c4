// JPEG decoding with libjpeg(-turbo). libjpeg reports errors through a callback that must not return, so the
// decompression runs inside one setjmp scope holding no C++ objects with destructors; the error is thrown after it.
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

#include "image/decode.h"
#include "image/exif.h"
#include "ir/error.h"

namespace mobileone {

namespace {

struct JpegErrors {
    jpeg_error_mgr manager;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_on_error(j_common_ptr cinfo) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    cinfo->err->format_message(cinfo, errors->message);
    std::longjmp(errors->jump, 1);
}

// libjpeg only warns when the data is truncated or corrupt and then makes up the missing pixels; those warnings fail
// the decode. Warnings that leave the pixels intact (stray bytes between markers, unknown JFIF revision) do not.
bool damages_pixels(int warning) {
    switch (warning) {
        case JWRN_JPEG_EOF:
        case JWRN_HIT_MARKER:
        case JWRN_HUFF_BAD_CODE:
        case JWRN_ARITH_BAD_CODE:
        case JWRN_MUST_RESYNC:
        case JWRN_BOGUS_PROGRESSION:
        case JWRN_NOT_SEQUENTIAL: return true;
        default: return false;
    }
}

void fail_on_damaging_warning(j_common_ptr cinfo, int level) {
    if (level < 0 && damages_pixels(cinfo->err->msg_code)) jump_on_error(cinfo);
}

// What the setjmp scope hands back; lives in the caller's frame so longjmp never skips its destructor.
struct JpegOutput {
    Image image;
    std::vector<uint8_t> cmyk;  // 4 samples per pixel, for CMYK/YCCK files
    bool adobe_inverted = false;
    std::vector<uint8_t> exif;  // APP1 payload
};

bool decompress(jpeg_decompress_struct& cinfo, JpegErrors& errors, std::string_view bytes, JpegOutput& out) {
    if (setjmp(errors.jump)) return false;
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);

    const bool is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    const std::size_t row_bytes = std::size_t(cinfo.output_width) * cinfo.output_components;
    std::vector<uint8_t>& samples = is_cmyk ? out.cmyk : out.image.pixels;
    out.image.width = int(cinfo.output_width);
    out.image.height = int(cinfo.output_height);
    samples.resize(row_bytes * cinfo.output_height);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = samples.data() + row_bytes * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    out.adobe_inverted = is_cmyk && cinfo.saw_Adobe_marker;
    for (jpeg_saved_marker_ptr marker = cinfo.marker_list; marker; marker = marker->next)
        if (marker->marker == JPEG_APP0 + 1 && out.exif.empty())
            out.exif.assign(marker->data, marker->data + marker->data_length);
    jpeg_finish_decompress(&cinfo);
    return true;
}

// Adobe applications store CMYK inverted (0 = full ink) and flag it with an Adobe marker; plain CMYK has 255 = full ink.
Image cmyk_to_rgb(const std::vector<uint8_t>& cmyk, int width, int height, bool adobe_inverted) {
    Image rgb(width, height);
    for (std::size_t i = 0; i < std::size_t(width) * height; ++i) {
        const uint8_t* ink = &cmyk[i * 4];
        auto paper = [&](int channel) { return adobe_inverted ? ink[channel] : 255 - ink[channel]; };
        for (int c = 0; c < 3; ++c) rgb.pixels[i * 3 + c] = uint8_t((paper(c) * paper(3) + 127) / 255);
    }
    return rgb;
}

}  // namespace

Image decode_jpeg(std::string_view bytes, const std::string& source) {
    jpeg_decompress_struct cinfo{};
    JpegErrors errors{};
    cinfo.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = jump_on_error;
    errors.manager.emit_message = fail_on_damaging_warning;
    JpegOutput out;
    const bool decoded = decompress(cinfo, errors, bytes, out);
    jpeg_destroy_decompress(&cinfo);
    if (!decoded) fail("{}: corrupt JPEG ({})", source, errors.message);

    Image image = out.cmyk.empty() ? std::move(out.image)
                                   : cmyk_to_rgb(out.cmyk, out.image.width, out.image.height, out.adobe_inverted);
    return apply_orientation(image, exif_orientation(out.exif));
}

}  // namespace mobileone
