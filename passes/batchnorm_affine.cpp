#include "passes/batchnorm_affine.h"

#include <cmath>

#include "ir/error.h"
#include "passes/conv_geometry.h"

namespace mobileone {

bool is_foldable_batchnorm(const Node& node, const Graph& graph, const GraphIndex& index) {
    if (node.op_type != "BatchNormalization" || !node.domain.empty() || node.inputs.size() != 5) return false;
    if (node.attribute_int("training_mode", 0) != 0 || node.attribute_int("spatial", 1) != 1) return false;
    if (node.outputs.empty() || node.outputs[0].empty()) return false;
    for (std::size_t i = 1; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty() && index.use_count(node.outputs[i]) > 0) return false;
    const Tensor* scale = foldable_initializer(graph, node.input(1));
    if (!scale || scale->rank() != 1) return false;
    for (std::size_t i = 2; i < 5; ++i) {
        const Tensor* parameter = foldable_initializer(graph, node.input(i));
        if (!parameter || parameter->dims() != scale->dims()) return false;
    }
    return true;
}

ChannelAffine batchnorm_affine(const Node& batchnorm, const Graph& graph) {
    std::vector<double> gamma = graph.initializer(batchnorm.input(1))->to_doubles();
    std::vector<double> beta = graph.initializer(batchnorm.input(2))->to_doubles();
    std::vector<double> mean = graph.initializer(batchnorm.input(3))->to_doubles();
    std::vector<double> variance = graph.initializer(batchnorm.input(4))->to_doubles();
    double epsilon = batchnorm.attribute_float("epsilon", 1e-5f);
    ChannelAffine affine;
    for (std::size_t c = 0; c < gamma.size(); ++c) {
        double denominator = variance[c] + epsilon;
        if (!(denominator > 0))
            fail("node {}: variance + epsilon is {} for channel {}; it must be positive", batchnorm.label(),
                 denominator, c);
        affine.scale.push_back(gamma[c] / std::sqrt(denominator));
        affine.shift.push_back(beta[c] - mean[c] * affine.scale.back());
    }
    return affine;
}

}  // namespace mobileone
