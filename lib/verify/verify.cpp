#include "verify/verify.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>

#include "app/model_input.h"
#include "image/decode.h"
#include "ir/error.h"
#include "runtime/session.h"
#include "verify/random_inputs.h"

namespace mobileone {
namespace {

using runtime::RunResult;
using runtime::Session;
using runtime::SessionOptions;
using Sample = std::map<std::string, Tensor>;

std::string names_of(const std::vector<ValueInfo>& values) {
    std::string names;
    for (const ValueInfo& value : values) names += (names.empty() ? "'" : ", '") + value.name + "'";
    return names.empty() ? "none" : names;
}

const ValueInfo* find_value(const std::vector<ValueInfo>& values, const std::string& name) {
    auto it = std::find_if(values.begin(), values.end(), [&](const ValueInfo& value) { return value.name == name; });
    return it == values.end() ? nullptr : &*it;
}

// The concrete shape one sample feeds to `input`: a symbolic or unknown batch dimension becomes 1.
std::vector<int64_t> sample_shape(const ValueInfo& input, const std::string& source) {
    if (!input.shape) fail("{}: input '{}' has no declared shape", source, input.name);
    std::vector<int64_t> dims;
    for (std::size_t axis = 0; axis < input.shape->size(); ++axis) {
        const Dim& dim = (*input.shape)[axis];
        if (dim.is_static()) dims.push_back(*dim.value);
        else if (axis == 0) dims.push_back(1);
        else fail("{}: input '{}' has a non-static dimension {} ('{}'); verify needs a fixed shape", source,
                  input.name, axis, dim.symbol);
    }
    return dims;
}

std::string describe(const ValueInfo& value, const std::vector<int64_t>& dims) {
    return fmt::format("{} {}", to_string(value.dtype), shape_to_string(dims));
}

// The models must take the same inputs (name, type, sample shape) and give the same outputs (names).
void check_interfaces(const Graph& reference, const Graph& candidate, const VerifyOptions& options) {
    const std::string& ref_source = options.reference_source;
    const std::string& cand_source = options.candidate_source;
    if (reference.inputs.size() != candidate.inputs.size())
        fail("{} has inputs {} but {} has inputs {}", ref_source, names_of(reference.inputs), cand_source,
             names_of(candidate.inputs));
    for (const ValueInfo& input : reference.inputs) {
        const ValueInfo* other = find_value(candidate.inputs, input.name);
        if (!other)
            fail("input '{}' of {} is missing from {} (its inputs: {})", input.name, ref_source, cand_source,
                 names_of(candidate.inputs));
        if (input.dtype != DataType::Float)
            fail("{}: input '{}' is {}; verify feeds float32 inputs only", ref_source, input.name,
                 to_string(input.dtype));
        std::vector<int64_t> ref_dims = sample_shape(input, ref_source), cand_dims = sample_shape(*other, cand_source);
        if (input.dtype != other->dtype || ref_dims != cand_dims)
            fail("input '{}' is {} in {} but {} in {}", input.name, describe(input, ref_dims), ref_source,
                 describe(*other, cand_dims), cand_source);
    }
    for (const ValueInfo& output : reference.outputs)
        if (!find_value(candidate.outputs, output.name))
            fail("output '{}' of {} is missing from {} (its outputs: {})", output.name, ref_source, cand_source,
                 names_of(candidate.outputs));
    for (const ValueInfo& output : candidate.outputs)
        if (!find_value(reference.outputs, output.name))
            fail("output '{}' of {} is missing from {} (its outputs: {})", output.name, cand_source, ref_source,
                 names_of(reference.outputs));
}

bool is_image_file(const std::filesystem::path& path) {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
    return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

Session open_session(const Model& model, const SessionOptions& options, const std::string& source) {
    try {
        return Session(model, options);
    } catch (const Error& error) {
        fail("{}: {}", source, error.what());
    }
}

RunResult run_session(Session& session, const Sample& sample, const std::string& source) {
    try {
        return session.run(sample);
    } catch (const Error& error) {
        fail("{}: {}", source, error.what());
    }
}

const Tensor& value_of(const RunResult& result, const std::string& name, const std::string& source) {
    auto it = result.outputs.find(name);
    if (it == result.outputs.end()) fail("{}: the runtime returned no value for '{}'", source, name);
    return it->second;
}

std::vector<Comparison> finish_all(const std::vector<ComparisonBuilder>& builders, const Tolerance& tolerance) {
    std::vector<Comparison> comparisons;
    for (const ComparisonBuilder& builder : builders) comparisons.push_back(builder.finish(tolerance));
    return comparisons;
}

// Compares every matched tensor sample by sample; a same-named tensor of another shape is set aside, not compared.
class LayerwiseComparer {
public:
    LayerwiseComparer(const Graph& reference, const Graph& candidate) {
        for (MatchedTensor& match : match_tensors(reference, candidate)) {
            if (!reference.is_output(match.name)) reference_keep_.push_back(match.name);
            if (!candidate.is_output(match.name)) candidate_keep_.push_back(match.name);
            builders_.emplace_back(match.name, false);
            matches_.push_back(std::move(match));
        }
        compared_.assign(matches_.size(), true);
    }
    const std::vector<std::string>& reference_keep() const { return reference_keep_; }
    const std::vector<std::string>& candidate_keep() const { return candidate_keep_; }

    void add(const RunResult& reference, const RunResult& candidate, const VerifyOptions& options) {
        for (std::size_t i = 0; i < matches_.size(); ++i) {
            if (!compared_[i]) continue;
            const Tensor& want = value_of(reference, matches_[i].name, options.reference_source);
            const Tensor& got = value_of(candidate, matches_[i].name, options.candidate_source);
            if (want.dims() == got.dims()) builders_[i].add(want, got);
            else compared_[i] = false;
        }
    }

    LayerwiseReport finish(const Tolerance& tolerance) const {
        LayerwiseReport report;
        for (std::size_t i = 0; i < matches_.size(); ++i) {
            if (!compared_[i]) {
                report.shape_mismatches.push_back(matches_[i].name);
                continue;
            }
            report.tensors.push_back({matches_[i], builders_[i].finish(tolerance)});
            if (!report.first_divergence && !report.tensors.back().comparison.pass)
                report.first_divergence = report.tensors.size() - 1;
        }
        return report;
    }

private:
    std::vector<MatchedTensor> matches_;
    std::vector<ComparisonBuilder> builders_;
    std::vector<bool> compared_;
    std::vector<std::string> reference_keep_, candidate_keep_;
};

// Runs every sample through both models (and the float64 reference) and accumulates the comparisons.
class SampleComparer {
public:
    SampleComparer(const Model& reference, const Model& candidate, const VerifyOptions& options)
        : options_(options), output_names_(names_of_outputs(reference.graph)) {
        SessionOptions ref_options{DataType::Float, options.threads, false, {}};
        SessionOptions cand_options = ref_options;
        if (options.layerwise) {
            layers_.emplace(reference.graph, candidate.graph);
            ref_options.keep_values = layers_->reference_keep();
            cand_options.keep_values = layers_->candidate_keep();
        }
        reference_ = open_session(reference, ref_options, options.reference_source);
        candidate_ = open_session(candidate, cand_options, options.candidate_source);
        if (options.float64_reference)
            exact_ = open_session(reference, {DataType::Double, options.threads, false, {}}, exact_source());
        for (const std::string& name : output_names_) {
            outputs_.emplace_back(name, true);
            reference_vs_exact_.emplace_back(name, true);
            candidate_vs_exact_.emplace_back(name, true);
        }
    }

    void compare(const Sample& sample) {
        RunResult want = run_session(*reference_, sample, options_.reference_source);
        RunResult got = run_session(*candidate_, sample, options_.candidate_source);
        std::optional<RunResult> exact;
        if (exact_) exact = run_session(*exact_, sample, exact_source());
        for (std::size_t i = 0; i < output_names_.size(); ++i) {
            const std::string& name = output_names_[i];
            const Tensor& ref_value = value_of(want, name, options_.reference_source);
            const Tensor& cand_value = value_of(got, name, options_.candidate_source);
            if (ref_value.dims() != cand_value.dims())
                fail("output '{}' is {} in {} but {} in {}", name, shape_to_string(ref_value.dims()),
                     options_.reference_source, shape_to_string(cand_value.dims()), options_.candidate_source);
            outputs_[i].add(ref_value, cand_value);
            if (exact) {
                const Tensor& exact_value = value_of(*exact, name, exact_source());
                reference_vs_exact_[i].add(exact_value, ref_value);
                candidate_vs_exact_[i].add(exact_value, cand_value);
            }
        }
        if (layers_) layers_->add(want, got, options_);
    }

    void finish(VerifyReport& report) const {
        const Tolerance& tolerance = options_.tolerance;
        report.outputs = finish_all(outputs_, tolerance);
        if (exact_) {
            report.reference_vs_float64 = finish_all(reference_vs_exact_, tolerance);
            report.candidate_vs_float64 = finish_all(candidate_vs_exact_, tolerance);
        }
        if (layers_) report.layerwise = layers_->finish(tolerance);
        report.equivalent = std::all_of(report.outputs.begin(), report.outputs.end(),
                                        [](const Comparison& comparison) { return comparison.pass; }) &&
                            !(report.layerwise && report.layerwise->first_divergence);
    }

private:
    static std::vector<std::string> names_of_outputs(const Graph& graph) {
        std::vector<std::string> names;
        for (const ValueInfo& output : graph.outputs) names.push_back(output.name);
        return names;
    }
    std::string exact_source() const { return options_.reference_source + " (float64)"; }

    const VerifyOptions& options_;
    std::vector<std::string> output_names_;
    std::optional<Session> reference_, candidate_, exact_;
    std::optional<LayerwiseComparer> layers_;
    std::vector<ComparisonBuilder> outputs_, reference_vs_exact_, candidate_vs_exact_;
};

}  // namespace

std::vector<std::filesystem::path> collect_images(const std::vector<std::filesystem::path>& paths) {
    std::vector<std::filesystem::path> images;
    for (const std::filesystem::path& path : paths) {
        std::error_code error;
        if (!std::filesystem::is_directory(path, error)) {
            if (!std::filesystem::exists(path, error)) fail("{}: no such file or directory", path.string());
            images.push_back(path);
            continue;
        }
        std::vector<std::filesystem::path> found;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
            if (entry.is_regular_file() && is_image_file(entry.path())) found.push_back(entry.path());
        if (found.empty()) fail("{}: directory holds no .jpg, .jpeg or .png image", path.string());
        std::sort(found.begin(), found.end());
        images.insert(images.end(), found.begin(), found.end());
    }
    return images;
}

VerifyReport verify_models(const Model& reference, const Model& candidate, const VerifyOptions& options) {
    auto start = std::chrono::steady_clock::now();
    check_interfaces(reference.graph, candidate.graph, options);
    if (options.samples < 0) fail("the number of random samples must not be negative, got {}", options.samples);
    std::vector<std::filesystem::path> images = collect_images(options.images);
    if (options.samples == 0 && images.empty()) fail("nothing to compare: no random samples and no images");
    const ValueInfo* image_value = images.empty() ? nullptr : &image_input(reference.graph, options.reference_source);

    VerifyReport report;
    report.reference = options.reference_source;
    report.candidate = options.candidate_source;
    report.options = options;
    SampleComparer comparer(reference, candidate, options);
    // Images first: an unreadable one fails before minutes of random samples.
    if (image_value) {
        PreprocessOptions preprocessing = preprocessing_for(*image_value, {});
        for (const std::filesystem::path& image : images) {
            comparer.compare({{image_value->name, image_tensor(load_image(image), *image_value, preprocessing)}});
            report.images.push_back(image.string());
        }
    }
    NormalGenerator generator(options.seed);
    for (int i = 0; i < options.samples; ++i) {
        Sample sample;
        for (const ValueInfo& input : reference.graph.inputs)
            sample[input.name] = random_normal_tensor(sample_shape(input, options.reference_source), generator);
        comparer.compare(sample);
    }
    comparer.finish(report);
    report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace mobileone
