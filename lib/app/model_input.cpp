#include "app/model_input.h"

#include "io/npy.h"
#include "ir/error.h"

namespace mobileone {

namespace {

std::optional<int64_t> static_dim(const ValueInfo& input, std::size_t axis) {
    if (!input.shape || axis >= input.shape->size()) return std::nullopt;
    return (*input.shape)[axis].value;
}

}  // namespace

const ValueInfo& image_input(const Graph& graph, const std::string& source) {
    if (graph.inputs.size() != 1)
        fail("{}: the model has {} inputs; feed them with --input NAME=FILE instead of images", source,
             graph.inputs.size());
    const ValueInfo& input = graph.inputs[0];
    if (input.dtype != DataType::Float && input.dtype != DataType::Double)
        fail("{}: input '{}' is {}, not a float image tensor", source, input.name, to_string(input.dtype));
    if (input.shape && input.shape->size() != 4)
        fail("{}: input '{}' has rank {}, not an NCHW image tensor", source, input.name, input.shape->size());
    if (std::optional<int64_t> channels = static_dim(input, 1); channels && *channels != 3)
        fail("{}: input '{}' has {} channels, images have 3", source, input.name, *channels);
    if (std::optional<int64_t> batch = static_dim(input, 0); batch && *batch != 1)
        fail("{}: input '{}' has a fixed batch of {}; images run one at a time", source, input.name, *batch);
    return input;
}

PreprocessOptions preprocessing_for(const ValueInfo& input, const PreprocessOverrides& overrides) {
    std::optional<int64_t> height = static_dim(input, 2), width = static_dim(input, 3);
    PreprocessOptions options = height && width ? imagenet_preprocessing(int(*height), int(*width))
                                                : imagenet_preprocessing(224, 224);
    if (overrides.crop) options = imagenet_preprocessing(*overrides.crop, *overrides.crop);
    if (overrides.resize) options.resize = *overrides.resize;
    if (overrides.mean) options.mean = *overrides.mean;
    if (overrides.std) options.std = *overrides.std;
    if (options.crop_height > options.resize || options.crop_width > options.resize)
        fail("resize {} is smaller than the {}x{} crop", options.resize, options.crop_width, options.crop_height);
    return options;
}

Tensor image_tensor(const Image& image, const ValueInfo& input, const PreprocessOptions& options) {
    Tensor tensor = preprocess(image, options);
    if (input.dtype != DataType::Double) return tensor;
    return Tensor::from_doubles(DataType::Double, tensor.dims(), tensor.to_doubles());
}

std::map<std::string, Tensor> load_named_inputs(const std::vector<std::string>& specs) {
    std::map<std::string, Tensor> inputs;
    for (const std::string& spec : specs) {
        std::size_t equals = spec.find('=');
        if (equals == 0 || equals == std::string::npos || equals + 1 == spec.size())
            fail("--input '{}': expected NAME=FILE", spec);
        std::string name = spec.substr(0, equals);
        if (!inputs.emplace(name, load_tensor_file(spec.substr(equals + 1))).second)
            fail("--input '{}': input '{}' given twice", spec, name);
    }
    return inputs;
}

}  // namespace mobileone
