#pragma once

#include "ir/graph.h"

namespace mobileone {

// A reference and its hand-"converted" twin for verify tests, with 8 class scores per sample:
//   reference  y = Relu(x * w + x), the Add output named "sum";
//   candidate  y = Relu(x * (w + 1)), its Mul output named "sum" too, as the converter names a merged branch sum.
// `weight_error` is added to the candidate's merged weight of class 3.
inline constexpr int kAffineClasses = 8;
Model affine_reference();
Model affine_candidate(float weight_error = 0);

}  // namespace mobileone
