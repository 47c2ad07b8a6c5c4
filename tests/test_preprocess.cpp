#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "image/preprocess.h"
#include "io/npy.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "support/image_files.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace mobileone {
namespace {

Image row_image(const std::vector<uint8_t>& values) {
    Image image(int(values.size()), 1);
    for (std::size_t x = 0; x < values.size(); ++x) std::fill_n(image.pixel(int(x), 0), 3, values[x]);
    return image;
}

std::vector<int> first_channel(const Image& image) {
    std::vector<int> values;
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) values.push_back(image.pixel(x, y)[0]);
    return values;
}

TEST(Resize, HalvingAveragesThreeInputsWithTriangleWeights) {
    // Scale 2 widens the triangle to radius 2 input pixels. Output 0 is centred at 1.0 and sees inputs 0, 1, 2 at
    // distances 0.5, 0.5, 1.5 -> weights 0.75, 0.75, 0.25 -> 3/7, 3/7, 1/7: (3*0 + 3*70 + 140) / 7 = 50.
    // Output 1 (centre 3.0) sees inputs 1, 2, 3 with 1/7, 3/7, 3/7: (70 + 3*140 + 3*210) / 7 = 160.
    Image resized = resize_antialiased(row_image({0, 70, 140, 210}), 2, 1);
    EXPECT_EQ(first_channel(resized), (std::vector<int>{50, 160}));
}

TEST(Resize, UpscalingIsPlainBilinear) {
    // Scale 1/2, radius 1: output centres at 0.25, 0.75, 1.25, 1.75 input pixels -> 0, 1/4, 3/4, 1 of the way.
    Image resized = resize_antialiased(row_image({0, 200}), 4, 1);
    EXPECT_EQ(first_channel(resized), (std::vector<int>{0, 50, 150, 200}));
}

TEST(Resize, SameSizeIsIdentity) {
    Image image = row_image({3, 250, 17, 99, 0});
    EXPECT_EQ(resize_antialiased(image, 5, 1).pixels, image.pixels);
}

TEST(Resize, ShorterSideGetsTheSizeAndTheLongerIsTruncated) {
    EXPECT_EQ(shorter_side_size(500, 375, 256), (std::array<int, 2>{341, 256}));  // 256 * 500 / 375 = 341.33
    EXPECT_EQ(shorter_side_size(375, 500, 256), (std::array<int, 2>{256, 341}));
    EXPECT_EQ(shorter_side_size(100, 100, 256), (std::array<int, 2>{256, 256}));
}

TEST(CenterCrop, OffsetsRoundHalfToEvenLikePython) {
    Image image = row_image({0, 1, 2, 3, 4, 5, 6});
    EXPECT_EQ(first_channel(center_crop(image, 2, 1)), (std::vector<int>{2, 3}));  // (7-2)/2 = 2.5 -> 2
    EXPECT_EQ(first_channel(center_crop(row_image({0, 1, 2, 3, 4}), 2, 1)), (std::vector<int>{2, 3}));  // 1.5 -> 2
    EXPECT_EQ(first_channel(center_crop(image, 3, 1)), (std::vector<int>{2, 3, 4}));  // 2
    EXPECT_THROW(center_crop(image, 8, 1), Error);
}

TEST(Normalize, ScalesThenStandardizesPerChannelIntoNchw) {
    Image image(2, 1);
    const uint8_t pixels[] = {255, 0, 128, 0, 255, 51};
    std::copy(std::begin(pixels), std::end(pixels), image.pixels.begin());
    Tensor tensor = normalize_to_tensor(image, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
    ASSERT_EQ(tensor.dims(), (std::vector<int64_t>{1, 3, 1, 2}));
    std::span<const float> v = tensor.data<float>();
    EXPECT_NEAR(v[0], 2.2489083, 1e-6);   // R of pixel 0: (1 - 0.485) / 0.229
    EXPECT_NEAR(v[1], -2.1179039, 1e-6);  // R of pixel 1: -0.485 / 0.229
    EXPECT_NEAR(v[2], -2.0357143, 1e-6);  // G of pixel 0: -0.456 / 0.224
    EXPECT_NEAR(v[3], 2.4285714, 1e-6);   // G of pixel 1: (1 - 0.456) / 0.224
    EXPECT_NEAR(v[4], 0.4264924, 1e-6);   // B of pixel 0: (128/255 - 0.406) / 0.225
    EXPECT_NEAR(v[5], -0.9155556, 1e-6);  // B of pixel 1: (0.2 - 0.406) / 0.225
}

TEST(Preprocess, GeometryFollowsTheModelInput) {
    EXPECT_EQ(imagenet_preprocessing(224, 224).resize, 256);
    EXPECT_EQ(imagenet_preprocessing(256, 256).resize, 293);  // 292.57
    EXPECT_EQ(imagenet_preprocessing(160, 192).resize, 219);  // 219.43, from the larger side so both fit

    Image image(300, 200);
    PreprocessOptions options = imagenet_preprocessing(32, 48);
    EXPECT_EQ(preprocess(image, options).dims(), (std::vector<int64_t>{1, 3, 32, 48}));
    EXPECT_EQ(options.resize, 55);
    options.resize = 40;
    EXPECT_THROW(preprocess(image, options), Error);  // a 48-wide crop cannot come out of a 40-pixel side
}

// Smooth gradients plus fine texture, so antialiasing matters and rounding ties are rare.
Image test_picture(int width, int height) {
    Image image(width, height);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t* p = image.pixel(x, y);
            p[0] = uint8_t(255.0 * x / (width - 1));
            p[1] = uint8_t(128 + 100 * std::sin(x * 0.9) * std::cos(y * 0.7));
            p[2] = uint8_t((x * 7 + y * 13) % 256);
        }
    return image;
}

struct LevelDifference {
    int max = 0;
    double fraction_differing = 0;
};

LevelDifference compare_levels(const Image& ours, const Tensor& reference) {
    EXPECT_EQ(reference.dims(), (std::vector<int64_t>{ours.height, ours.width, 3}));
    std::span<const uint8_t> theirs = reference.data<uint8_t>();
    LevelDifference difference;
    std::size_t differing = 0;
    for (std::size_t i = 0; i < theirs.size(); ++i) {
        int level = std::abs(int(ours.pixels[i]) - theirs[i]);
        difference.max = std::max(difference.max, level);
        differing += level != 0;
    }
    difference.fraction_differing = double(differing) / double(theirs.size());
    return difference;
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.dims(), b.dims());
    std::span<const float> x = a.data<float>(), y = b.data<float>();
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]));
    return worst;
}

// One 8-bit level after normalization is 1 / 255 / std, at most 1 / 255 / 0.224 = 0.0175.
constexpr double kOneLevel = 1.0 / 255.0 / 0.224;

// Downscaling (517x389), upscaling (150x120) and a portrait whose crop offset is a .5 tie (300x451 -> 256x384).
// Against torchvision's tensor path (antialias=True) a resized pixel may differ by one level where float rounding falls
// on the other side of .5 (torchvision accumulates in float32, we in double): measured about 0.01% of values. Against
// the classic PIL path by one level too, but often (measured 13-15% of values), because PIL resamples in fixed point
// and rounds to 8 bits between the horizontal and the vertical pass; so after normalization at most one level,
// 1 / 255 / std.
TEST(Preprocess, MatchesTorchvision) {
    const std::vector<std::array<int, 2>> sizes = {{517, 389}, {150, 120}, {300, 451}};
    const PreprocessOptions options = imagenet_preprocessing(224, 224);
    TempDir dir;
    std::string command = fmt::format("/usr/bin/python3 {}/tests/support/torchvision_preprocess.py {} {} {}",
                                      MOBILEONE_SOURCE_DIR, options.resize, options.crop_height, dir.path().string());
    for (auto [width, height] : sizes) {
        auto png = dir.path() / fmt::format("{}x{}.png", width, height);
        write_file_atomically(png, encode_png(test_picture(width, height)));
        command += fmt::format(" {}", png.string());
    }
    CommandResult result = run_command(command);
    ASSERT_EQ(result.exit_code, 0) << result.stderr_text;

    for (auto [width, height] : sizes) {
        SCOPED_TRACE(testing::Message() << width << "x" << height);
        auto reference = [&](const char* kind) { return load_npy(dir.path() / fmt::format("{}x{}_{}.npy", width, height, kind)); };
        Image image = test_picture(width, height);
        auto [resized_width, resized_height] = shorter_side_size(width, height, options.resize);
        Image resized = resize_antialiased(image, resized_width, resized_height);
        LevelDifference from_tensor_path = compare_levels(resized, reference("tensor_resized"));
        LevelDifference from_pil = compare_levels(resized, reference("pil_resized"));
        EXPECT_LE(from_tensor_path.max, 1);
        EXPECT_LT(from_tensor_path.fraction_differing, 0.001);
        EXPECT_LE(from_pil.max, 1);

        Tensor ours = preprocess(image, options);
        EXPECT_LE(max_abs_difference(ours, reference("tensor_normalized")), kOneLevel * 1.0001);
        EXPECT_LE(max_abs_difference(ours, reference("pil_normalized")), kOneLevel * 1.0001);
    }
}

}  // namespace
}  // namespace mobileone
