#include <iostream>

#include <CLI/CLI.hpp>

#include "app/run_app.h"

// Exit codes: 0 every image ran, 1 an image, the model or an input failed, 2 usage error.
int main(int argc, char** argv) {
    using namespace mobileone;
    CLI::App app{"Classify images (or run tensors) with a MobileOne ONNX model on the mobileone runtime."};
    RunOptions options;
    std::string precision = "f32", labels, save_outputs;
    bool no_optimize = false;
    std::optional<std::vector<float>> mean, std;
    app.add_option("model", options.model, "ONNX model")->required();
    app.add_option("images", options.images, "JPEG or PNG images to classify");
    app.add_option("--top-k", options.top_k, "classes to print per image")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--labels", labels, "class names, one per line (default: ImageNet names for 1000 classes)");
    app.add_option("--threads", options.threads, "runtime threads (0: all hardware threads)")
        ->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_flag("--json", options.json, "print the results as JSON (schemas/run-output.schema.json)");
    app.add_option("--bench", options.bench_runs,
                   "time N runs of the first image (or the inputs) after a warm-up; also prints startup times")
        ->check(CLI::PositiveNumber);
    app.add_flag("--profile", options.profile, "print startup and per-node times, slowest first");
    app.add_flag("--no-optimize", no_optimize,
                 "run the graph exactly as written; by default it is first reparameterized in memory with "
                 "mobileone-convert's passes (BN folding, branch merging), falling back to the graph as written with "
                 "a warning when they refuse it");
    app.add_option("--input", options.inputs, "NAME=FILE (.npy or TensorProto .pb) to feed instead of images");
    app.add_option("--save-outputs", save_outputs, "write each output to DIR/<output name>.npy");
    app.add_option("--precision", precision, "compute in float32 or float64")
        ->capture_default_str()->check(CLI::IsMember({"f32", "f64"}));
    app.add_option("--resize", options.preprocessing.resize, "shorter image side after resizing (default crop*256/224)")
        ->check(CLI::PositiveNumber);
    app.add_option("--crop", options.preprocessing.crop, "centre crop size (default: the model input's H, W, or 224)")
        ->check(CLI::PositiveNumber);
    app.add_option("--mean", mean, "per-channel mean R G B (default ImageNet's)")->expected(3);
    app.add_option("--std", std, "per-channel std R G B (default ImageNet's)")->expected(3)->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        int code = app.exit(error);
        return code == 0 ? 0 : 2;
    }

    options.optimize = !no_optimize;
    if (!labels.empty()) options.labels = labels;
    if (!save_outputs.empty()) options.save_outputs = save_outputs;
    options.precision = precision == "f64" ? DataType::Double : DataType::Float;
    if (mean) options.preprocessing.mean = std::array<float, 3>{(*mean)[0], (*mean)[1], (*mean)[2]};
    if (std) options.preprocessing.std = std::array<float, 3>{(*std)[0], (*std)[1], (*std)[2]};
    return run_classifier(options, std::cout, std::cerr);
}
