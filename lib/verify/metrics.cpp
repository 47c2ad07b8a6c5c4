#include "verify/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

#include "ir/error.h"

namespace mobileone {
namespace {

constexpr int kTopK = 5;

// Indices of the k largest scores, best first; equal scores rank by lower index.
std::vector<int64_t> top_classes(std::span<const double> scores, int k) {
    std::vector<int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    });
    order.resize(k);
    return order;
}

bool same_set(std::vector<int64_t> a, std::vector<int64_t> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

double cosine(std::span<const double> a, std::span<const double> b) {
    double dot = 0, norm_a = 0, norm_b = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        dot += a[i] * b[i];
        norm_a += a[i] * a[i];
        norm_b += b[i] * b[i];
    }
    if (norm_a == 0 && norm_b == 0) return 1.0;
    if (norm_a == 0 || norm_b == 0) return 0.0;
    return dot / std::sqrt(norm_a * norm_b);
}

}  // namespace

bool is_class_scores(const std::vector<int64_t>& shape) {
    if (shape.size() < 2 || shape[1] < kTopK) return false;
    return std::all_of(shape.begin() + 2, shape.end(), [](int64_t dim) { return dim == 1; });
}

ComparisonBuilder::ComparisonBuilder(std::string name, bool with_class_agreement)
    : with_class_agreement_(with_class_agreement) {
    partial_.name = std::move(name);
}

void ComparisonBuilder::add(const Tensor& reference, const Tensor& candidate) {
    if (reference.dims() != candidate.dims())
        fail("'{}' has shape {} in the reference but {} in the candidate", partial_.name,
             shape_to_string(reference.dims()), shape_to_string(candidate.dims()));
    if (partial_.samples == 0) partial_.shape = reference.dims();
    else if (reference.dims() != partial_.shape)
        fail("'{}' changed shape between samples: {} then {}", partial_.name, shape_to_string(partial_.shape),
             shape_to_string(reference.dims()));

    std::vector<double> expected = reference.to_doubles();
    std::vector<double> actual = candidate.to_doubles();
    for (std::size_t i = 0; i < expected.size(); ++i) {
        double diff = std::abs(actual[i] - expected[i]);
        if (std::isnan(diff)) diff = std::numeric_limits<double>::infinity();
        partial_.max_abs_reference = std::max(partial_.max_abs_reference, std::abs(expected[i]));
        if (diff > partial_.max_abs_diff) {
            partial_.max_abs_diff = diff;
            partial_.worst_sample = partial_.samples;
            partial_.worst_element = static_cast<int64_t>(i);
        }
        sum_abs_diff_ += diff;
    }
    element_count_ += static_cast<int64_t>(expected.size());
    double similarity = cosine(expected, actual);
    if (std::isnan(similarity) || similarity < partial_.cosine_similarity) partial_.cosine_similarity = similarity;

    if (with_class_agreement_ && is_class_scores(reference.dims())) {
        int64_t batch = reference.dim(0), classes = reference.dim(1);
        for (int64_t item = 0; item < batch; ++item) {
            std::span<const double> want(expected.data() + item * classes, classes);
            std::span<const double> got(actual.data() + item * classes, classes);
            std::vector<int64_t> want_top = top_classes(want, kTopK), got_top = top_classes(got, kTopK);
            predictions_.push_back({want_top[0] == got_top[0], same_set(want_top, got_top),
                                    want[want_top[0]] - want[want_top[1]]});
        }
    }
    ++partial_.samples;
}

Comparison ComparisonBuilder::finish(const Tolerance& tolerance) const {
    Comparison result = partial_;
    result.mean_abs_diff = element_count_ ? sum_abs_diff_ / static_cast<double>(element_count_) : 0.0;
    if (result.max_abs_reference > 0) result.max_rel_diff = result.max_abs_diff / result.max_abs_reference;
    else result.max_rel_diff = result.max_abs_diff == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    result.tolerance = tolerance.bound(result.max_abs_reference);
    if (with_class_agreement_ && is_class_scores(result.shape)) {
        ClassAgreement agreement;
        agreement.classes = static_cast<int>(result.shape[1]);
        for (const Prediction& prediction : predictions_) {
            ++agreement.predictions;
            agreement.top1_matches += prediction.top1_match;
            agreement.top5_matches += prediction.top5_match;
            if (!prediction.top1_match && prediction.reference_margin > result.tolerance)
                ++agreement.decisive_top1_mismatches;
        }
        result.classes = agreement;
    }
    result.pass = result.max_abs_diff <= result.tolerance &&
                  (!result.classes || result.classes->decisive_top1_mismatches == 0);
    return result;
}

}  // namespace mobileone
