#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "compiler/convert.h"
#include "ir/error.h"
#include "ir/onnx_io.h"
#include "verify/equivalence_gate.h"

int main(int argc, char** argv) {
    using namespace mobileone;
    CLI::App app{"Reparameterize a trained multi-branch MobileOne ONNX graph into its deploy graph."};
    std::string input, output, passes, report_path;
    bool list_passes = false, verbose = false, quiet = false, verify = false;
    int verify_samples = 8;
    app.add_option("input", input, "train-time ONNX model");
    app.add_option("output", output, "deploy ONNX model to write");
    app.add_option("--passes", passes, "comma-separated passes to run instead of the default pipeline");
    app.add_option("--report", report_path, "write the conversion report as JSON to this file");
    app.add_flag("--list-passes", list_passes, "list the available passes and exit");
    app.add_flag("--verify", verify, "check the result is equivalent (as mobileone-verify does) before writing it");
    app.add_option("--verify-samples", verify_samples, "random inputs --verify runs")->check(CLI::PositiveNumber);
    app.add_flag("-v,--verbose", verbose, "also print why each pass left things alone");
    app.add_flag("-q,--quiet", quiet, "print nothing but errors");
    CLI11_PARSE(app, argc, argv);

    if (list_passes) {
        for (const PassInfo* pass : PassRegistry::instance().all())
            fmt::print("{:<28}{}\n", pass->name, pass->description);
        return 0;
    }
    if (input.empty() || output.empty()) {
        fmt::print(stderr, "mobileone-convert: expected INPUT and OUTPUT model paths (see --help)\n");
        return 2;
    }
    try {
        ConvertOptions options;
        if (!passes.empty()) options.passes = CLI::detail::split(passes, ',');
        if (!report_path.empty()) check_writable(report_path);
        std::string verify_summary;
        if (verify) {
            options.before_write = [&](const Model& original, const Model& converted) {
                VerifyOptions verify_options;
                verify_options.samples = verify_samples;
                verify_options.reference_source = input;
                verify_options.candidate_source = output;
                verify_summary = require_equivalent(original, converted, verify_options);
            };
        }
        ConvertReport report = convert_file(input, output, options);
        if (!report_path.empty()) write_file_atomically(report_path, report_to_json(report).dump(2) + "\n");
        if (!quiet) fmt::print("{}{}", format_summary(report, verbose), verify_summary);
    } catch (const Error& error) {
        fmt::print(stderr, "mobileone-convert: {}\n", error.what());
        return 1;
    }
    return 0;
}
