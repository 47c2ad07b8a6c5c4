#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "verify/verify.h"

// Exit codes: 0 equivalent, 1 not equivalent, 2 bad input or usage.
int main(int argc, char** argv) {
    using namespace mobileone;
    CLI::App app{"Check that a converted MobileOne model computes what its train graph computes."};
    std::string reference_path, candidate_path, precision = "f32";
    std::vector<std::string> images;
    bool json = false;
    VerifyOptions options;
    app.add_option("reference", reference_path, "train-time ONNX model (the reference)")->required();
    app.add_option("candidate", candidate_path, "converted ONNX model to check")->required();
    app.add_option("--samples", options.samples, "seeded standard-normal inputs to run")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--seed", options.seed, "seed of the random inputs")->capture_default_str();
    app.add_option("--images", images, "image files or directories (every .jpg/.jpeg/.png inside) to run as well");
    app.add_option("--rtol", options.tolerance.rtol, "relative tolerance, scaled by max|reference| of each output")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--atol", options.tolerance.atol, "absolute tolerance")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--precision", precision, "f64 also runs the reference in float64 as ground truth")
        ->capture_default_str()->check(CLI::IsMember({"f32", "f64"}));
    app.add_flag("--layerwise", options.layerwise, "compare same-named intermediate tensors; report the first divergence");
    app.add_flag("--json", json, "print the report as JSON (schemas/verify-report.schema.json)");
    app.add_option("--threads", options.threads, "runtime threads (0: all hardware threads)")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        int code = app.exit(error);
        return code == 0 ? 0 : 2;
    }

    try {
        options.images.assign(images.begin(), images.end());
        options.float64_reference = precision == "f64";
        options.reference_source = reference_path;
        options.candidate_source = candidate_path;
        Model reference = load_model(reference_path);
        Model candidate = load_model(candidate_path);
        VerifyReport report = verify_models(reference, candidate, options);
        if (json) fmt::print("{}\n", report_to_json(report).dump(2));
        else fmt::print("{}", format_summary(report));
        return report.equivalent ? 0 : 1;
    } catch (const Error& error) {
        fmt::print(stderr, "mobileone-verify: {}\n", error.what());
        return 2;
    }
}
