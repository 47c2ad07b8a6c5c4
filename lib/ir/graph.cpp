#include "ir/graph.h"

#include <algorithm>
#include <unordered_set>

#include "ir/error.h"

namespace mobileone {

std::optional<std::vector<int64_t>> ValueInfo::static_shape() const {
    if (!shape) return std::nullopt;
    std::vector<int64_t> dims;
    for (const Dim& dim : *shape) {
        if (!dim.value) return std::nullopt;
        dims.push_back(*dim.value);
    }
    return dims;
}

namespace {

template <typename T>
const T* find_attribute(const Node& node, const std::string& key) {
    auto it = node.attributes.find(key);
    if (it == node.attributes.end()) return nullptr;
    const T* value = std::get_if<T>(&it->second);
    if (!value) fail("node {}: attribute '{}' has an unexpected type", node.label(), key);
    return value;
}

}  // namespace

int64_t Node::attribute_int(const std::string& key, int64_t fallback) const {
    const auto* value = find_attribute<int64_t>(*this, key);
    return value ? *value : fallback;
}

float Node::attribute_float(const std::string& key, float fallback) const {
    const auto* value = find_attribute<float>(*this, key);
    return value ? *value : fallback;
}

std::string Node::attribute_string(const std::string& key, const std::string& fallback) const {
    const auto* value = find_attribute<std::string>(*this, key);
    return value ? *value : fallback;
}

std::vector<int64_t> Node::attribute_ints(const std::string& key, std::vector<int64_t> fallback) const {
    const auto* value = find_attribute<std::vector<int64_t>>(*this, key);
    return value ? *value : fallback;
}

const Tensor* Node::attribute_tensor(const std::string& key) const { return find_attribute<Tensor>(*this, key); }

const std::string& Node::input(std::size_t index) const {
    static const std::string absent;
    return index < inputs.size() ? inputs[index] : absent;
}

std::string Node::label() const {
    std::string id = !name.empty() ? name : (!outputs.empty() ? outputs.front() : std::string("<unnamed>"));
    return "'" + id + "' (" + op_type + ")";
}

const Tensor* Graph::initializer(const std::string& name) const {
    auto it = initializers.find(name);
    return it == initializers.end() ? nullptr : &it->second;
}

Tensor* Graph::initializer(const std::string& name) {
    auto it = initializers.find(name);
    return it == initializers.end() ? nullptr : &it->second;
}

bool Graph::is_input(const std::string& name) const {
    return std::any_of(inputs.begin(), inputs.end(), [&](const ValueInfo& v) { return v.name == name; });
}

bool Graph::is_output(const std::string& name) const {
    return std::any_of(outputs.begin(), outputs.end(), [&](const ValueInfo& v) { return v.name == name; });
}

std::string Graph::fresh_name(const std::string& base) const {
    std::unordered_set<std::string> used;
    for (const auto& [name, tensor] : initializers) used.insert(name);
    for (const ValueInfo& v : inputs) used.insert(v.name);
    for (const Node& node : nodes) {
        used.insert(node.inputs.begin(), node.inputs.end());
        used.insert(node.outputs.begin(), node.outputs.end());
        used.insert(node.name);
    }
    if (!used.contains(base)) return base;
    for (int suffix = 1;; ++suffix) {
        std::string candidate = base + "_" + std::to_string(suffix);
        if (!used.contains(candidate)) return candidate;
    }
}

int64_t Model::opset_version(const std::string& domain) const {
    for (const OpsetImport& opset : opset_imports) {
        bool default_domain = domain.empty() || domain == "ai.onnx";
        bool opset_default = opset.domain.empty() || opset.domain == "ai.onnx";
        if (opset.domain == domain || (default_domain && opset_default)) return opset.version;
    }
    return 0;
}

GraphIndex::GraphIndex(const Graph& graph) : graph_(graph) {
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        for (const std::string& output : graph.nodes[i].outputs)
            if (!output.empty()) producers_[output] = i;
        for (const std::string& input : graph.nodes[i].inputs)
            if (!input.empty()) consumers_[input].push_back(i);
    }
}

std::optional<std::size_t> GraphIndex::producer(const std::string& tensor) const {
    auto it = producers_.find(tensor);
    if (it == producers_.end()) return std::nullopt;
    return it->second;
}

const std::vector<std::size_t>& GraphIndex::consumers(const std::string& tensor) const {
    static const std::vector<std::size_t> none;
    auto it = consumers_.find(tensor);
    return it == consumers_.end() ? none : it->second;
}

std::size_t GraphIndex::use_count(const std::string& tensor) const {
    std::size_t outputs = graph_.is_output(tensor) ? 1 : 0;
    return consumers(tensor).size() + outputs;
}

}  // namespace mobileone
