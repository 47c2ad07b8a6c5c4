#include "app/run_app.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "app/model_to_run.h"
#include "app/run_report.h"
#include "image/decode.h"
#include "io/npy.h"
#include "ir/error.h"
#include "runtime/session.h"

namespace mobileone {

namespace {

using Inputs = std::map<std::string, Tensor>;

// A classifier's first output holds logits unless the graph already ends in Softmax.
struct OutputReader {
    std::string name;
    bool holds_probabilities = false;
    std::size_t ranks = 5;
    std::optional<ClassLabels> labels;  // the built-in ones are chosen once the class count is known

    OutputReader(const Graph& graph, const RunOptions& options) : ranks(options.top_k) {
        if (options.labels) labels = ClassLabels::from_file(*options.labels);
        if (graph.outputs.empty()) fail("{}: the model has no outputs", options.model);
        name = graph.outputs.front().name;
        std::optional<std::size_t> producer = GraphIndex(graph).producer(name);
        holds_probabilities = producer && graph.nodes[*producer].op_type == "Softmax";
    }

    // One ranking per batch item: axis 0 is the batch when the output has rank 2 or more.
    std::vector<std::vector<Prediction>> classify(const runtime::RunResult& result) {
        const Tensor& output = result.outputs.at(name);
        std::vector<double> values = output.to_doubles();
        const std::size_t batch = output.rank() >= 2 ? std::size_t(output.dim(0)) : 1;
        const std::size_t classes = batch ? values.size() / batch : 0;
        if (!labels) labels = ClassLabels::builtin_for(classes);
        std::vector<std::vector<Prediction>> rankings;
        for (std::size_t item = 0; item < batch; ++item) {
            std::span<const double> scores(values.data() + item * classes, classes);
            std::vector<double> probabilities = holds_probabilities ? std::vector<double>(scores.begin(), scores.end())
                                                                    : softmax(scores);
            rankings.push_back(top_k(probabilities, ranks, *labels));
        }
        return rankings;
    }
};

// Output names become file names; anything but [A-Za-z0-9._-] (exporters like "/fc/Gemm_output_0") becomes '_'.
std::string file_name_for(const std::string& output) {
    std::string name = output;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
    return name + ".npy";
}

void save_outputs(const runtime::RunResult& result, const std::filesystem::path& directory) {
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) fail("{}: cannot create the directory ({})", directory.string(), error.message());
    for (const auto& [name, tensor] : result.outputs) save_npy(tensor, directory / file_name_for(name));
}

std::string describe_inputs(const std::vector<std::string>& specs) {
    std::string joined;
    for (const std::string& spec : specs) joined += (joined.empty() ? "" : " ") + spec;
    return joined;
}

// One warm-up run, then `runs` timed ones; the profile averages the timed runs.
RunMeasurements benchmark(runtime::Session& session, const Inputs& inputs, int runs) {
    session.run(inputs);
    std::vector<double> milliseconds;
    std::vector<std::vector<runtime::NodeProfile>> profiles;
    for (int i = 0; i < runs; ++i) {
        auto start = std::chrono::steady_clock::now();
        runtime::RunResult result = session.run(inputs);
        milliseconds.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        if (!result.profile.empty()) profiles.push_back(std::move(result.profile));
    }
    return {{}, summarize_latencies(milliseconds), profile_rows(profiles), session.peak_activation_bytes()};
}

}  // namespace

int run_classifier(const RunOptions& options, std::ostream& out, std::ostream& err) {
    auto report_error = [&](const std::string& message) { err << "mobileone-run: " << message << "\n"; };
    try {
        if (!options.images.empty() && !options.inputs.empty())
            fail("give image files or --input NAME=FILE tensors, not both");
        if (options.save_outputs && options.images.size() > 1)
            fail("--save-outputs saves the outputs of one run: give one image or --input tensors");
        ModelToRun loaded = load_model_to_run(options.model);
        const bool no_inputs_given = options.images.empty() && options.inputs.empty();
        if (no_inputs_given && !loaded.model.graph.inputs.empty())
            fail("give image files or --input NAME=FILE tensors (one of the two)");
        if (options.optimize) optimize_model_to_run(loaded, options.model);
        runtime::SessionOptions session_options;
        session_options.precision = options.precision;
        session_options.threads = options.threads;
        session_options.profile = options.profile;
        runtime::Session session(std::move(loaded.model), session_options);  // one copy of the weights
        const Graph& graph = session.graph();
        OutputReader reader(graph, options);
        // Not before the runtime accepted the model: one it cannot run either gets just the error that says so.
        if (!loaded.not_optimized_because.empty())
            err << "mobileone-run: warning: " << options.model << ": cannot optimize (" << loaded.not_optimized_because
                << "); running the graph as written\n";

        std::vector<ClassifiedInput> results;
        std::optional<Inputs> timed_inputs;  // the first inputs that ran: --bench and --profile reuse them
        std::vector<runtime::NodeProfile> first_profile;
        bool planned = false;  // the plan compiled for the first inputs is timed on its own
        auto run_and_classify = [&](const Inputs& inputs, const std::string& source) {
            if (!planned) {
                auto start = std::chrono::steady_clock::now();
                session.prepare(inputs);
                loaded.startup.plan_ms =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
                planned = true;
            }
            runtime::RunResult result = session.run(inputs);
            if (options.save_outputs) save_outputs(result, *options.save_outputs);
            std::vector<std::vector<Prediction>> rankings = reader.classify(result);
            for (std::size_t item = 0; item < rankings.size(); ++item) {
                std::string name = rankings.size() == 1 ? source : fmt::format("{}[{}]", source, item);
                results.push_back({name, std::move(rankings[item]), {}});
            }
            if (!timed_inputs) {
                timed_inputs = inputs;
                first_profile = std::move(result.profile);
            }
        };

        if (!options.inputs.empty()) {
            run_and_classify(load_named_inputs(options.inputs), describe_inputs(options.inputs));
        } else if (no_inputs_given) {
            run_and_classify({}, "(no inputs)");  // the model computes its outputs from constants alone
        } else {
            const ValueInfo& input = image_input(graph, options.model);
            const PreprocessOptions preprocessing = preprocessing_for(input, options.preprocessing);
            for (const std::string& image_path : options.images) {
                try {
                    Tensor tensor = image_tensor(load_image(image_path), input, preprocessing);
                    try {
                        run_and_classify({{input.name, std::move(tensor)}}, image_path);
                    } catch (const Error& error) {
                        fail("{}: {}", image_path, error.what());
                    }
                } catch (const Error& error) {
                    report_error(error.what());
                    results.push_back({image_path, {}, error.what()});
                }
            }
        }

        RunMeasurements measurements;
        if (timed_inputs && options.bench_runs > 0) {
            measurements = benchmark(session, *timed_inputs, options.bench_runs);
        } else if (timed_inputs && options.profile) {
            measurements.profile = profile_rows({first_profile});
            measurements.peak_activation_bytes = session.peak_activation_bytes();
        }
        if (timed_inputs && (options.bench_runs > 0 || options.profile)) measurements.startup = loaded.startup;

        if (options.json) {
            out << run_output_json(options.model, loaded.optimized, results, measurements).dump(2) << "\n";
        } else {
            for (const ClassifiedInput& result : results)
                if (result.error.empty()) out << format_predictions(result);
            out << format_measurements(measurements);
        }
        const bool all_ran = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.error.empty(); });
        return all_ran ? 0 : 1;
    } catch (const Error& error) {
        report_error(error.what());
        return 1;
    }
}

}  // namespace mobileone
