#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/tensor.h"

namespace mobileone {

// |candidate - reference| may reach atol + rtol * max|reference|, the largest magnitude of the reference tensor over
// all samples: scaling by the tensor's own range (not elementwise) keeps near-zero elements from demanding exactness.
struct Tolerance {
    double rtol = 0;
    double atol = 0;
    double bound(double max_abs_reference) const { return atol + rtol * max_abs_reference; }
};

// Top-k agreement of class scores: a tensor of shape [batch, classes] or [batch, classes, 1, 1] with >= 5 classes.
struct ClassAgreement {
    int classes = 0;
    int predictions = 0;        // samples x batch items
    int top1_matches = 0;
    int top5_matches = 0;       // the same set of five classes, in any order
    int decisive_top1_mismatches = 0;  // top-1 differs although the reference's top-1 margin exceeds the tolerance
    double top1_rate() const { return predictions ? static_cast<double>(top1_matches) / predictions : 1.0; }
    double top5_rate() const { return predictions ? static_cast<double>(top5_matches) / predictions : 1.0; }
};

// How far a candidate tensor is from a reference tensor over all samples. Infinite or NaN differences stay
// non-finite here (and fail); the JSON report writes them as null.
struct Comparison {
    std::string name;
    std::vector<int64_t> shape;  // of one sample
    int samples = 0;
    double max_abs_reference = 0;
    double max_abs_diff = 0;
    double max_rel_diff = 0;       // max_abs_diff / max_abs_reference
    double mean_abs_diff = 0;
    double cosine_similarity = 1;  // the lowest over samples, each sample's tensor taken as one vector
    int worst_sample = 0;          // where max_abs_diff occurs
    int64_t worst_element = 0;     // flat index within that sample
    double tolerance = 0;          // Tolerance::bound(max_abs_reference)
    std::optional<ClassAgreement> classes;
    // max_abs_diff <= tolerance, and no decisive top-1 mismatch.
    bool pass = false;
};

// True for class scores: [batch, classes] or [batch, classes, 1, ...] with at least five classes.
bool is_class_scores(const std::vector<int64_t>& shape);

// Accumulates one Comparison sample by sample, so no sample's tensors need to outlive its run.
class ComparisonBuilder {
public:
    ComparisonBuilder(std::string name, bool with_class_agreement);
    // Both tensors must have the same shape (any numeric type); fails naming the tensor otherwise.
    void add(const Tensor& reference, const Tensor& candidate);
    Comparison finish(const Tolerance& tolerance) const;

private:
    struct Prediction {
        bool top1_match = false;
        bool top5_match = false;
        double reference_margin = 0;  // reference's best class score minus its second best
    };

    Comparison partial_;
    bool with_class_agreement_;
    double sum_abs_diff_ = 0;
    int64_t element_count_ = 0;
    std::vector<Prediction> predictions_;
};

}  // namespace mobileone
