#pragma once

#include <cstdint>
#include <span>

#include "image/image.h"

namespace mobileone {

// The EXIF orientation (1-8) in the payload of a JPEG APP1 marker ("Exif\0\0" then a TIFF header, either byte order).
// 1 (as stored) when the payload is not EXIF, has no orientation tag, or is malformed: metadata never fails a decode.
int exif_orientation(std::span<const uint8_t> app1_payload);

// The picture as it is meant to be seen: the stored pixels flipped/rotated per the EXIF orientation
// (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 anticlockwise).
Image apply_orientation(const Image& stored, int orientation);

}  // namespace mobileone
