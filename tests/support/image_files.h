#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "image/image.h"

namespace mobileone {

// Test images encoded with libjpeg/libpng, so decoding is checked against files the real libraries wrote.

enum class JpegColor { Gray, Rgb, Cmyk };

struct JpegOptions {
    int quality = 95;
    std::string app1;            // payload of an APP1 marker (e.g. exif_orientation_payload), written when not empty
    bool adobe_marker = true;    // CMYK only: write the Adobe marker (readers then take the samples as inverted)
    bool ycck = false;           // CMYK only: store as YCCK (Adobe's transform 2), as Photoshop does
};

// `samples`: rows top to bottom, 1 (Gray), 3 (Rgb) or 4 (Cmyk) interleaved samples per pixel.
std::string encode_jpeg(int width, int height, JpegColor color, std::span<const uint8_t> samples,
                        const JpegOptions& options = {});
std::string encode_jpeg(const Image& image, const JpegOptions& options = {});

// An APP1 "Exif" payload whose IFD0 holds only the orientation tag, in either TIFF byte order.
std::string exif_orientation_payload(int orientation, bool big_endian);

enum class PngColor { Gray, GrayAlpha, Rgb, Rgba, Palette };

// `rows`: the raw scanlines as PNG stores them (samples packed below 8 bits, 16-bit samples big-endian), no filter
// bytes. `palette_rgb`: 3 bytes per entry, Palette only.
std::string encode_png(int width, int height, PngColor color, int bit_depth, std::span<const uint8_t> rows,
                       std::span<const uint8_t> palette_rgb = {});
std::string encode_png(const Image& image);

}  // namespace mobileone
