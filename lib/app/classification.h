#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace mobileone {

struct Prediction {
    int64_t index = 0;
    std::string label;
    double probability = 0;
};

// exp(x - max) / sum: the max shift keeps large logits from overflowing.
std::vector<double> softmax(std::span<const double> logits);

// Names of class indices: lines of a labels file, the built-in ImageNet-1k names, or none; "class N" where no name.
class ClassLabels {
public:
    ClassLabels() = default;
    static ClassLabels from_file(const std::filesystem::path& path);  // one name per line
    static ClassLabels builtin_for(std::size_t class_count);         // ImageNet names when there are 1000 classes

    std::string name(int64_t index) const;

private:
    std::vector<std::string> names_;
};

// The k most probable classes, most probable first; ties go to the lower index.
std::vector<Prediction> top_k(std::span<const double> probabilities, std::size_t k, const ClassLabels& labels);

}  // namespace mobileone
