// Fast matrix products with a constant B (the classifier head, linear layers), one set per micro-kernel ISA:
//   gemm_packed    Gemm with transA = 0, alpha = 1 and C absent or a [N] / [1, N] constant (beta * C is the bias)
//   matmul_packed  MatMul of any [..., K] A by a [K, N] constant: the leading dims are rows of one product
// B is packed once at plan time; each honours a fused Relu/Clip/Sigmoid. gemm.cpp's reference defines the result.
#include <fmt/format.h>

#include "runtime/ops/microkernels.h"
#include "runtime/ops/op_checks.h"
#include "runtime/ops/packed_gemm.h"

namespace mobileone::runtime {
namespace {

bool has_constant_float_matrix_b(const NodeSignature& signature) {
    return signature.inputs.size() >= 2 && signature.inputs[0].dtype == DataType::Float && signature.constant(1) &&
           signature.inputs[1].shape.size() == 2;
}

bool accepts_gemm(const NodeSignature& signature) {
    const Node& node = signature.node;
    if (!has_constant_float_matrix_b(signature) || node.attribute_int("transA", 0) != 0 ||
        node.attribute_float("alpha", 1.0f) != 1.0f)
        return false;
    if (!signature.has_input(2)) return true;
    const int64_t n = signature.inputs[1].shape[node.attribute_int("transB", 0) != 0 ? 0 : 1];
    const std::vector<int64_t>& c = signature.inputs[2].shape;
    return signature.constant(2) && (c == std::vector<int64_t>{n} || c == std::vector<int64_t>{1, n});
}

bool accepts_matmul(const NodeSignature& signature) {
    return has_constant_float_matrix_b(signature) && signature.inputs[0].shape.size() >= 2;
}

class PackedProduct final : public Kernel {
public:
    PackedProduct(const Microkernels& microkernels, PackedMatrix weights, FusedActivation activation)
        : microkernels_(microkernels), weights_(std::move(weights)), activation_(activation) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const int64_t rows = inputs[0].numel() / weights_.k();
        packed_gemm(microkernels_, weights_, {inputs[0].as<float>(), rows, weights_.k(), outputs[0].as<float>(),
                                              weights_.n()},
                    activation_, pool);
    }

private:
    const Microkernels& microkernels_;
    PackedMatrix weights_;
    FusedActivation activation_;
};

std::unique_ptr<Kernel> make_gemm(const Microkernels& microkernels, const NodeSignature& signature) {
    const Node& node = signature.node;
    const bool transpose_b = node.attribute_int("transB", 0) != 0;
    const std::vector<int64_t>& shape = signature.inputs[1].shape;
    const int64_t k = shape[transpose_b ? 1 : 0], n = shape[transpose_b ? 0 : 1];
    const float* b = signature.constant(1)->data<float>().data();
    const float* c = signature.has_input(2) ? signature.constant(2)->data<float>().data() : nullptr;
    const float beta = node.attribute_float("beta", 1.0f);
    PackedMatrix weights(
        microkernels, k, n, [&](int64_t i, int64_t j) { return transpose_b ? b[j * k + i] : b[i * n + j]; },
        [&](int64_t j) { return c ? beta * c[j] : 0.0f; });
    return std::make_unique<PackedProduct>(microkernels, std::move(weights), signature.activation);
}

std::unique_ptr<Kernel> make_matmul(const Microkernels& microkernels, const NodeSignature& signature) {
    const std::vector<int64_t>& shape = signature.inputs[1].shape;
    const int64_t n = shape[1];
    const float* b = signature.constant(1)->data<float>().data();
    PackedMatrix weights(
        microkernels, shape[0], n, [&](int64_t i, int64_t j) { return b[i * n + j]; }, [](int64_t) { return 0.0f; });
    return std::make_unique<PackedProduct>(microkernels, std::move(weights), signature.activation);
}

[[maybe_unused]] const bool registered = [] {
    for (const Microkernels* set : compiled_microkernels()) {
        const std::string name = fmt::format("{}x{}_{}", set->gemm_mr, set->gemm_nr, to_string(set->isa));
        auto with = [set](auto make) {
            return [set, make](const NodeSignature& signature) { return make(*set, signature); };
        };
        OpRegistry& registry = OpRegistry::instance();
        registry.add_kernel({"Gemm", "gemm_packed_" + name, set->isa, 10 + isa_rank(set->isa), accepts_gemm,
                             with(make_gemm), Layout::Nchw, true});
        registry.add_kernel({"MatMul", "matmul_packed_" + name, set->isa, 10 + isa_rank(set->isa), accepts_matmul,
                             with(make_matmul), Layout::Nchw, true});
    }
    return true;
}();

}  // namespace
}  // namespace mobileone::runtime
