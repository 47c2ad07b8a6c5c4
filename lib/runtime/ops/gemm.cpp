// Matrix products. Each output element is one dot product summed over k in order, so any split of the outputs
// between threads gives the same bits.
//   Gemm    Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (M x K), B' = transB ? B^T : B (K x N); the optional C
//           broadcasts to [M, N] (opsets before 11 require it; their `broadcast` attribute is implied).
//   MatMul  numpy matmul: batch dims broadcast, a 1-D A is a row [1, K] and a 1-D B a column [K, 1], those
//           dims dropped from the result.
#include "runtime/ops/broadcast.h"
#include "runtime/ops/op_checks.h"

namespace mobileone::runtime {
namespace {

// Dot products are short work items; batch this many multiply-adds per task.
constexpr int64_t kMultiplyAddsPerTask = 1 << 14;

int64_t outputs_per_task(int64_t depth) {
    return std::max<int64_t>(1, kMultiplyAddsPerTask / std::max<int64_t>(depth, 1));
}

// A matrix as read by the product: element (row, column) sits at data[row * row_stride + column * column_stride].
template <typename T>
struct MatrixView {
    const T* data;
    int64_t row_stride;
    int64_t column_stride;
};

template <typename T>
T dot(const MatrixView<T>& a, int64_t row, const MatrixView<T>& b, int64_t column, int64_t depth) {
    T sum = 0;
    for (int64_t k = 0; k < depth; ++k)
        sum += a.data[row * a.row_stride + k * a.column_stride] * b.data[k * b.row_stride + column * b.column_stride];
    return sum;
}

struct GemmShape {
    int64_t m = 0;
    int64_t k = 0;
    int64_t n = 0;
    bool transpose_a = false;
    bool transpose_b = false;
    // C broadcast to [M, N]: the strides of its rows and columns, 0 along a broadcast dim.
    int64_t c_row_stride = 0;
    int64_t c_column_stride = 0;
};

GemmShape gemm_shape(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, signature.opset < 11 ? 3 : 2, 3);
    const ValueType& a = signature.inputs[0];
    const ValueType& b = signature.inputs[1];
    expect_dtype<float, double>(node, a.dtype, "input A");
    expect_same_dtype(signature, 0, 1);
    if (a.shape.size() != 2 || b.shape.size() != 2)
        fail("node {}: A {} and B {} must be matrices", node.label(), shape_to_string(a.shape),
             shape_to_string(b.shape));
    GemmShape shape;
    shape.transpose_a = node.attribute_int("transA", 0) != 0;
    shape.transpose_b = node.attribute_int("transB", 0) != 0;
    shape.m = a.shape[shape.transpose_a ? 1 : 0];
    shape.k = a.shape[shape.transpose_a ? 0 : 1];
    shape.n = b.shape[shape.transpose_b ? 0 : 1];
    if (b.shape[shape.transpose_b ? 1 : 0] != shape.k)
        fail("node {}: inner dims of A {} and B {} differ", node.label(), shape_to_string(a.shape),
             shape_to_string(b.shape));
    if (signature.has_input(2)) {
        expect_same_dtype(signature, 0, 2);
        const std::vector<int64_t>& c = signature.inputs[2].shape;
        int64_t rows = c.size() == 2 ? c[0] : 1;
        int64_t columns = c.empty() ? 1 : c.back();
        if (c.size() > 2 || (rows != 1 && rows != shape.m) || (columns != 1 && columns != shape.n))
            fail("node {}: C {} does not broadcast to [{}, {}]", node.label(), shape_to_string(c), shape.m, shape.n);
        shape.c_row_stride = rows == 1 ? 0 : columns;
        shape.c_column_stride = columns == 1 ? 0 : 1;
    }
    return shape;
}

std::vector<ValueType> infer_gemm(const NodeSignature& signature) {
    GemmShape shape = gemm_shape(signature);
    return {{signature.inputs[0].dtype, {shape.m, shape.n}}};
}

template <typename T>
class GemmKernel final : public Kernel {
public:
    GemmKernel(const GemmShape& shape, T alpha, T beta) : shape_(shape), alpha_(alpha), beta_(beta) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const int64_t m = shape_.m, k = shape_.k, n = shape_.n;
        MatrixView<T> a =
            shape_.transpose_a ? MatrixView<T>{inputs[0].as<T>(), 1, m} : MatrixView<T>{inputs[0].as<T>(), k, 1};
        MatrixView<T> b =
            shape_.transpose_b ? MatrixView<T>{inputs[1].as<T>(), 1, k} : MatrixView<T>{inputs[1].as<T>(), n, 1};
        const T* c = has_view(inputs, 2) ? inputs[2].as<T>() : nullptr;
        T* y = outputs[0].as<T>();
        pool.parallel_for(
            m * n,
            [&](int64_t begin, int64_t end) {
                for (int64_t index = begin; index < end; ++index) {
                    int64_t row = index / n, column = index % n;
                    y[index] = alpha_ * dot(a, row, b, column, k);
                    if (c) y[index] += beta_ * c[row * shape_.c_row_stride + column * shape_.c_column_stride];
                }
            },
            outputs_per_task(k));
    }

private:
    GemmShape shape_;
    T alpha_;
    T beta_;
};

std::unique_ptr<Kernel> make_gemm(const NodeSignature& signature) {
    GemmShape shape = gemm_shape(signature);
    float alpha = signature.node.attribute_float("alpha", 1.0f);
    float beta = signature.node.attribute_float("beta", 1.0f);
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype, [&]<typename T>() {
        return std::make_unique<GemmKernel<T>>(shape, static_cast<T>(alpha), static_cast<T>(beta));
    });
}

// MatMul as a batch of [M, K] x [K, N] products; each output matrix knows where its two operands start.
struct MatMulShape {
    int64_t m = 1;
    int64_t k = 0;
    int64_t n = 1;
    std::vector<int64_t> output;
    std::vector<int64_t> a_offsets;  // per output matrix
    std::vector<int64_t> b_offsets;
};

// Offsets of each broadcast batch's matrix inside an operand with batch dims `batch` (right-aligned to `out_batch`).
std::vector<int64_t> batch_offsets(const std::vector<int64_t>& batch, const std::vector<int64_t>& out_batch,
                                   int64_t matrix_size) {
    std::vector<int64_t> offsets;
    const std::size_t lead = out_batch.size() - batch.size();
    for (int64_t flat = 0; flat < element_count(out_batch); ++flat) {
        int64_t remaining = flat, offset = 0, stride = matrix_size;
        for (std::size_t axis = out_batch.size(); axis-- > 0;) {
            int64_t index = remaining % out_batch[axis];
            remaining /= out_batch[axis];
            if (axis < lead) continue;
            int64_t size = batch[axis - lead];
            offset += (size == 1 ? 0 : index) * stride;
            stride *= size;
        }
        offsets.push_back(offset);
    }
    return offsets;
}

MatMulShape matmul_shape(const NodeSignature& signature) {
    const Node& node = signature.node;
    expect_input_count(signature, 2, 2);
    const std::vector<int64_t>& a = signature.inputs[0].shape;
    const std::vector<int64_t>& b = signature.inputs[1].shape;
    expect_dtype<float, double>(node, signature.inputs[0].dtype, "input A");
    expect_same_dtype(signature, 0, 1);
    if (a.empty() || b.empty()) fail("node {}: MatMul operands must have at least one dim", node.label());

    MatMulShape shape;
    shape.k = a.back();
    if (a.size() >= 2) shape.m = a[a.size() - 2];
    if (b.size() >= 2) shape.n = b.back();
    if (b[b.size() >= 2 ? b.size() - 2 : 0] != shape.k)
        fail("node {}: inner dims of {} and {} differ", node.label(), shape_to_string(a), shape_to_string(b));
    std::vector<int64_t> a_batch(a.begin(), a.end() - std::min<std::ptrdiff_t>(2, a.size()));
    std::vector<int64_t> b_batch(b.begin(), b.end() - std::min<std::ptrdiff_t>(2, b.size()));
    std::optional<std::vector<int64_t>> batch = broadcast_shape(a_batch, b_batch);
    if (!batch)
        fail("node {}: batch dims of {} and {} do not broadcast", node.label(), shape_to_string(a), shape_to_string(b));
    shape.a_offsets = batch_offsets(a_batch, *batch, shape.m * shape.k);
    shape.b_offsets = batch_offsets(b_batch, *batch, shape.k * shape.n);
    shape.output = *batch;
    if (a.size() >= 2) shape.output.push_back(shape.m);
    if (b.size() >= 2) shape.output.push_back(shape.n);
    return shape;
}

std::vector<ValueType> infer_matmul(const NodeSignature& signature) {
    return {{signature.inputs[0].dtype, matmul_shape(signature).output}};
}

template <typename T>
class MatMulKernel final : public Kernel {
public:
    explicit MatMulKernel(MatMulShape shape) : shape_(std::move(shape)) {}

    void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs, ThreadPool& pool) const override {
        const int64_t m = shape_.m, k = shape_.k, n = shape_.n;
        const T* a = inputs[0].as<T>();
        const T* b = inputs[1].as<T>();
        T* y = outputs[0].as<T>();
        pool.parallel_for(
            outputs[0].numel(),
            [&](int64_t begin, int64_t end) {
                for (int64_t index = begin; index < end; ++index) {
                    int64_t matrix = index / (m * n), row = index / n % m, column = index % n;
                    MatrixView<T> a_matrix{a + shape_.a_offsets[matrix], k, 1};
                    MatrixView<T> b_matrix{b + shape_.b_offsets[matrix], n, 1};
                    y[index] = dot(a_matrix, row, b_matrix, column, k);
                }
            },
            outputs_per_task(k));
    }

private:
    MatMulShape shape_;
};

std::unique_ptr<Kernel> make_matmul(const NodeSignature& signature) {
    MatMulShape shape = matmul_shape(signature);
    return make_for_dtype<float, double>(signature.node, signature.inputs[0].dtype,
                                         [&]<typename T>() { return std::make_unique<MatMulKernel<T>>(shape); });
}

}  // namespace

MOBILEONE_REGISTER_OP(Gemm, infer_gemm, make_gemm);
MOBILEONE_REGISTER_OP(MatMul, infer_matmul, make_matmul);

}  // namespace mobileone::runtime
