#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ir/error.h"

namespace mobileone {

namespace {

// The input pixels one output pixel averages and their normalized weights.
struct Taps {
    int first = 0;
    std::vector<double> weights;
};

std::vector<Taps> triangle_taps(int in_size, int out_size) {
    const double scale = double(in_size) / out_size;
    const double radius = std::max(scale, 1.0);  // the unit triangle, widened by the downscale factor
    std::vector<Taps> taps(out_size);
    for (int i = 0; i < out_size; ++i) {
        const double center = (i + 0.5) * scale;
        const int first = std::max(int(center - radius + 0.5), 0);
        const int end = std::min(int(center + radius + 0.5), in_size);
        double total = 0;
        for (int j = first; j < end; ++j) {
            double weight = std::max(0.0, 1.0 - std::abs((j + 0.5 - center) / radius));
            taps[i].weights.push_back(weight);
            total += weight;
        }
        for (double& weight : taps[i].weights) weight /= total;
        taps[i].first = first;
    }
    return taps;
}

}  // namespace

PreprocessOptions imagenet_preprocessing(int crop_height, int crop_width) {
    PreprocessOptions options;
    options.crop_height = crop_height;
    options.crop_width = crop_width;
    options.resize = int(std::lround(std::max(crop_height, crop_width) * 256.0 / 224.0));
    return options;
}

std::array<int, 2> shorter_side_size(int width, int height, int shorter) {
    if (width <= height) return {shorter, int(double(shorter) * height / width)};
    return {int(double(shorter) * width / height), shorter};
}

Image resize_antialiased(const Image& image, int width, int height) {
    const std::vector<Taps> columns = triangle_taps(image.width, width);
    const std::vector<Taps> rows = triangle_taps(image.height, height);

    std::vector<double> horizontal(std::size_t(image.height) * width * 3);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < width; ++x) {
            double* out = &horizontal[(std::size_t(y) * width + x) * 3];
            for (std::size_t k = 0; k < columns[x].weights.size(); ++k) {
                const uint8_t* in = image.pixel(columns[x].first + int(k), y);
                for (int c = 0; c < 3; ++c) out[c] += columns[x].weights[k] * in[c];
            }
        }

    Image resized(width, height);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < 3; ++c) {
                double sum = 0;
                for (std::size_t k = 0; k < rows[y].weights.size(); ++k)
                    sum += rows[y].weights[k] * horizontal[((std::size_t(rows[y].first) + k) * width + x) * 3 + c];
                resized.pixel(x, y)[c] = uint8_t(std::clamp(std::nearbyint(sum), 0.0, 255.0));
            }
    return resized;
}

Image center_crop(const Image& image, int width, int height) {
    if (width > image.width || height > image.height)
        fail("cannot crop {}x{} out of a {}x{} image", width, height, image.width, image.height);
    const int left = int(std::nearbyint((image.width - width) / 2.0));
    const int top = int(std::nearbyint((image.height - height) / 2.0));
    Image cropped(width, height);
    for (int y = 0; y < height; ++y) std::memcpy(cropped.pixel(0, y), image.pixel(left, top + y), std::size_t(width) * 3);
    return cropped;
}

Tensor normalize_to_tensor(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
    Tensor tensor(DataType::Float, {1, 3, image.height, image.width});
    std::span<float> out = tensor.data<float>();
    const std::size_t plane = std::size_t(image.width) * image.height;
    for (std::size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) out[c * plane + i] = (float(image.pixels[i * 3 + c]) / 255.0f - mean[c]) / std[c];
    return tensor;
}

Tensor preprocess(const Image& image, const PreprocessOptions& options) {
    if (options.crop_height < 1 || options.crop_width < 1 || options.crop_height > options.resize ||
        options.crop_width > options.resize)
        fail("crop {}x{} does not fit in images resized to a shorter side of {}", options.crop_width,
             options.crop_height, options.resize);
    if (image.width == 0 || image.height == 0) fail("cannot preprocess an empty image");
    auto [width, height] = shorter_side_size(image.width, image.height, options.resize);
    Image resized = resize_antialiased(image, width, height);
    return normalize_to_tensor(center_crop(resized, options.crop_width, options.crop_height), options.mean, options.std);
}

}  // namespace mobileone
