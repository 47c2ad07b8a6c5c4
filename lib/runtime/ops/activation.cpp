// Elementwise activations y = f(x):
//   Relu          max(x, 0)
//   Sigmoid       1 / (1 + exp(-x))
//   Tanh          tanh(x)
//   LeakyRelu     x < 0 ? alpha * x : x                    (alpha = 0.01)
//   HardSigmoid   max(0, min(1, alpha * x + beta))         (alpha = 0.2, beta = 0.5)
//   HardSwish     x * max(0, min(1, x / 6 + 1 / 2))
//   Clip          min(max(x, min), max); bounds are attributes before opset 11, optional scalar inputs from 11.
// Comparisons are written so that NaN inputs stay NaN.
#include <cmath>
#include <limits>

#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

template <typename T, typename F>
void transform_elements(const TensorView& input, const TensorView& output, ThreadPool& pool, const F& f) {
    const T* x = input.as<T>();
    T* y = output.as<T>();
    pool.parallel_for(
        input.numel(),
        [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) y[i] = f(x[i]);
        },
        kElementsPerTask);
}

template <typename T>
T clamp_unit(T v) {
    return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
}

template <typename T>
struct ReluFunction {
    T operator()(T x) const { return x < T(0) ? T(0) : x; }
};

template <typename T>
struct SigmoidFunction {
    T operator()(T x) const { return T(1) / (T(1) + std::exp(-x)); }
};

template <typename T>
struct TanhFunction {
    T operator()(T x) const { return std::tanh(x); }
};

template <typename T>
struct LeakyReluFunction {
    T alpha;
    T operator()(T x) const { return x < T(0) ? alpha * x : x; }
};

template <typename T>
struct HardSigmoidFunction {
    T alpha;
    T beta;
    T operator()(T x) const { return clamp_unit(alpha * x + beta); }
};

template <typename T>
struct HardSwishFunction {
    T operator()(T x) const { return x * clamp_unit(x * (T(1) / T(6)) + T(0.5)); }
};

template <typename T, typename F>
class ActivationKernel final : public Kernel {
public:
    explicit ActivationKernel(F f) : f_(f) {}
    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        transform_elements<T>(inputs[0], outputs[0], pool, f_);
    }

private:
    F f_;
};

template <template <typename> class Function, typename Types>
std::unique_ptr<Kernel> make_activation(Types types, const NodeSignature& signature, auto... parameters) {
    return make_for_dtype(types, signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        Function<T> f{static_cast<T>(parameters)...};
        return std::unique_ptr<Kernel>(new ActivationKernel<T, Function<T>>(f));
    });
}

std::vector<ValueType> infer_floating(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    expect_dtype(signature.node, signature.inputs[0].dtype, "input", FloatingTypes{});
    return {signature.inputs[0]};
}

std::vector<ValueType> infer_relu(const NodeSignature& signature) {
    expect_input_count(signature, 1, 1);
    expect_dtype(signature.node, signature.inputs[0].dtype, "input", NumericTypes{});
    return {signature.inputs[0]};
}

std::unique_ptr<Kernel> make_relu(const NodeSignature& signature) {
    return make_activation<ReluFunction>(NumericTypes{}, signature);
}

std::unique_ptr<Kernel> make_sigmoid(const NodeSignature& signature) {
    return make_activation<SigmoidFunction>(FloatingTypes{}, signature);
}

std::unique_ptr<Kernel> make_tanh(const NodeSignature& signature) {
    return make_activation<TanhFunction>(FloatingTypes{}, signature);
}

std::unique_ptr<Kernel> make_leaky_relu(const NodeSignature& signature) {
    return make_activation<LeakyReluFunction>(FloatingTypes{}, signature, signature.node.attribute_float("alpha", 0.01f));
}

std::unique_ptr<Kernel> make_hard_sigmoid(const NodeSignature& signature) {
    const Node& node = signature.node;
    return make_activation<HardSigmoidFunction>(FloatingTypes{}, signature, node.attribute_float("alpha", 0.2f),
                                                node.attribute_float("beta", 0.5f));
}

std::unique_ptr<Kernel> make_hard_swish(const NodeSignature& signature) {
    return make_activation<HardSwishFunction>(FloatingTypes{}, signature);
}

std::vector<ValueType> infer_clip(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 1, signature.opset < 11 ? 1 : 3);
    expect_dtype(node, signature.inputs[0].dtype, "input", NumericTypes{});
    for (std::size_t bound = 1; bound < 3; ++bound) {
        if (!signature.has_input(bound)) continue;
        expect_same_dtype(signature, 0, bound);
        if (signature.inputs[bound].numel() != 1)
            fail("node {}: bound input {} must be a scalar, has shape {}", node.label(), bound,
                 shape_to_string(signature.inputs[bound].shape));
    }
    return {signature.inputs[0]};
}

// Bounds come from attributes (opset < 11, fixed at plan time) or from scalar inputs read on each run.
template <typename T>
class ClipKernel final : public Kernel {
public:
    ClipKernel(bool bounds_from_inputs, T low, T high) : bounds_from_inputs_(bounds_from_inputs), low_(low), high_(high) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        T low = low_;
        T high = high_;
        if (bounds_from_inputs_) {
            if (has_view(inputs, 1)) low = inputs[1].as<T>()[0];
            if (has_view(inputs, 2)) high = inputs[2].as<T>()[0];
        }
        // When low > high every element becomes high, as ONNX specifies.
        transform_elements<T>(inputs[0], outputs[0], pool, [low, high](T x) {
            T raised = x < low ? low : x;
            return raised > high ? high : raised;
        });
    }

private:
    bool bounds_from_inputs_;
    T low_;
    T high_;
};

std::unique_ptr<Kernel> make_clip(const NodeSignature& signature) {
    const Node& node = signature.node;
    const bool bounds_from_inputs = signature.opset >= 11;
    return make_for_dtype(NumericTypes{}, node, signature.inputs[0].dtype, [&]<typename T>() {
        T low = std::numeric_limits<T>::lowest();
        T high = std::numeric_limits<T>::max();
        if (!bounds_from_inputs) {
            if (node.has_attribute("min")) low = static_cast<T>(node.attribute_float("min", 0));
            if (node.has_attribute("max")) high = static_cast<T>(node.attribute_float("max", 0));
        }
        return std::unique_ptr<Kernel>(new ClipKernel<T>(bounds_from_inputs, low, high));
    });
}

}  // namespace

MOBILEONE_REGISTER_OP(Relu, infer_relu, make_relu);
MOBILEONE_REGISTER_OP(Sigmoid, infer_floating, make_sigmoid);
MOBILEONE_REGISTER_OP(Tanh, infer_floating, make_tanh);
MOBILEONE_REGISTER_OP(LeakyRelu, infer_floating, make_leaky_relu);
MOBILEONE_REGISTER_OP(HardSigmoid, infer_floating, make_hard_sigmoid);
MOBILEONE_REGISTER_OP(HardSwish, infer_floating, make_hard_swish);
MOBILEONE_REGISTER_OP(Clip, infer_clip, make_clip);
MOBILEONE_REGISTER_ANY_LAYOUT(Relu, make_relu);
MOBILEONE_REGISTER_ANY_LAYOUT(Sigmoid, make_sigmoid);
MOBILEONE_REGISTER_ANY_LAYOUT(Tanh, make_tanh);
MOBILEONE_REGISTER_ANY_LAYOUT(LeakyRelu, make_leaky_relu);
MOBILEONE_REGISTER_ANY_LAYOUT(HardSigmoid, make_hard_sigmoid);
MOBILEONE_REGISTER_ANY_LAYOUT(HardSwish, make_hard_swish);
MOBILEONE_REGISTER_ANY_LAYOUT(Clip, make_clip);

}  // namespace mobileone::runtime
