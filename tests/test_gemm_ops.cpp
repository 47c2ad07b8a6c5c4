// Gemm and MatMul on small matrices multiplied out by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "support/op_runner.h"

namespace mobileone {
namespace {

using Shape = std::vector<int64_t>;

// A = [[1, 2], [3, 4]] and B = [[5, 6], [7, 8]]: AB = [[19, 22], [43, 50]], A^T B = [[26, 30], [38, 44]],
// A B^T = [[17, 23], [39, 53]].
OpCall gemm(std::map<std::string, Attribute> attributes = {}) {
    return {"Gemm",
            {runtime_value(floats({2, 2}, {1, 2, 3, 4})), known(floats({2, 2}, {5, 6, 7, 8}))},
            std::move(attributes)};
}

TEST(Gemm, TransposesEitherOperand) {
    EXPECT_EQ(values_of<float>(run_single(gemm())), (std::vector<float>{19, 22, 43, 50}));
    EXPECT_EQ(values_of<float>(run_single(gemm({{"transA", int64_t{1}}}))), (std::vector<float>{26, 30, 38, 44}));
    EXPECT_EQ(values_of<float>(run_single(gemm({{"transB", int64_t{1}}}))), (std::vector<float>{17, 23, 39, 53}));
}

TEST(Gemm, ScalesAndBroadcastsC) {
    // Y = 2 AB + C / 2 for each shape C may take.
    struct Case {
        Tensor c;
        std::vector<float> expected;
    };
    for (const Case& test :
         {Case{floats({}, {4}), {40, 46, 88, 102}}, Case{floats({2}, {10, 20}), {43, 54, 91, 110}},
          Case{floats({2, 1}, {10, 20}), {43, 49, 96, 110}}, Case{floats({1, 2}, {10, 20}), {43, 54, 91, 110}},
          Case{floats({2, 2}, {2, 4, 6, 8}), {39, 46, 89, 104}}}) {
        SCOPED_TRACE(shape_to_string(test.c.dims()));
        OpCall call = gemm({{"alpha", 2.0f}, {"beta", 0.5f}});
        call.inputs.push_back(known(test.c));
        EXPECT_EQ(values_of<float>(run_single(call)), test.expected);
    }
}

TEST(Gemm, NonSquareProductLikeALinearLayer) {
    // x [1, 3] times W^T with W [2, 3] = [[1, 0, 1], [0, 1, 0]], plus b: [1 + 3, 2] + [0.5, -0.5].
    OpCall call{"Gemm",
                {runtime_value(doubles({1, 3}, {1, 2, 3})), known(doubles({2, 3}, {1, 0, 1, 0, 1, 0})),
                 known(doubles({2}, {0.5, -0.5}))},
                {{"transB", int64_t{1}}}};
    Tensor y = run_single(call);
    EXPECT_EQ(y.dims(), (Shape{1, 2}));
    EXPECT_EQ(values_of<double>(y), (std::vector<double>{4.5, 1.5}));
}

TEST(Gemm, MismatchedInnerDimsAreAnErrorNamingTheNode) {
    OpCall call{"Gemm", {runtime_value(floats({2, 3}, {1, 2, 3, 4, 5, 6})), known(floats({2, 2}, {1, 2, 3, 4}))}};
    EXPECT_EQ(run_error(call), "node 'node_under_test' (Gemm): inner dims of A [2, 3] and B [2, 2] differ");
    call.opset = 9;  // C was required before opset 11
    EXPECT_NE(run_error(call).find("takes 3 to 3 inputs"), std::string::npos) << run_error(call);
}

TEST(MatMul, VectorOperandsDropTheirDim) {
    OpCall dot{"MatMul", {runtime_value(floats({3}, {1, 2, 3})), known(floats({3}, {4, 5, 6}))}};
    Tensor scalar = run_single(dot);
    EXPECT_EQ(scalar.dims(), Shape{});
    EXPECT_EQ(values_of<float>(scalar), (std::vector<float>{32}));

    // [2] x [2, 2, 3]: the row vector times each matrix of the batch.
    OpCall row{"MatMul",
               {runtime_value(floats({2}, {1, -1})), known(floats({2, 2, 3}, {1, 2, 3, 4, 5, 6, 0, 1, 0, 1, 0, 1}))}};
    Tensor rows = run_single(row);
    EXPECT_EQ(rows.dims(), (Shape{2, 3}));
    EXPECT_EQ(values_of<float>(rows), (std::vector<float>{-3, -3, -3, -1, 1, -1}));

    // [2, 2, 3] x [3]: each matrix times the column vector.
    OpCall column{
        "MatMul",
        {runtime_value(floats({2, 2, 3}, {1, 2, 3, 4, 5, 6, 0, 1, 0, 1, 0, 1})), known(floats({3}, {1, 0, 2}))}};
    Tensor columns = run_single(column);
    EXPECT_EQ(columns.dims(), (Shape{2, 2}));
    EXPECT_EQ(values_of<float>(columns), (std::vector<float>{7, 16, 0, 3}));
}

TEST(MatMul, BatchDimsBroadcast) {
    // A [2, 1, 2, 2] holds (i + 1) * I, B [3, 2, 2] holds three matrices: Y[i, j] = (i + 1) * B[j].
    std::vector<float> a = {1, 0, 0, 1, 2, 0, 0, 2};
    std::vector<float> b = {1, 2, 3, 4, 5, 6, 7, 8, -1, 0, 0, -1};
    Tensor y = run_single({"MatMul", {runtime_value(floats({2, 1, 2, 2}, a)), known(floats({3, 2, 2}, b))}}, 3);
    EXPECT_EQ(y.dims(), (Shape{2, 3, 2, 2}));
    std::vector<float> expected;
    for (float scale : {1.0f, 2.0f})
        for (float value : b) expected.push_back(scale * value);
    EXPECT_EQ(values_of<float>(y), expected);

    OpCall mismatch{"MatMul", {runtime_value(floats({2, 2, 2}, a)), known(floats({3, 2, 2}, b))}};
    EXPECT_EQ(run_error(mismatch),
              "node 'node_under_test' (MatMul): batch dims of [2, 2, 2] and [3, 2, 2] do not broadcast");
}

}  // namespace
}  // namespace mobileone
