#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <algorithm>

namespace mobileone::runtime {

// Zero-filled floats on a 64-byte boundary: packed weights read with aligned, cache-line-sized vector loads.
class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(std::size_t count)
        : data_(static_cast<float*>(::operator new[](count * sizeof(float), std::align_val_t{64}))), size_(count) {
        std::fill_n(data_.get(), count, 0.0f);
    }
    float* data() { return data_.get(); }
    const float* data() const { return data_.get(); }
    std::size_t size() const { return size_; }

private:
    struct Delete {
        void operator()(float* p) const { ::operator delete[](p, std::align_val_t{64}); }
    };
    std::unique_ptr<float[], Delete> data_;
    std::size_t size_ = 0;
};

}  // namespace mobileone::runtime
