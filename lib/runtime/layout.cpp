#include "runtime/layout.h"

#include <algorithm>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {

bool layout_neutral(const std::vector<int64_t>& shape) { return shape.size() != 4 || shape[2] * shape[3] == 1; }

bool accepts_any_layout(const NodeSignature& signature) {
    const std::vector<int64_t>* shape = nullptr;
    for (std::size_t i = 0; i < signature.inputs.size(); ++i) {
        if (!signature.has_input(i) || signature.inputs[i].numel() == 1) continue;
        if (signature.constant(i) || (shape && signature.inputs[i].shape != *shape)) return false;
        shape = &signature.inputs[i].shape;
    }
    return shape != nullptr;
}

namespace {

// Transposes each image's [rows, columns] matrix of elements: NCHW -> NHWC is [C, HW] -> [HW, C], and back.
// Square blocks keep both sides' cache lines in use.
template <typename Element>
void transpose_images(const TensorView& input, const TensorView& output, int64_t rows, int64_t columns,
                      ThreadPool& pool) {
    constexpr int64_t block = 32;
    const auto* x = reinterpret_cast<const Element*>(input.data);
    auto* y = reinterpret_cast<Element*>(output.data);
    const int64_t images = input.shape()[0], column_blocks = (columns + block - 1) / block;
    pool.parallel_for(images * column_blocks, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t image = task / column_blocks, c0 = task % column_blocks * block;
            const int64_t c1 = std::min(columns, c0 + block);
            const Element* in = x + image * rows * columns;
            Element* out = y + image * rows * columns;
            // Writes run along the output rows; the block's reads stay within `block` columns of each input row.
            for (int64_t r0 = 0; r0 < rows; r0 += block) {
                const int64_t r1 = std::min(rows, r0 + block);
                for (int64_t c = c0; c < c1; ++c) {
                    const Element* source = in + c;
                    Element* target = out + c * rows;
                    for (int64_t r = r0; r < r1; ++r) target[r] = source[r * columns];
                }
            }
        }
    });
}

// NCHW -> NHWC of an RGB image, the graph input of every vision model: three reads, one contiguous write per pixel.
template <typename Element>
void interleave_three_channels(const TensorView& input, const TensorView& output, ThreadPool& pool) {
    const auto* x = reinterpret_cast<const Element*>(input.data);
    auto* y = reinterpret_cast<Element*>(output.data);
    const int64_t images = input.shape()[0], pixels = input.shape()[2] * input.shape()[3];
    constexpr int64_t block = 4096;
    const int64_t blocks = (pixels + block - 1) / block;
    pool.parallel_for(images * blocks, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t image = task / blocks, first = task % blocks * block;
            const Element* in = x + image * 3 * pixels;
            Element* out = y + image * 3 * pixels;
            for (int64_t p = first; p < std::min(pixels, first + block); ++p) {
                out[3 * p] = in[p];
                out[3 * p + 1] = in[pixels + p];
                out[3 * p + 2] = in[2 * pixels + p];
            }
        }
    });
}

template <typename Element>
void reorder(const TensorView& input, const TensorView& output, Layout to, ThreadPool& pool) {
    const int64_t channels = input.shape()[1], pixels = input.shape()[2] * input.shape()[3];
    if (to == Layout::Nhwc && channels == 3)
        interleave_three_channels<Element>(input, output, pool);
    else if (to == Layout::Nhwc)
        transpose_images<Element>(input, output, channels, pixels, pool);
    else
        transpose_images<Element>(input, output, pixels, channels, pool);
}

class ReorderKernel final : public Kernel {
public:
    explicit ReorderKernel(Layout to) : to_(to) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        // Elements are moved as bits of their size: the reorder serves any element type.
        switch (element_size(inputs[0].type.dtype)) {
            case 1: return reorder<uint8_t>(inputs[0], outputs[0], to_, pool);
            case 2: return reorder<uint16_t>(inputs[0], outputs[0], to_, pool);
            case 4: return reorder<uint32_t>(inputs[0], outputs[0], to_, pool);
            case 8: return reorder<uint64_t>(inputs[0], outputs[0], to_, pool);
        }
        fail("cannot reorder {} values", to_string(inputs[0].type.dtype));
    }

private:
    Layout to_;
};

}  // namespace

std::unique_ptr<Kernel> make_reorder(Layout to) { return std::make_unique<ReorderKernel>(to); }

const KernelEntry& reorder_entry(Layout to) {
    static const KernelEntry to_nhwc{"LayoutReorder", "reorder_nchw_to_nhwc", Isa::Generic, 0, {}, {}, Layout::Nhwc};
    static const KernelEntry to_nchw{"LayoutReorder", "reorder_nhwc_to_nchw", Isa::Generic, 0, {}, {}, Layout::Nchw};
    return to == Layout::Nhwc ? to_nhwc : to_nchw;
}

}  // namespace mobileone::runtime
