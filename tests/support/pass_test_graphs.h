#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/pass.h"
#include "ir/graph.h"

// Hand-made graphs for pass tests, and a double-precision reference evaluator to check a rewrite kept the numbers.
namespace mobileone::pass_test {

struct ConvOptions {
    std::vector<int64_t> pads = {};       // empty: attribute absent (zeros)
    std::vector<int64_t> strides = {};    // empty: attribute absent (ones)
    std::vector<int64_t> dilations = {};  // empty: attribute absent (ones)
    int64_t group = 1;
};

struct BatchnormParams {
    std::vector<float> gamma, beta, mean, variance;
    float epsilon = 1e-5f;
};

// Builds a float model node by node. Every helper returns the name of the value it produced; weights and
// parameters become initializers named after the node.
class GraphBuilder {
public:
    explicit GraphBuilder(int64_t opset = 13);

    std::string input(const std::string& name, std::vector<int64_t> shape);
    std::string constant(const std::string& name, Tensor value);
    std::string conv(const std::string& name, const std::string& x, Tensor weight, std::optional<Tensor> bias,
                     const ConvOptions& options = {});
    std::string batchnorm(const std::string& name, const std::string& x, const BatchnormParams& params);
    std::string add(const std::string& name, const std::string& a, const std::string& b);
    std::string relu(const std::string& name, const std::string& x);
    void output(const std::string& name);  // typed and shaped by ONNX shape inference

    Node& node(const std::string& name);
    Model& model() { return model_; }

private:
    Model model_;
};

Tensor float_tensor(std::vector<int64_t> dims, const std::vector<float>& values);
// Deterministic values in [-1, 1).
Tensor random_tensor(std::vector<int64_t> dims, uint32_t seed);

// A tensor's values as doubles, row-major, with its dims.
struct Values {
    std::vector<int64_t> dims;
    std::vector<double> data;
};

Values values_of(const Tensor& tensor);

// Direct N-d convolution of NCHW-style `x` by `weight` [O, C/group, k...], as the ONNX Conv spec defines it.
Values reference_conv(const Values& x, const Values& weight, const std::optional<Values>& bias,
                      const std::vector<int64_t>& strides, const std::vector<int64_t>& pads,
                      const std::vector<int64_t>& dilations, int64_t group);

// Evaluates `model`'s outputs from `inputs`. Knows Conv (explicit pads only), BatchNormalization (inference), Add
// (with broadcasting) and Relu; anything else fails the calling test.
std::map<std::string, Values> evaluate(const Model& model, const std::map<std::string, Values>& inputs);

// Random values for every graph input (their shapes must be static).
std::map<std::string, Values> random_inputs(const Model& model, uint32_t seed);

// The largest |a − b| over matching outputs of the two models on the same inputs (outputs must match in shape).
double max_output_difference(const Model& a, const Model& b, const std::map<std::string, Values>& inputs);

// Pieces for tests that write nodes and values by hand.
Dim fixed(int64_t extent);
Dim symbol(const std::string& name);
ValueInfo float_value(const std::string& name, std::vector<Dim> dims);

// A node named "<op>_<first output>", the name tests refer to it by.
Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
               std::map<std::string, Attribute> attributes = {});

// A model at `opset` whose `nodes` compute the float `outputs` from the float input "x"; every one of them has `dims`.
Model model_with(int64_t opset, std::vector<Node> nodes, const std::vector<std::string>& outputs,
                 const std::vector<Dim>& dims);

// The values of `model`'s float initializer of that name.
std::vector<float> floats_of(const Model& model, const std::string& initializer);

// Runs the registered pass `name` once; its change count.
int run_pass(const std::string& name, Model& model, PassLog& log);
int run_pass(const std::string& name, Model& model);

// The ops of `model`'s nodes in order, e.g. {"Conv", "Relu"}.
std::vector<std::string> op_types(const Model& model);

}  // namespace mobileone::pass_test
