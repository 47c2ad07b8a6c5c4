#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/exif.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/image_files.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

using Rgb = std::array<int, 3>;

constexpr Rgb kRed{255, 0, 0}, kGreen{0, 255, 0}, kBlue{0, 0, 255};
constexpr Rgb kCyan{0, 255, 255}, kMagenta{255, 0, 255}, kYellow{255, 255, 0};

Rgb pixel_at(const Image& image, int x, int y) {
    const uint8_t* p = image.pixel(x, y);
    return {p[0], p[1], p[2]};
}

// A picture made of 16x16 solid blocks; JPEG keeps block centres within a few levels of the true colour.
Image block_image(const std::vector<std::vector<Rgb>>& blocks) {
    Image image(int(blocks[0].size()) * 16, int(blocks.size()) * 16);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            for (int c = 0; c < 3; ++c) image.pixel(x, y)[c] = uint8_t(blocks[y / 16][x / 16][c]);
    return image;
}

void expect_near(const Rgb& got, const Rgb& expected, int tolerance) {
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], expected[c], tolerance) << "channel " << c;
}

void expect_blocks(const Image& image, const std::vector<std::vector<Rgb>>& blocks, int tolerance) {
    ASSERT_EQ(image.width, int(blocks[0].size()) * 16);
    ASSERT_EQ(image.height, int(blocks.size()) * 16);
    for (std::size_t row = 0; row < blocks.size(); ++row)
        for (std::size_t col = 0; col < blocks[row].size(); ++col) {
            SCOPED_TRACE(::testing::Message() << "block row " << row << " col " << col);
            expect_near(pixel_at(image, int(col) * 16 + 8, int(row) * 16 + 8), blocks[row][col], tolerance);
        }
}

void expect_error_naming(const std::string& bytes, const std::string& source) {
    try {
        decode_image(bytes, source);
        FAIL() << "decoded a broken image";
    } catch (const Error& error) {
        std::string message = error.what();
        EXPECT_NE(message.find(source), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(DecodeJpeg, RgbFileKeepsItsColours) {
    std::vector<std::vector<Rgb>> blocks = {{kRed, kGreen, kBlue}, {kCyan, kMagenta, kYellow}};
    Image decoded = decode_image(encode_jpeg(block_image(blocks)), "rgb.jpg");
    expect_blocks(decoded, blocks, 6);
}

TEST(DecodeJpeg, GreyFileBecomesEqualRgb) {
    std::vector<uint8_t> grey(16 * 8);
    for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = i < grey.size() / 2 ? 40 : 200;
    Image decoded = decode_image(encode_jpeg(16, 8, JpegColor::Gray, grey), "grey.jpg");
    ASSERT_EQ(decoded.width, 16);
    ASSERT_EQ(decoded.height, 8);
    EXPECT_NEAR(pixel_at(decoded, 8, 1)[0], 40, 3);
    EXPECT_NEAR(pixel_at(decoded, 8, 6)[0], 200, 3);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 16; ++x) {
            Rgb p = pixel_at(decoded, x, y);
            EXPECT_EQ(p[0], p[1]);
            EXPECT_EQ(p[1], p[2]);
        }
}

// Ink 0..255 per channel. Paper colour = (255 - ink) * (255 - black) / 255.
std::vector<uint8_t> cmyk_plane(std::array<uint8_t, 4> ink, bool inverted) {
    std::vector<uint8_t> samples;
    for (int i = 0; i < 16 * 16; ++i)
        for (uint8_t value : ink) samples.push_back(inverted ? uint8_t(255 - value) : value);
    return samples;
}

// The centre of a 16x16 CMYK JPEG of one colour, decoded.
Rgb decoded_cmyk(std::array<uint8_t, 4> ink, bool inverted, const JpegOptions& options, const std::string& source) {
    Image decoded = decode_image(encode_jpeg(16, 16, JpegColor::Cmyk, cmyk_plane(ink, inverted), options), source);
    return pixel_at(decoded, 8, 8);
}

TEST(DecodeJpeg, AdobeCmykIsReadAsInverted) {
    // 100% cyan ink, 20% black: red paper 0, green and blue 255 * 204 / 255 = 204.
    JpegOptions options;
    options.adobe_marker = true;
    expect_near(decoded_cmyk({255, 0, 0, 51}, true, options, "adobe.jpg"), {0, 204, 204}, 3);
}

TEST(DecodeJpeg, AdobeYcckIsConvertedBackToCmyk) {
    // 100% yellow ink, 50% black (128 -> inverted 127): red and green paper 127, blue 0.
    JpegOptions options;
    options.ycck = true;
    expect_near(decoded_cmyk({0, 0, 255, 128}, true, options, "ycck.jpg"), {127, 127, 0}, 3);
}

TEST(DecodeJpeg, PlainCmykWithoutAdobeMarker) {
    // 50% magenta (128), no black: green paper 255 - 128 = 127, red and blue 255.
    JpegOptions options;
    options.adobe_marker = false;
    expect_near(decoded_cmyk({0, 128, 0, 0}, false, options, "plain-cmyk.jpg"), {255, 127, 255}, 3);
}

struct OrientationCase {
    int orientation;
    std::vector<std::vector<Rgb>> shown;  // block colours as the viewer should see them
};

// Stored picture:  R G B
//                  C M Y
const std::vector<OrientationCase> kOrientations = {
    {1, {{kRed, kGreen, kBlue}, {kCyan, kMagenta, kYellow}}},
    {2, {{kBlue, kGreen, kRed}, {kYellow, kMagenta, kCyan}}},      // mirrored left-right
    {3, {{kYellow, kMagenta, kCyan}, {kBlue, kGreen, kRed}}},      // rotated 180
    {4, {{kCyan, kMagenta, kYellow}, {kRed, kGreen, kBlue}}},      // flipped top-bottom
    {5, {{kRed, kCyan}, {kGreen, kMagenta}, {kBlue, kYellow}}},    // transposed
    {6, {{kCyan, kRed}, {kMagenta, kGreen}, {kYellow, kBlue}}},    // rotated 90 clockwise
    {7, {{kYellow, kBlue}, {kMagenta, kGreen}, {kCyan, kRed}}},    // transverse
    {8, {{kBlue, kYellow}, {kGreen, kMagenta}, {kRed, kCyan}}},    // rotated 90 anticlockwise
};

TEST(DecodeJpeg, ExifOrientationPutsPixelsWhereTheViewerSeesThem) {
    Image stored = block_image(kOrientations[0].shown);
    for (bool big_endian : {false, true}) {
        for (const OrientationCase& test : kOrientations) {
            SCOPED_TRACE(testing::Message() << "orientation " << test.orientation << (big_endian ? " MM" : " II"));
            JpegOptions options;
            options.app1 = exif_orientation_payload(test.orientation, big_endian);
            expect_blocks(decode_image(encode_jpeg(stored, options), "exif.jpg"), test.shown, 6);
        }
    }
}

std::span<const uint8_t> as_bytes(const std::string& text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(ExifOrientation, ReadsTheTagInBothByteOrders) {
    EXPECT_EQ(exif_orientation(as_bytes(exif_orientation_payload(6, false))), 6);
    EXPECT_EQ(exif_orientation(as_bytes(exif_orientation_payload(8, true))), 8);
}

TEST(ExifOrientation, MalformedOrMissingMeansAsStored) {
    std::string payload = exif_orientation_payload(6, true);
    EXPECT_EQ(exif_orientation(as_bytes(payload.substr(0, payload.size() - 8))), 1);  // entry cut off
    EXPECT_EQ(exif_orientation(as_bytes(exif_orientation_payload(9, false))), 1);      // out of range
    std::string not_exif = payload;
    not_exif[0] = 'X';
    EXPECT_EQ(exif_orientation(as_bytes(not_exif)), 1);
    std::string bad_magic = payload;
    bad_magic[9] = 43;  // TIFF magic 42 -> 43
    EXPECT_EQ(exif_orientation(as_bytes(bad_magic)), 1);
    EXPECT_EQ(exif_orientation({}), 1);
}

// Busy texture, so the entropy-coded scan is most of the file and a cut lands inside it.
Image noise_image(int width, int height) {
    Image image(width, height);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < 3; ++c) image.pixel(x, y)[c] = uint8_t((x * 37 + y * 91 + c * 53) * 2654435761u >> 24);
    return image;
}

std::size_t middle_of_scan(const std::string& jpeg) {
    std::size_t scan = jpeg.find("\xFF\xDA");
    EXPECT_NE(scan, std::string::npos);
    return scan + (jpeg.size() - scan) / 2;
}

// libjpeg only warns on these (and invents the missing pixels); the decoder must refuse them.
TEST(DecodeJpeg, TruncatedFileIsAnErrorNamingIt) {
    std::string bytes = encode_jpeg(noise_image(64, 48));
    expect_error_naming(bytes.substr(0, middle_of_scan(bytes)), "cut.jpg");
    expect_error_naming(bytes.substr(0, bytes.size() - 2), "no-end-marker.jpg");
    expect_error_naming(bytes.substr(0, 40), "header-only.jpg");
}

TEST(DecodeJpeg, StrayMarkerInsideTheScanIsAnError) {
    std::string bytes = encode_jpeg(noise_image(64, 48));
    bytes.insert(middle_of_scan(bytes), "\xFF\xD5");  // a restart marker the file never declared
    expect_error_naming(bytes, "garbled.jpg");
}

TEST(DecodePng, GreyIsReplicatedExactly) {
    std::vector<uint8_t> rows = {0, 17, 128, 255};
    Image decoded = decode_image(encode_png(2, 2, PngColor::Gray, 8, rows), "grey.png");
    ASSERT_EQ(decoded.width, 2);
    EXPECT_EQ(pixel_at(decoded, 1, 0), (Rgb{17, 17, 17}));
    EXPECT_EQ(pixel_at(decoded, 0, 1), (Rgb{128, 128, 128}));
}

TEST(DecodePng, FourBitGreyIsScaledToEightBits) {
    std::vector<uint8_t> rows = {0x0F, 0x80};  // pixels 0, 15 | 8, 0
    Image decoded = decode_image(encode_png(2, 2, PngColor::Gray, 4, rows), "grey4.png");
    EXPECT_EQ(pixel_at(decoded, 1, 0), (Rgb{255, 255, 255}));
    EXPECT_EQ(pixel_at(decoded, 0, 1), (Rgb{136, 136, 136}));  // 8 * 17
}

TEST(DecodePng, PaletteEntriesAreLookedUp) {
    std::vector<uint8_t> palette = {10, 20, 30, 200, 100, 0, 7, 8, 9};
    std::vector<uint8_t> rows = {2, 0, 1, 1};
    Image decoded = decode_image(encode_png(2, 2, PngColor::Palette, 8, rows, palette), "palette.png");
    EXPECT_EQ(pixel_at(decoded, 0, 0), (Rgb{7, 8, 9}));
    EXPECT_EQ(pixel_at(decoded, 1, 0), (Rgb{10, 20, 30}));
    EXPECT_EQ(pixel_at(decoded, 1, 1), (Rgb{200, 100, 0}));
}

TEST(DecodePng, TwoBitPaletteIsUnpacked) {
    std::vector<uint8_t> palette = {0, 0, 0, 50, 60, 70, 1, 2, 3, 255, 128, 64};
    std::vector<uint8_t> rows = {0b11'01'10'00};  // one row of 4 pixels: 3 1 2 0
    Image decoded = decode_image(encode_png(4, 1, PngColor::Palette, 2, rows, palette), "palette2.png");
    EXPECT_EQ(pixel_at(decoded, 0, 0), (Rgb{255, 128, 64}));
    EXPECT_EQ(pixel_at(decoded, 1, 0), (Rgb{50, 60, 70}));
    EXPECT_EQ(pixel_at(decoded, 2, 0), (Rgb{1, 2, 3}));
    EXPECT_EQ(pixel_at(decoded, 3, 0), (Rgb{0, 0, 0}));
}

TEST(DecodePng, AlphaIsDroppedNotComposited) {
    std::vector<uint8_t> rows = {10, 20, 30, 0, 40, 50, 60, 128};
    Image decoded = decode_image(encode_png(2, 1, PngColor::Rgba, 8, rows), "rgba.png");
    EXPECT_EQ(pixel_at(decoded, 0, 0), (Rgb{10, 20, 30}));
    EXPECT_EQ(pixel_at(decoded, 1, 0), (Rgb{40, 50, 60}));

    std::vector<uint8_t> grey_alpha = {90, 0};
    EXPECT_EQ(pixel_at(decode_image(encode_png(1, 1, PngColor::GrayAlpha, 8, grey_alpha), "ga.png"), 0, 0),
              (Rgb{90, 90, 90}));
}

TEST(DecodePng, SixteenBitKeepsTheHighByte) {
    std::vector<uint8_t> rows = {0x12, 0x34, 0xAB, 0xFF, 0x00, 0x80};  // big-endian R, G, B
    Image decoded = decode_image(encode_png(1, 1, PngColor::Rgb, 16, rows), "deep.png");
    EXPECT_EQ(pixel_at(decoded, 0, 0), (Rgb{0x12, 0xAB, 0x00}));
}

TEST(DecodePng, TruncatedOrCorruptFileIsAnErrorNamingIt) {
    Image image = block_image(kOrientations[0].shown);
    std::string bytes = encode_png(image);
    expect_error_naming(bytes.substr(0, bytes.size() / 2), "cut.png");
    std::string flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x55;  // inside IDAT: its CRC no longer matches
    expect_error_naming(flipped, "flipped.png");
}

TEST(DecodeImage, UnknownFormatAndMissingFileAreErrors) {
    expect_error_naming("GIF89a....", "anim.gif");
    TempDir dir;
    auto missing = dir.path() / "nowhere.jpg";
    try {
        load_image(missing);
        FAIL() << "loaded a missing file";
    } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find(missing.string()), std::string::npos) << error.what();
    }
}

TEST(DecodeImage, LoadsFromDisk) {
    TempDir dir;
    auto path = dir.path() / "blocks.png";
    Image image = block_image(kOrientations[0].shown);
    write_file_atomically(path, encode_png(image));
    EXPECT_EQ(load_image(path).pixels, image.pixels);
}

}  // namespace
}  // namespace mobileone
