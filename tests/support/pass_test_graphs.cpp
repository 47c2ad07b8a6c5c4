#include "support/pass_test_graphs.h"

#include <algorithm>
#include <cmath>

#include "ir/error.h"
#include "ir/onnx_io.h"

namespace mobileone::pass_test {
namespace {

std::vector<int64_t> unravel(int64_t flat, const std::vector<int64_t>& dims) {
    std::vector<int64_t> coordinates(dims.size());
    for (std::size_t axis = dims.size(); axis-- > 0;) {
        coordinates[axis] = flat % dims[axis];
        flat /= dims[axis];
    }
    return coordinates;
}

int64_t ravel(const std::vector<int64_t>& coordinates, const std::vector<int64_t>& dims) {
    int64_t flat = 0;
    for (std::size_t axis = 0; axis < dims.size(); ++axis) flat = flat * dims[axis] + coordinates[axis];
    return flat;
}

Values broadcast_add(const Values& a, const Values& b) {
    std::size_t rank = std::max(a.dims.size(), b.dims.size());
    auto aligned = [&](const std::vector<int64_t>& dims) {
        std::vector<int64_t> padded(rank - dims.size(), 1);
        padded.insert(padded.end(), dims.begin(), dims.end());
        return padded;
    };
    std::vector<int64_t> a_dims = aligned(a.dims), b_dims = aligned(b.dims);
    Values sum;
    for (std::size_t axis = 0; axis < rank; ++axis) {
        if (a_dims[axis] != b_dims[axis] && a_dims[axis] != 1 && b_dims[axis] != 1)
            fail("Add of shapes {} and {} does not broadcast", shape_to_string(a.dims), shape_to_string(b.dims));
        sum.dims.push_back(std::max(a_dims[axis], b_dims[axis]));
    }
    sum.data.resize(static_cast<std::size_t>(element_count(sum.dims)));
    for (std::size_t flat = 0; flat < sum.data.size(); ++flat) {
        std::vector<int64_t> at = unravel(static_cast<int64_t>(flat), sum.dims);
        std::vector<int64_t> at_a(rank), at_b(rank);
        for (std::size_t axis = 0; axis < rank; ++axis) {
            at_a[axis] = a_dims[axis] == 1 ? 0 : at[axis];
            at_b[axis] = b_dims[axis] == 1 ? 0 : at[axis];
        }
        sum.data[flat] = a.data[static_cast<std::size_t>(ravel(at_a, a_dims))] +
                         b.data[static_cast<std::size_t>(ravel(at_b, b_dims))];
    }
    return sum;
}

Values batchnorm(const Node& node, const std::vector<const Values*>& in) {
    const Values& x = *in[0];
    double epsilon = node.attribute_float("epsilon", 1e-5f);
    int64_t channels = x.dims[1];
    int64_t inner = element_count(std::vector<int64_t>(x.dims.begin() + 2, x.dims.end()));
    Values y = x;
    for (std::size_t i = 0; i < y.data.size(); ++i) {
        auto c = static_cast<std::size_t>((static_cast<int64_t>(i) / inner) % channels);
        double scale = in[1]->data[c] / std::sqrt(in[4]->data[c] + epsilon);
        y.data[i] = scale * (x.data[i] - in[3]->data[c]) + in[2]->data[c];
    }
    return y;
}

Values conv(const Node& node, const std::vector<const Values*>& in) {
    std::string auto_pad = node.attribute_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET")
        fail("the reference Conv only knows explicit pads, node {} has auto_pad={}", node.label(), auto_pad);
    std::size_t rank = in[1]->dims.size() - 2;
    std::optional<Values> bias;
    if (in.size() > 2 && in[2]) bias = *in[2];
    return reference_conv(*in[0], *in[1], bias, node.attribute_ints("strides", std::vector<int64_t>(rank, 1)),
                          node.attribute_ints("pads", std::vector<int64_t>(2 * rank, 0)),
                          node.attribute_ints("dilations", std::vector<int64_t>(rank, 1)),
                          node.attribute_int("group", 1));
}

uint32_t next_random(uint32_t& state) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

}  // namespace

GraphBuilder::GraphBuilder(int64_t opset) {
    model_.ir_version = 8;
    model_.opset_imports = {{"", opset}};
    model_.graph.name = "pass_test";
}

std::string GraphBuilder::input(const std::string& name, std::vector<int64_t> shape) {
    std::vector<Dim> dims;
    for (int64_t dim : shape) dims.push_back(Dim{dim, {}});
    model_.graph.inputs.push_back({name, DataType::Float, dims, {}});
    return name;
}

std::string GraphBuilder::constant(const std::string& name, Tensor value) {
    model_.graph.initializers[name] = std::move(value);
    return name;
}

std::string GraphBuilder::conv(const std::string& name, const std::string& x, Tensor weight, std::optional<Tensor> bias,
                               const ConvOptions& options) {
    Node node{name, "Conv", "", {x, constant(name + ".weight", std::move(weight))}, {name + "_out"}, {}, {}};
    if (bias) node.inputs.push_back(constant(name + ".bias", std::move(*bias)));
    if (!options.pads.empty()) node.attributes["pads"] = options.pads;
    if (!options.strides.empty()) node.attributes["strides"] = options.strides;
    if (!options.dilations.empty()) node.attributes["dilations"] = options.dilations;
    if (options.group != 1) node.attributes["group"] = options.group;
    model_.graph.nodes.push_back(std::move(node));
    return name + "_out";
}

std::string GraphBuilder::batchnorm(const std::string& name, const std::string& x, const BatchnormParams& params) {
    auto parameter = [&](const char* what, const std::vector<float>& values) {
        return constant(name + "." + what, float_tensor({static_cast<int64_t>(values.size())}, values));
    };
    Node node{name,
              "BatchNormalization",
              "",
              {x, parameter("gamma", params.gamma), parameter("beta", params.beta), parameter("mean", params.mean),
               parameter("var", params.variance)},
              {name + "_out"},
              {},
              {}};
    node.attributes["epsilon"] = params.epsilon;
    model_.graph.nodes.push_back(std::move(node));
    return name + "_out";
}

std::string GraphBuilder::add(const std::string& name, const std::string& a, const std::string& b) {
    model_.graph.nodes.push_back(Node{name, "Add", "", {a, b}, {name + "_out"}, {}, {}});
    return name + "_out";
}

std::string GraphBuilder::relu(const std::string& name, const std::string& x) {
    model_.graph.nodes.push_back(Node{name, "Relu", "", {x}, {name + "_out"}, {}, {}});
    return name + "_out";
}

void GraphBuilder::output(const std::string& name) {
    std::map<std::string, ValueInfo> inferred = infer_shapes(model_);
    auto it = inferred.find(name);
    if (it == inferred.end()) fail("shape inference does not know '{}'", name);
    model_.graph.outputs.push_back(it->second);
}

Node& GraphBuilder::node(const std::string& name) {
    for (Node& node : model_.graph.nodes)
        if (node.name == name) return node;
    fail("no node named '{}'", name);
}

Tensor float_tensor(std::vector<int64_t> dims, const std::vector<float>& values) {
    return Tensor::from_values<float>(std::move(dims), values);
}

Tensor random_tensor(std::vector<int64_t> dims, uint32_t seed) {
    uint32_t state = seed * 2654435761u + 1;
    std::vector<float> values(static_cast<std::size_t>(element_count(dims)));
    for (float& value : values) value = static_cast<float>(next_random(state) >> 8) / float(1 << 23) - 1.0f;
    return float_tensor(std::move(dims), values);
}

Values values_of(const Tensor& tensor) { return {tensor.dims(), tensor.to_doubles()}; }

Values reference_conv(const Values& x, const Values& weight, const std::optional<Values>& bias,
                      const std::vector<int64_t>& strides, const std::vector<int64_t>& pads,
                      const std::vector<int64_t>& dilations, int64_t group) {
    std::size_t rank = x.dims.size() - 2;
    int64_t batch = x.dims[0], out_channels = weight.dims[0], group_width = weight.dims[1];
    std::vector<int64_t> kernel(weight.dims.begin() + 2, weight.dims.end());
    std::vector<int64_t> in_spatial(x.dims.begin() + 2, x.dims.end());
    Values y;
    y.dims = {batch, out_channels};
    for (std::size_t axis = 0; axis < rank; ++axis) {
        int64_t extent = (kernel[axis] - 1) * dilations[axis] + 1;
        y.dims.push_back((in_spatial[axis] + pads[axis] + pads[rank + axis] - extent) / strides[axis] + 1);
    }
    std::vector<int64_t> out_spatial(y.dims.begin() + 2, y.dims.end());
    int64_t out_pixels = element_count(out_spatial), taps = element_count(kernel);
    y.data.assign(static_cast<std::size_t>(element_count(y.dims)), 0.0);
    for (int64_t n = 0; n < batch; ++n)
        for (int64_t o = 0; o < out_channels; ++o)
            for (int64_t pixel = 0; pixel < out_pixels; ++pixel) {
                std::vector<int64_t> at = unravel(pixel, out_spatial);
                double sum = bias ? bias->data[static_cast<std::size_t>(o)] : 0.0;
                int64_t first_channel = o / (out_channels / group) * group_width;
                for (int64_t j = 0; j < group_width; ++j)
                    for (int64_t tap = 0; tap < taps; ++tap) {
                        std::vector<int64_t> offset = unravel(tap, kernel);
                        std::vector<int64_t> source(rank);
                        bool inside = true;
                        for (std::size_t axis = 0; axis < rank; ++axis) {
                            source[axis] = at[axis] * strides[axis] - pads[axis] + offset[axis] * dilations[axis];
                            inside = inside && source[axis] >= 0 && source[axis] < in_spatial[axis];
                        }
                        if (!inside) continue;
                        int64_t x_index = ((n * x.dims[1]) + first_channel + j) * element_count(in_spatial) +
                                          ravel(source, in_spatial);
                        int64_t w_index = (o * group_width + j) * taps + tap;
                        sum += x.data[static_cast<std::size_t>(x_index)] *
                               weight.data[static_cast<std::size_t>(w_index)];
                    }
                y.data[static_cast<std::size_t>((n * out_channels + o) * out_pixels + pixel)] = sum;
            }
    return y;
}

std::map<std::string, Values> evaluate(const Model& model, const std::map<std::string, Values>& inputs) {
    std::map<std::string, Values> values = inputs;
    for (const auto& [name, tensor] : model.graph.initializers) values[name] = values_of(tensor);
    for (const Node& node : model.graph.nodes) {
        std::vector<const Values*> in;
        for (const std::string& input : node.inputs) {
            if (input.empty()) { in.push_back(nullptr); continue; }
            auto it = values.find(input);
            if (it == values.end()) fail("node {} reads '{}' before it is computed", node.label(), input);
            in.push_back(&it->second);
        }
        Values out;
        if (node.op_type == "Conv") out = conv(node, in);
        else if (node.op_type == "BatchNormalization") out = batchnorm(node, in);
        else if (node.op_type == "Add") out = broadcast_add(*in[0], *in[1]);
        else if (node.op_type == "Relu") {
            out = *in[0];
            for (double& v : out.data) v = std::max(v, 0.0);
        } else fail("the reference evaluator does not know {}", node.label());
        values[node.outputs[0]] = std::move(out);
    }
    std::map<std::string, Values> outputs;
    for (const ValueInfo& output : model.graph.outputs) outputs[output.name] = values.at(output.name);
    return outputs;
}

std::map<std::string, Values> random_inputs(const Model& model, uint32_t seed) {
    std::map<std::string, Values> inputs;
    for (const ValueInfo& input : model.graph.inputs) {
        std::optional<std::vector<int64_t>> shape = input.static_shape();
        if (!shape) fail("input '{}' has no static shape", input.name);
        inputs[input.name] = values_of(random_tensor(*shape, seed++));
    }
    return inputs;
}

double max_output_difference(const Model& a, const Model& b, const std::map<std::string, Values>& inputs) {
    std::map<std::string, Values> from_a = evaluate(a, inputs), from_b = evaluate(b, inputs);
    double largest = 0.0;
    for (const auto& [name, values] : from_a) {
        const Values& other = from_b.at(name);
        if (values.dims != other.dims)
            fail("output '{}' has shape {} in one model and {} in the other", name, shape_to_string(values.dims),
                 shape_to_string(other.dims));
        for (std::size_t i = 0; i < values.data.size(); ++i)
            largest = std::max(largest, std::abs(values.data[i] - other.data[i]));
    }
    return largest;
}

Dim fixed(int64_t extent) { return {extent, {}}; }

Dim symbol(const std::string& name) { return {std::nullopt, name}; }

ValueInfo float_value(const std::string& name, std::vector<Dim> dims) {
    return {name, DataType::Float, std::move(dims), {}};
}

Node make_node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
               std::map<std::string, Attribute> attributes) {
    std::string name = op + "_" + outputs.at(0);
    return Node{std::move(name), op, "", std::move(inputs), std::move(outputs), std::move(attributes), {}};
}

Model model_with(int64_t opset, std::vector<Node> nodes, const std::vector<std::string>& outputs,
                 const std::vector<Dim>& dims) {
    Model model;
    model.opset_imports = {{"", opset}};
    model.graph.name = "pass_test";
    model.graph.inputs = {float_value("x", dims)};
    for (const std::string& output : outputs) model.graph.outputs.push_back(float_value(output, dims));
    model.graph.nodes = std::move(nodes);
    return model;
}

std::vector<float> floats_of(const Model& model, const std::string& initializer) {
    const Tensor* tensor = model.graph.initializer(initializer);
    if (!tensor) fail("no initializer named '{}'", initializer);
    std::span<const float> values = tensor->data<float>();
    return {values.begin(), values.end()};
}

int run_pass(const std::string& name, Model& model, PassLog& log) {
    const PassInfo* info = PassRegistry::instance().find(name);
    if (!info) fail("no pass named '{}' is registered", name);
    return info->make()->run(model, log);
}

int run_pass(const std::string& name, Model& model) {
    PassLog log;
    return run_pass(name, model, log);
}

std::vector<std::string> op_types(const Model& model) {
    std::vector<std::string> ops;
    for (const Node& node : model.graph.nodes) ops.push_back(node.op_type);
    return ops;
}

}  // namespace mobileone::pass_test
