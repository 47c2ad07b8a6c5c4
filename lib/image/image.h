#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mobileone {

// An 8-bit RGB picture, rows top to bottom, pixels interleaved (R, G, B).
struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;

    Image() = default;
    Image(int width, int height) : width(width), height(height), pixels(std::size_t(width) * height * 3) {}

    uint8_t* pixel(int x, int y) { return &pixels[(std::size_t(y) * width + x) * 3]; }
    const uint8_t* pixel(int x, int y) const { return &pixels[(std::size_t(y) * width + x) * 3]; }
};

}  // namespace mobileone
