// Add, Sub, Mul, Div: C = A op B elementwise with numpy multidirectional broadcasting (opset >= 7).
// Opset < 7 broadcasts only when broadcast=1, and then aligns B with A's dims starting at `axis` (default: A's last dims).
// Integer Div truncates toward zero (as ONNX's reference and ONNX Runtime do); integer overflow wraps.
#include <type_traits>
#include <utility>

#include "runtime/ops/broadcast.h"
#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

// Signed overflow is undefined behaviour in C++; integers wrap instead, as two's complement hardware and numpy do.
// Computing in uint64 and narrowing is modular for every integer type.
template <typename T>
T wrapped(uint64_t value) {
    return static_cast<T>(value);
}

struct Addition {
    template <typename T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return wrapped<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
        else return a + b;
    }
};

struct Subtraction {
    template <typename T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return wrapped<T>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
        else return a - b;
    }
};

struct Multiplication {
    template <typename T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return wrapped<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
        else return a * b;
    }
};

struct Division {
    template <typename T>
    T operator()(T a, T b) const {
        // The lowest signed value divided by -1 overflows; negate with wrapping instead.
        if constexpr (std::is_signed_v<T> && std::is_integral_v<T>)
            return b == -1 ? wrapped<T>(0 - static_cast<uint64_t>(a)) : static_cast<T>(a / b);
        else return static_cast<T>(a / b);
    }
};

// The input shapes to broadcast: B's shape as given, or for legacy broadcasting padded with 1s to align at `axis`.
std::pair<std::vector<int64_t>, std::vector<int64_t>> aligned_shapes(const NodeSignature& signature) {
    const Node& node = signature.node;
    const std::vector<int64_t>& a = signature.inputs[0].shape;
    const std::vector<int64_t>& b = signature.inputs[1].shape;
    if (signature.opset >= 7) return {a, b};
    if (node.attribute_int("broadcast", 0) == 0) {
        if (a != b)
            fail("node {}: shapes {} and {} differ and broadcast=0", node.label(), shape_to_string(a), shape_to_string(b));
        return {a, b};
    }
    const auto rank = static_cast<int64_t>(a.size());
    const auto b_rank = static_cast<int64_t>(b.size());
    int64_t axis = node.has_attribute("axis") ? normalize_axis(node, node.attribute_int("axis", 0), rank) : rank - b_rank;
    if (axis < 0 || axis + b_rank > rank)
        fail("node {}: B's shape {} does not fit in A's shape {} at axis {}", node.label(), shape_to_string(b),
             shape_to_string(a), axis);
    std::vector<int64_t> aligned(static_cast<std::size_t>(axis), 1);
    aligned.insert(aligned.end(), b.begin(), b.end());
    aligned.resize(a.size(), 1);
    return {a, aligned};
}

std::vector<ValueType> infer_binary(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 2, 2);
    expect_same_dtype(signature, 0, 1);
    DataType dtype = signature.inputs[0].dtype;
    expect_dtype(node, dtype, "input", NumericTypes{});
    auto [a, b] = aligned_shapes(signature);
    std::optional<std::vector<int64_t>> shape = broadcast_shape(a, b);
    if (!shape || (signature.opset < 7 && *shape != a))
        fail("node {}: shapes {} and {} do not broadcast", node.label(), shape_to_string(signature.inputs[0].shape),
             shape_to_string(signature.inputs[1].shape));
    return {{dtype, *shape}};
}

template <typename T, typename Op>
class BinaryKernel final : public Kernel {
public:
    BinaryKernel(BroadcastLayout layout, std::string label) : layout_(std::move(layout)), label_(std::move(label)) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const T* a = inputs[0].as<T>();
        const T* b = inputs[1].as<T>();
        T* out = outputs[0].as<T>();
        if constexpr (std::is_integral_v<T> && std::is_same_v<Op, Division>) {
            for (int64_t i = 0; i < inputs[1].numel(); ++i)
                if (b[i] == 0) fail("node {}: integer division by zero", label_);
        }
        const std::size_t inner_axis = layout_.dims.size() - 1;
        const int64_t a_step = layout_.strides[0][inner_axis];
        const int64_t b_step = layout_.strides[1][inner_axis];
        const Op op;
        pool.parallel_for(
            layout_.numel,
            [&](int64_t begin, int64_t end) {
                for_each_broadcast_run(layout_, begin, end, [&](int64_t o, int64_t count, int64_t ia, int64_t ib) {
                    for (int64_t k = 0; k < count; ++k) out[o + k] = op(a[ia + k * a_step], b[ib + k * b_step]);
                });
            },
            kElementsPerTask);
    }

private:
    BroadcastLayout layout_;
    std::string label_;
};

template <typename Op>
std::unique_ptr<Kernel> make_binary(const NodeSignature& signature) {
    auto [a, b] = aligned_shapes(signature);
    BroadcastLayout layout = make_broadcast_layout(a, b);
    return make_for_dtype(NumericTypes{}, signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        return std::unique_ptr<Kernel>(new BinaryKernel<T, Op>(layout, signature.node.label()));
    });
}

}  // namespace

MOBILEONE_REGISTER_OP(Add, infer_binary, make_binary<Addition>);
MOBILEONE_REGISTER_OP(Sub, infer_binary, make_binary<Subtraction>);
MOBILEONE_REGISTER_OP(Mul, infer_binary, make_binary<Multiplication>);
MOBILEONE_REGISTER_OP(Div, infer_binary, make_binary<Division>);
MOBILEONE_REGISTER_ANY_LAYOUT(Add, make_binary<Addition>);
MOBILEONE_REGISTER_ANY_LAYOUT(Sub, make_binary<Subtraction>);
MOBILEONE_REGISTER_ANY_LAYOUT(Mul, make_binary<Multiplication>);
MOBILEONE_REGISTER_ANY_LAYOUT(Div, make_binary<Division>);

}  // namespace mobileone::runtime
