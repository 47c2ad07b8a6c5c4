#pragma once

#include <array>

#include "image/image.h"
#include "ir/tensor.h"

namespace mobileone {

// torchvision's ImageNet evaluation transform: Resize(resize) (shorter side, antialiased bilinear), CenterCrop,
// ToTensor (scale to [0, 1]) and Normalize(mean, std), giving a [1, 3, crop_height, crop_width] float32 tensor.
struct PreprocessOptions {
    int resize = 256;
    int crop_height = 224;
    int crop_width = 224;
    std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
    std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

// The evaluation geometry for a model input of crop_height x crop_width: shorter side to
// round(max(crop) * 256 / 224), the ratio ImageNet models are evaluated at (256 -> 224); max so any crop fits.
PreprocessOptions imagenet_preprocessing(int crop_height, int crop_width);

Tensor preprocess(const Image& image, const PreprocessOptions& options);

// The steps, exposed for testing.

// Width and height once the shorter side is `shorter`; the longer side is truncated, as torchvision does.
std::array<int, 2> shorter_side_size(int width, int height, int shorter);

// Antialiased bilinear resampling as PIL and torchvision (antialias=True) do it: each output pixel is a normalized
// triangle-weighted average of the input pixels whose centres lie within max(1, scale) of its centre, in input units;
// so downscaling averages every input pixel instead of sampling two. Rows first, then columns, in double; rounded once
// (half to even) at the end.
Image resize_antialiased(const Image& image, int width, int height);

// The centred window; offsets are rounded half to even, as Python's round() does in torchvision's center_crop.
Image center_crop(const Image& image, int width, int height);

// NCHW float32: (pixel / 255 - mean) / std, in float, in that order (as ToTensor then Normalize compute it).
Tensor normalize_to_tensor(const Image& image, const std::array<float, 3>& mean, const std::array<float, 3>& std);

}  // namespace mobileone
