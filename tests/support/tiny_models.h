#pragma once

#include "ir/graph.h"

namespace mobileone {

// x[1,2,5,5] -> Conv 3x3 (no bias) -> BatchNormalization -> Relu -> y: the smallest graph the default pipeline
// shrinks (to Conv -> Relu). `variance` is channel 0's BN running variance (<= 0 makes the model invalid).
Model conv_bn_relu(float variance = 1.5f);

}  // namespace mobileone
