#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "ir/tensor.h"

namespace mobileone {

using Attribute = std::variant<int64_t, float, std::string, Tensor, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>>;

// One dimension of a value's shape: a fixed size, a named symbol ("batch"), or unknown (neither).
struct Dim {
    std::optional<int64_t> value;
    std::string symbol;

    bool is_static() const { return value.has_value(); }
    bool operator==(const Dim&) const = default;
};

struct ValueInfo {
    std::string name;
    DataType dtype = DataType::Undefined;
    std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
    std::string doc_string;

    // The static dims, or nullopt if any dim is symbolic or unknown.
    std::optional<std::vector<int64_t>> static_shape() const;
};

struct Node {
    std::string name;
    std::string op_type;
    std::string domain;                // "" is the default ONNX domain
    std::vector<std::string> inputs;   // "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::map<std::string, Attribute> attributes;
    std::string doc_string;

    bool has_attribute(const std::string& key) const { return attributes.contains(key); }
    int64_t attribute_int(const std::string& key, int64_t fallback) const;
    float attribute_float(const std::string& key, float fallback) const;
    std::string attribute_string(const std::string& key, const std::string& fallback = {}) const;
    std::vector<int64_t> attribute_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
    const Tensor* attribute_tensor(const std::string& key) const;

    // The i-th input's name, or "" when absent.
    const std::string& input(std::size_t index) const;
    // "'name' (Op)" for error messages; falls back to the first output when the node has no name.
    std::string label() const;
};

struct Graph {
    std::string name;
    std::string doc_string;
    std::vector<Node> nodes;  // kept in topological order by every pass
    std::vector<ValueInfo> inputs;   // real inputs only; initializers are never listed here (export adds them for IR < 4)
    std::vector<ValueInfo> outputs;
    std::vector<ValueInfo> value_info;
    std::map<std::string, Tensor> initializers;

    const Tensor* initializer(const std::string& name) const;
    Tensor* initializer(const std::string& name);
    bool is_input(const std::string& name) const;
    bool is_output(const std::string& name) const;

    // A tensor name not yet used anywhere in the graph, derived from `base`.
    std::string fresh_name(const std::string& base) const;
};

struct OpsetImport {
    std::string domain;
    int64_t version = 0;
    bool operator==(const OpsetImport&) const = default;
};

struct Model {
    int64_t ir_version = 8;
    std::vector<OpsetImport> opset_imports;
    std::string producer_name;
    std::string producer_version;
    std::string domain;
    int64_t model_version = 0;
    std::string doc_string;
    std::vector<std::pair<std::string, std::string>> metadata_props;
    Graph graph;

    int64_t opset_version(const std::string& domain = "") const;  // 0 if not imported
};

// Producer/consumer lookup for one snapshot of a graph. Any edit to graph.nodes invalidates it.
class GraphIndex {
public:
    explicit GraphIndex(const Graph& graph);

    // Index into graph.nodes of the node producing `tensor`, or nullopt for inputs/initializers.
    std::optional<std::size_t> producer(const std::string& tensor) const;
    // Indices of nodes reading `tensor` (a node reading it twice appears twice).
    const std::vector<std::size_t>& consumers(const std::string& tensor) const;
    // How many places read `tensor`, counting graph outputs.
    std::size_t use_count(const std::string& tensor) const;

private:
    const Graph& graph_;
    std::unordered_map<std::string, std::size_t> producers_;
    std::unordered_map<std::string, std::vector<std::size_t>> consumers_;
};

}  // namespace mobileone
