#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "ir/error.h"
#include "ir/onnx_io.h"
#include "models/mobileone.h"

// Exit codes: 0 written, 1 bad arguments or the model could not be written.
int main(int argc, char** argv) {
    using namespace mobileone;
    CLI::App app{"Write a MobileOne train graph with seeded random weights, as torch.onnx.export would."};
    std::string variant_name, output_path, style_name = "prefused";
    uint64_t seed = 0;
    int opset = 13;
    int64_t batch = 1;
    app.add_option("variant", variant_name, "s0, s1, s2, s3 or s4")->required();
    app.add_option("output", output_path, "ONNX file to write")->required();
    app.add_option("--style", style_name,
                   "prefused: BN already folded into each branch conv (eval export); bn: BatchNormalization kept")
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of the random weights")->capture_default_str();
    app.add_option("--opset", opset, "ONNX opset, 11 to 17")->capture_default_str();
    app.add_option("--batch", batch, "batch size of the input, as exported from a batch of that size")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        int code = app.exit(error);
        return code == 0 ? 0 : 1;
    }

    try {
        Model model =
            build_mobileone(parse_mobileone_variant(variant_name), parse_export_style(style_name), seed, opset, batch);
        save_model(model, output_path);
        return 0;
    } catch (const Error& error) {
        fmt::print(stderr, "mobileone-example: {}\n", error.what());
        return 1;
    }
}
