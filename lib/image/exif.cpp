#include "image/exif.h"

#include <cstring>
#include <optional>

namespace mobileone {

namespace {

constexpr uint16_t kOrientationTag = 0x0112;
constexpr uint16_t kShortType = 3;

// Bounds-checked reads from a TIFF block in its declared byte order.
class TiffReader {
public:
    TiffReader(std::span<const uint8_t> tiff, bool big_endian) : tiff_(tiff), big_endian_(big_endian) {}

    std::optional<uint32_t> read(std::size_t offset, std::size_t size) const {
        if (offset > tiff_.size() || size > tiff_.size() - offset) return std::nullopt;
        uint32_t value = 0;
        for (std::size_t i = 0; i < size; ++i) {
            std::size_t byte = big_endian_ ? i : size - 1 - i;
            value = (value << 8) | tiff_[offset + byte];
        }
        return value;
    }

private:
    std::span<const uint8_t> tiff_;
    bool big_endian_;
};

}  // namespace

int exif_orientation(std::span<const uint8_t> app1_payload) {
    static constexpr uint8_t kExifId[] = {'E', 'x', 'i', 'f', 0, 0};
    if (app1_payload.size() < sizeof kExifId + 8 || std::memcmp(app1_payload.data(), kExifId, sizeof kExifId) != 0)
        return 1;
    std::span<const uint8_t> tiff = app1_payload.subspan(sizeof kExifId);
    bool big_endian;
    if (tiff[0] == 'M' && tiff[1] == 'M') big_endian = true;
    else if (tiff[0] == 'I' && tiff[1] == 'I') big_endian = false;
    else return 1;
    TiffReader reader(tiff, big_endian);
    if (reader.read(2, 2) != 42u) return 1;

    std::optional<uint32_t> ifd0 = reader.read(4, 4);
    std::optional<uint32_t> entry_count = ifd0 ? reader.read(*ifd0, 2) : std::nullopt;
    if (!entry_count) return 1;
    for (uint32_t entry = 0; entry < *entry_count; ++entry) {
        std::size_t at = std::size_t(*ifd0) + 2 + 12 * std::size_t(entry);
        if (reader.read(at, 2) != kOrientationTag) continue;
        if (reader.read(at + 2, 2) != kShortType) return 1;
        std::optional<uint32_t> value = reader.read(at + 8, 2);  // a single SHORT sits in the value field itself
        return value && *value >= 1 && *value <= 8 ? int(*value) : 1;
    }
    return 1;
}

Image apply_orientation(const Image& stored, int orientation) {
    if (orientation < 2 || orientation > 8) return stored;
    const int w = stored.width, h = stored.height;
    const bool swaps_axes = orientation >= 5;
    Image shown(swaps_axes ? h : w, swaps_axes ? w : h);
    for (int y = 0; y < shown.height; ++y) {
        for (int x = 0; x < shown.width; ++x) {
            int sx = x, sy = y;  // the stored pixel displayed at (x, y)
            switch (orientation) {
                case 2: sx = w - 1 - x; sy = y; break;
                case 3: sx = w - 1 - x; sy = h - 1 - y; break;
                case 4: sx = x; sy = h - 1 - y; break;
                case 5: sx = y; sy = x; break;
                case 6: sx = y; sy = h - 1 - x; break;
                case 7: sx = w - 1 - y; sy = h - 1 - x; break;
                case 8: sx = w - 1 - y; sy = x; break;
            }
            std::memcpy(shown.pixel(x, y), stored.pixel(sx, sy), 3);
        }
    }
    return shown;
}

}  // namespace mobileone
