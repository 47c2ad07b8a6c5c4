#include "app/classification.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

#include "ir/error.h"
#include "labels/imagenet_labels.h"

namespace mobileone {

std::vector<double> softmax(std::span<const double> logits) {
    if (logits.empty()) return {};
    const double max = *std::max_element(logits.begin(), logits.end());
    std::vector<double> probabilities(logits.size());
    std::transform(logits.begin(), logits.end(), probabilities.begin(), [&](double x) { return std::exp(x - max); });
    const double total = std::accumulate(probabilities.begin(), probabilities.end(), 0.0);
    for (double& p : probabilities) p /= total;
    return probabilities;
}

ClassLabels ClassLabels::from_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) fail("{}: cannot open the labels file", path.string());
    ClassLabels labels;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        labels.names_.push_back(std::move(line));
    }
    return labels;
}

ClassLabels ClassLabels::builtin_for(std::size_t class_count) {
    ClassLabels labels;
    if (class_count == imagenet_labels().size())
        for (std::string_view name : imagenet_labels()) labels.names_.emplace_back(name);
    return labels;
}

std::string ClassLabels::name(int64_t index) const {
    if (index >= 0 && std::size_t(index) < names_.size() && !names_[index].empty()) return names_[index];
    return fmt::format("class {}", index);
}

std::vector<Prediction> top_k(std::span<const double> probabilities, std::size_t k, const ClassLabels& labels) {
    std::vector<int64_t> order(probabilities.size());
    std::iota(order.begin(), order.end(), 0);
    k = std::min(k, order.size());
    // NaN (a model that overflowed) ranks last, so the order stays a strict weak ordering.
    auto key = [&](int64_t i) { return std::isnan(probabilities[i]) ? -1.0 : probabilities[i]; };
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                      [&](int64_t a, int64_t b) { return key(a) != key(b) ? key(a) > key(b) : a < b; });
    std::vector<Prediction> top;
    for (std::size_t rank = 0; rank < k; ++rank)
        top.push_back({order[rank], labels.name(order[rank]), probabilities[order[rank]]});
    return top;
}

}  // namespace mobileone
