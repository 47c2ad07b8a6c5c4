#include "passes/conv_geometry.h"

#include <algorithm>

namespace mobileone {
namespace {

std::optional<int64_t> known_spatial_size(const Graph& graph, const std::string& tensor, std::size_t axis) {
    auto find_in = [&](const std::vector<ValueInfo>& infos) -> std::optional<int64_t> {
        auto it = std::find_if(infos.begin(), infos.end(), [&](const ValueInfo& v) { return v.name == tensor; });
        if (it == infos.end() || !it->shape || it->shape->size() <= axis + 2) return std::nullopt;
        return (*it->shape)[axis + 2].value;
    };
    if (auto size = find_in(graph.inputs)) return size;
    return find_in(graph.value_info);
}

// auto_pad=SAME_* pads so that output = ceil(input / stride); the total only depends on the input size when stride > 1.
bool resolve_same_padding(const Node& conv, const Graph& graph, bool lower, ConvGeometry& geometry) {
    std::size_t rank = geometry.spatial_rank();
    for (std::size_t axis = 0; axis < rank; ++axis) {
        int64_t stride = geometry.strides[axis];
        int64_t extent = (geometry.kernel[axis] - 1) * geometry.dilations[axis] + 1;
        int64_t total = extent - 1;
        if (stride != 1) {
            std::optional<int64_t> input = known_spatial_size(graph, conv.input(0), axis);
            if (!input) return false;
            int64_t output = (*input + stride - 1) / stride;
            total = std::max<int64_t>(0, (output - 1) * stride + extent - *input);
        }
        int64_t smaller_half = total / 2;
        geometry.pads[axis] = lower ? total - smaller_half : smaller_half;
        geometry.pads[rank + axis] = lower ? smaller_half : total - smaller_half;
    }
    return true;
}

}  // namespace

std::optional<ConvGeometry> read_conv_geometry(const Node& conv, const Graph& graph) {
    const Tensor* weight = graph.initializer(conv.input(1));
    if (!weight || weight->rank() < 3) return std::nullopt;
    ConvGeometry geometry;
    std::size_t rank = weight->rank() - 2;
    geometry.kernel.assign(weight->dims().begin() + 2, weight->dims().end());
    geometry.strides = conv.attribute_ints("strides", std::vector<int64_t>(rank, 1));
    geometry.dilations = conv.attribute_ints("dilations", std::vector<int64_t>(rank, 1));
    geometry.pads = conv.attribute_ints("pads", std::vector<int64_t>(2 * rank, 0));
    geometry.group = conv.attribute_int("group", 1);
    geometry.out_channels = weight->dim(0);
    geometry.in_channels = weight->dim(1) * geometry.group;
    auto positive = [](const std::vector<int64_t>& values) {
        return std::all_of(values.begin(), values.end(), [](int64_t v) { return v > 0; });
    };
    if (geometry.strides.size() != rank || geometry.dilations.size() != rank || geometry.pads.size() != 2 * rank ||
        !positive(geometry.strides) || !positive(geometry.dilations) || geometry.group < 1)
        return std::nullopt;

    std::string auto_pad = conv.attribute_string("auto_pad", "NOTSET");
    if (auto_pad == "VALID") std::fill(geometry.pads.begin(), geometry.pads.end(), 0);
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        if (!resolve_same_padding(conv, graph, auto_pad == "SAME_LOWER", geometry)) return std::nullopt;
    }
    return geometry;
}

const Tensor* foldable_initializer(const Graph& graph, const std::string& name) {
    const Tensor* tensor = graph.initializer(name);
    bool real = tensor && (tensor->dtype() == DataType::Float || tensor->dtype() == DataType::Double);
    return real ? tensor : nullptr;
}

std::string replacement_name(const Graph& graph, const GraphIndex& index, const std::string& old_name,
                             const std::string& suffix) {
    if (index.use_count(old_name) == 1) return old_name;
    return graph.fresh_name(old_name + suffix);
}

void write_conv_geometry(const ConvGeometry& geometry, Node& conv) {
    conv.attributes.erase("auto_pad");
    conv.attributes["kernel_shape"] = geometry.kernel;
    conv.attributes["strides"] = geometry.strides;
    conv.attributes["dilations"] = geometry.dilations;
    conv.attributes["pads"] = geometry.pads;
    conv.attributes["group"] = geometry.group;
}

}  // namespace mobileone
