// fold_constants: evaluate the shape arithmetic exporters emit, so later passes and the runtime see plain constants.
//
// Before:  X[N,3,8,8] -> Shape -> Gather(1) -> Unsqueeze(0) -> Concat(·, [-1]) -> s ; Reshape(W, s)
// After:   initializer s = [3, -1] ; Reshape(W, s)
//
// A node whose inputs are all initializers is evaluated (the ops are listed in passes/constant_eval.h). Shape needs
// no constant input: it is evaluated from ONNX shape inference, and a Gather that picks only static dims out of a
// Shape folds even when other dims are symbolic.
//
// A dynamic batch stays dynamic. PyTorch exports x.view(x.size(0), -1) as
//   Before:  X[batch,512,1,1] -> Shape -> Gather(0) -> Unsqueeze(0) -> Concat(·, [-1]) -> s ; Reshape(X, s)
//   After:   Reshape(X, [0, -1])
// since Reshape's 0 copies the input dim at the same position (allowzero=0): a shape element that is dim i of the
// tensor being reshaped, at position i, becomes 0. The Shape/Gather/Unsqueeze/Concat chain is then left dead.
#include <algorithm>
#include <map>

#include "compiler/pass.h"
#include "ir/onnx_io.h"
#include "passes/constant_eval.h"

namespace mobileone {
namespace {

// One element of an int64 shape vector under construction: a known value, dim `axis` of tensor `source`, or both.
struct ShapeElement {
    std::optional<int64_t> value;
    std::string source;
    int64_t axis = 0;
};

// A scalar or 1-D int64 tensor built from Shape outputs and constants.
struct ShapeValue {
    std::vector<ShapeElement> elements;
    bool scalar = false;

    bool all_known() const {
        return std::all_of(elements.begin(), elements.end(), [](const ShapeElement& e) { return e.value.has_value(); });
    }
    Tensor to_tensor() const {
        std::vector<int64_t> values;
        for (const ShapeElement& element : elements) values.push_back(*element.value);
        std::vector<int64_t> dims;
        if (!scalar) dims.push_back(static_cast<int64_t>(values.size()));
        return Tensor::from_values<int64_t>(dims, values);
    }
};

bool in_default_domain(const Node& node) { return node.domain.empty() || node.domain == "ai.onnx"; }

// Graph outputs stay node outputs, so a node producing one is never replaced by an initializer.
bool can_replace_by_initializer(const Node& node, const Graph& graph) {
    return node.outputs.size() == 1 && !node.outputs[0].empty() && !graph.is_output(node.outputs[0]);
}

// See kMaxFoldedElements. A Constant's value is stored in the model already.
bool worth_storing(const Node& node, const Tensor& value, const std::vector<const Tensor*>& inputs) {
    if (node.op_type == "Constant") return true;
    int64_t input_elements = 0;
    for (const Tensor* input : inputs) input_elements += input ? input->numel() : 0;
    return value.numel() <= std::max(kMaxFoldedElements, input_elements);
}

// Shape-15 reports dims [start, end) only; negative bounds count from the back, and both clamp to [0, rank].
std::pair<int64_t, int64_t> shape_range(const Node& node, int64_t rank) {
    auto bound = [rank](int64_t value) { return std::clamp<int64_t>(value < 0 ? value + rank : value, 0, rank); };
    return {bound(node.attribute_int("start", 0)), bound(node.attribute_int("end", rank))};
}

class ConstantFolder {
public:
    explicit ConstantFolder(Model& model) : model_(model), graph_(model.graph), opset_(model.opset_version()) {}

    int run() {
        int changes = 0;
        for (std::size_t i = 0; i < graph_.nodes.size();) {
            Node& node = graph_.nodes[i];
            if (!in_default_domain(node)) {
                ++i;
                continue;
            }
            if (std::optional<Tensor> value = can_replace_by_initializer(node, graph_) ? fold(node) : std::nullopt) {
                graph_.initializers[node.outputs[0]] = std::move(*value);
                graph_.nodes.erase(graph_.nodes.begin() + static_cast<std::ptrdiff_t>(i));
                ++changes;
                continue;
            }
            if (node.op_type == "Reshape" && make_reshape_shape_constant(node)) ++changes;
            ++i;
        }
        return changes;
    }

private:
    std::optional<Tensor> fold(const Node& node) {
        std::vector<const Tensor*> inputs;
        for (const std::string& input : node.inputs) {
            const Tensor* tensor = input.empty() ? nullptr : graph_.initializer(input);
            if (!input.empty() && !tensor) break;
            inputs.push_back(tensor);
        }
        if (inputs.size() == node.inputs.size()) {
            std::optional<Tensor> value = evaluate_constant_node(node, inputs, opset_);
            if (value && worth_storing(node, *value, inputs)) return value;
        }
        // A partially known shape becomes constant only where static dims are picked out of it.
        if (node.op_type != "Shape" && node.op_type != "Gather") return std::nullopt;
        std::optional<ShapeValue> value = shape_value_of(node);
        if (!value || !value->all_known()) return std::nullopt;
        return value->to_tensor();
    }

    // Reshape(X, s) where s is built from constants and dims of X at their own positions -> Reshape(X, constant).
    bool make_reshape_shape_constant(Node& reshape) {
        const std::string& data = reshape.input(0);
        const std::string& shape = reshape.input(1);
        if (opset_ < 5 || shape.empty() || graph_.initializer(shape) || reshape.attribute_int("allowzero", 0) != 0)
            return false;
        std::optional<ShapeValue> value = shape_value(shape);
        if (!value || value->scalar) return false;
        std::vector<int64_t> constant;
        for (std::size_t position = 0; position < value->elements.size(); ++position) {
            const ShapeElement& element = value->elements[position];
            if (element.value) constant.push_back(*element.value);
            else if (element.source == data && element.axis == static_cast<int64_t>(position)) constant.push_back(0);
            else return false;
        }
        std::string name = graph_.fresh_name(shape);
        graph_.initializers[name] = Tensor::from_values<int64_t>({static_cast<int64_t>(constant.size())}, constant);
        reshape.inputs[1] = name;
        return true;
    }

    std::optional<ShapeValue> shape_value(const std::string& name) {
        if (const Tensor* tensor = graph_.initializer(name)) {
            if (tensor->dtype() != DataType::Int64 || tensor->rank() > 1) return std::nullopt;
            ShapeValue value{{}, tensor->rank() == 0};
            for (int64_t element : tensor->data<int64_t>()) value.elements.push_back({element, {}, 0});
            return value;
        }
        auto producer = std::find_if(graph_.nodes.begin(), graph_.nodes.end(), [&](const Node& node) {
            return node.outputs.size() == 1 && node.outputs[0] == name;
        });
        if (producer == graph_.nodes.end()) return std::nullopt;
        return shape_value_of(*producer);
    }

    std::optional<ShapeValue> shape_value_of(const Node& node) {
        if (!in_default_domain(node)) return std::nullopt;
        if (node.op_type == "Shape") return shape_of(node);
        if (node.op_type == "Gather") return gather_of(node);
        if (node.op_type == "Unsqueeze") {
            std::optional<ShapeValue> value = shape_value(node.input(0));
            auto axes = squeeze_axes(node, graph_.initializer(node.input(1)), opset_);
            if (!value || !value->scalar || !axes || axes->size() != 1 || (axes->front() != 0 && axes->front() != -1))
                return std::nullopt;
            value->scalar = false;
            return value;
        }
        if (node.op_type == "Concat") {
            int64_t axis = node.attribute_int("axis", 1);
            if (axis != 0 && axis != -1) return std::nullopt;
            ShapeValue joined;
            for (const std::string& input : node.inputs) {
                std::optional<ShapeValue> part = shape_value(input);
                if (!part || part->scalar) return std::nullopt;
                joined.elements.insert(joined.elements.end(), part->elements.begin(), part->elements.end());
            }
            return joined;
        }
        return std::nullopt;
    }

    std::optional<ShapeValue> shape_of(const Node& node) {
        std::optional<std::vector<Dim>> dims = dims_of(node.input(0));
        if (!dims) return std::nullopt;
        auto [start, end] = shape_range(node, static_cast<int64_t>(dims->size()));
        ShapeValue value;
        for (int64_t axis = start; axis < end; ++axis)
            value.elements.push_back({(*dims)[static_cast<std::size_t>(axis)].value, node.input(0), axis});
        return value;
    }

    std::optional<ShapeValue> gather_of(const Node& node) {
        const Tensor* indices = graph_.initializer(node.input(1));
        int64_t axis = node.attribute_int("axis", 0);
        if (!indices || indices->rank() > 1 || (axis != 0 && axis != -1)) return std::nullopt;
        std::optional<ShapeValue> data = shape_value(node.input(0));
        if (!data || data->scalar) return std::nullopt;
        auto size = static_cast<int64_t>(data->elements.size());
        ShapeValue picked{{}, indices->rank() == 0};
        for (int64_t index : indices->to_int64s()) {
            if (index < -size || index >= size) return std::nullopt;
            picked.elements.push_back(data->elements[static_cast<std::size_t>(index < 0 ? index + size : index)]);
        }
        return picked;
    }

    std::optional<std::vector<Dim>> dims_of(const std::string& tensor) {
        if (const Tensor* constant = graph_.initializer(tensor)) {
            std::vector<Dim> dims;
            for (int64_t dim : constant->dims()) dims.push_back(Dim{dim, {}});
            return dims;
        }
        if (!inferred_) inferred_ = infer_shapes(model_);
        auto it = inferred_->find(tensor);
        if (it == inferred_->end()) return std::nullopt;
        return it->second.shape;
    }

    Model& model_;
    Graph& graph_;
    int64_t opset_;
    std::optional<std::map<std::string, ValueInfo>> inferred_;  // shape inference runs once, on first need
};

class FoldConstants final : public Pass {
public:
    int run(Model& model, PassLog&) const override { return ConstantFolder(model).run(); }
};

}  // namespace

MOBILEONE_REGISTER_PASS(FoldConstants, "fold_constants",
                        "evaluate shape arithmetic on constants; keep a dynamic batch dynamic in Reshape");

}  // namespace mobileone
