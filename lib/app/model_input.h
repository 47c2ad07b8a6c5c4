#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/preprocess.h"
#include "ir/graph.h"

namespace mobileone {

// Command-line replacements for the preprocessing derived from the model.
struct PreprocessOverrides {
    std::optional<int> resize;
    std::optional<int> crop;
    std::optional<std::array<float, 3>> mean;
    std::optional<std::array<float, 3>> std;
};

// The input images feed: the graph's only input, a float32/float64 tensor [N, 3, H, W] whose batch can be 1.
// `source` (the model file) names the model in errors.
const ValueInfo& image_input(const Graph& graph, const std::string& source);

// ImageNet preprocessing sized for that input: crop = its static H, W (224 x 224 when not static),
// resize = crop * 256 / 224; overrides win.
PreprocessOptions preprocessing_for(const ValueInfo& input, const PreprocessOverrides& overrides);

// The image as the input's [1, 3, H, W] tensor, in the input's element type.
Tensor image_tensor(const Image& image, const ValueInfo& input, const PreprocessOptions& options);

// NAME=FILE arguments, each FILE a .npy or an ONNX TensorProto .pb.
std::map<std::string, Tensor> load_named_inputs(const std::vector<std::string>& specs);

}  // namespace mobileone
