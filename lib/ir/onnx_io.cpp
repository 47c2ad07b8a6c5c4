// The only file that sees protobuf: everything else works on the IR in graph.h.
#include "ir/onnx_io.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <unordered_set>

#include <unistd.h>

#include "ir/error.h"

namespace mobileone {
namespace {

template <typename Field>
void copy_field(const Field& field, std::span<std::byte> out, DataType type) {
    std::size_t size = element_size(type);
    if (static_cast<std::size_t>(field.size()) * size != out.size())
        fail("has {} values, its shape needs {}", field.size(), out.size() / size);
    for (int i = 0; i < field.size(); ++i) {
        auto value = field.Get(i);
        switch (type) {
            case DataType::Float: { float v = static_cast<float>(value); std::memcpy(&out[i * size], &v, size); break; }
            case DataType::Double: { double v = static_cast<double>(value); std::memcpy(&out[i * size], &v, size); break; }
            case DataType::Int64: { int64_t v = static_cast<int64_t>(value); std::memcpy(&out[i * size], &v, size); break; }
            case DataType::UInt64: { uint64_t v = static_cast<uint64_t>(value); std::memcpy(&out[i * size], &v, size); break; }
            case DataType::Int32: { int32_t v = static_cast<int32_t>(value); std::memcpy(&out[i * size], &v, size); break; }
            case DataType::UInt32: { uint32_t v = static_cast<uint32_t>(value); std::memcpy(&out[i * size], &v, size); break; }
            default: {
                // int32_data carries the narrow types (int8/16, uint8/16, bool, and float16 bit patterns).
                uint32_t bits = static_cast<uint32_t>(value);
                std::memcpy(&out[i * size], &bits, size);
            }
        }
    }
}

Tensor tensor_from_proto(const onnx::TensorProto& proto) {
    auto type = static_cast<DataType>(proto.data_type());
    if (type == DataType::String || type == DataType::Undefined)
        fail("tensor '{}' has unsupported type {}", proto.name(), to_string(type));
    if (proto.data_location() == onnx::TensorProto::EXTERNAL)
        fail("tensor '{}' keeps its data in an external file, which is not supported", proto.name());
    if (proto.has_segment()) fail("tensor '{}' is segmented, which is not supported", proto.name());
    Tensor tensor(type, {proto.dims().begin(), proto.dims().end()});
    auto out = tensor.bytes();
    try {
        if (proto.has_raw_data()) {
            if (proto.raw_data().size() != out.size())
                fail("has {} bytes of data, its shape needs {}", proto.raw_data().size(), out.size());
            std::copy(proto.raw_data().begin(), proto.raw_data().end(), reinterpret_cast<char*>(out.data()));
        } else if (type == DataType::Float) {
            copy_field(proto.float_data(), out, type);
        } else if (type == DataType::Double) {
            copy_field(proto.double_data(), out, type);
        } else if (type == DataType::Int64) {
            copy_field(proto.int64_data(), out, type);
        } else if (type == DataType::UInt32 || type == DataType::UInt64) {
            copy_field(proto.uint64_data(), out, type);
        } else {
            copy_field(proto.int32_data(), out, type);
        }
    } catch (const Error& error) {
        fail("tensor '{}' {}", proto.name(), error.what());
    }
    return tensor;
}

void tensor_to_proto(const Tensor& tensor, const std::string& name, onnx::TensorProto& proto) {
    proto.set_name(name);
    proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
    for (int64_t dim : tensor.dims()) proto.add_dims(dim);
    auto bytes = tensor.bytes();
    proto.set_raw_data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Attribute attribute_from_proto(const onnx::AttributeProto& proto) {
    using A = onnx::AttributeProto;
    switch (proto.type()) {
        case A::FLOAT: return proto.f();
        case A::INT: return static_cast<int64_t>(proto.i());
        case A::STRING: return proto.s();
        case A::TENSOR: return tensor_from_proto(proto.t());
        case A::FLOATS: return std::vector<float>(proto.floats().begin(), proto.floats().end());
        case A::INTS: return std::vector<int64_t>(proto.ints().begin(), proto.ints().end());
        case A::STRINGS: return std::vector<std::string>(proto.strings().begin(), proto.strings().end());
        default: fail("attribute '{}' has a type the IR does not support (subgraphs, sparse tensors)", proto.name());
    }
}

void attribute_to_proto(const std::string& name, const Attribute& attribute, onnx::AttributeProto& proto) {
    using A = onnx::AttributeProto;
    proto.set_name(name);
    std::visit(
        [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, int64_t>) {
                proto.set_type(A::INT);
                proto.set_i(value);
            } else if constexpr (std::is_same_v<T, float>) {
                proto.set_type(A::FLOAT);
                proto.set_f(value);
            } else if constexpr (std::is_same_v<T, std::string>) {
                proto.set_type(A::STRING);
                proto.set_s(value);
            } else if constexpr (std::is_same_v<T, Tensor>) {
                proto.set_type(A::TENSOR);
                tensor_to_proto(value, "", *proto.mutable_t());
            } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
                proto.set_type(A::INTS);
                for (int64_t v : value) proto.add_ints(v);
            } else if constexpr (std::is_same_v<T, std::vector<float>>) {
                proto.set_type(A::FLOATS);
                for (float v : value) proto.add_floats(v);
            } else {
                proto.set_type(A::STRINGS);
                for (const std::string& v : value) proto.add_strings(v);
            }
        },
        attribute);
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& proto) {
    ValueInfo info;
    info.name = proto.name();
    info.doc_string = proto.doc_string();
    if (!proto.has_type()) return info;
    if (!proto.type().has_tensor_type()) fail("value '{}' is not a tensor (sequences and maps are not supported)", proto.name());
    const auto& tensor_type = proto.type().tensor_type();
    info.dtype = static_cast<DataType>(tensor_type.elem_type());
    if (tensor_type.has_shape()) {
        std::vector<Dim> dims;
        for (const auto& dim : tensor_type.shape().dim()) {
            Dim d;
            if (dim.has_dim_value()) d.value = dim.dim_value();
            else if (dim.has_dim_param()) d.symbol = dim.dim_param();
            dims.push_back(std::move(d));
        }
        info.shape = std::move(dims);
    }
    return info;
}

void value_info_to_proto(const ValueInfo& info, onnx::ValueInfoProto& proto) {
    proto.set_name(info.name);
    if (!info.doc_string.empty()) proto.set_doc_string(info.doc_string);
    if (info.dtype == DataType::Undefined && !info.shape) return;
    auto* tensor_type = proto.mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(static_cast<int32_t>(info.dtype));
    if (!info.shape) return;
    auto* shape = tensor_type->mutable_shape();
    for (const Dim& dim : *info.shape) {
        auto* d = shape->add_dim();
        if (dim.value) d->set_dim_value(*dim.value);
        else if (!dim.symbol.empty()) d->set_dim_param(dim.symbol);
    }
}

ValueInfo initializer_info(const std::string& name, const Tensor& tensor) {
    ValueInfo info{name, tensor.dtype(), std::vector<Dim>{}, {}};
    for (int64_t dim : tensor.dims()) info.shape->push_back(Dim{dim, {}});
    return info;
}

// Every node input must already exist when the node runs; a dangling name is a missing initializer.
void check_references(const Graph& graph) {
    std::unordered_set<std::string> available;
    for (const auto& [name, tensor] : graph.initializers) available.insert(name);
    for (const ValueInfo& input : graph.inputs) available.insert(input.name);
    for (const Node& node : graph.nodes) {
        for (const std::string& input : node.inputs)
            if (!input.empty() && !available.contains(input))
                fail("node {} reads '{}', which is no graph input, initializer or earlier node output", node.label(), input);
        available.insert(node.outputs.begin(), node.outputs.end());
    }
    for (const ValueInfo& output : graph.outputs)
        if (!available.contains(output.name)) fail("graph output '{}' is never produced", output.name);
}

Graph graph_from_proto(const onnx::GraphProto& proto) {
    Graph graph;
    graph.name = proto.name();
    graph.doc_string = proto.doc_string();
    for (const auto& init : proto.initializer()) graph.initializers[init.name()] = tensor_from_proto(init);
    if (proto.sparse_initializer_size() > 0) fail("sparse initializers are not supported");
    for (const auto& input : proto.input()) {
        if (graph.initializers.contains(input.name())) continue;
        graph.inputs.push_back(value_info_from_proto(input));
    }
    for (const auto& output : proto.output()) graph.outputs.push_back(value_info_from_proto(output));
    for (const auto& info : proto.value_info()) graph.value_info.push_back(value_info_from_proto(info));
    for (const auto& node_proto : proto.node()) {
        Node node;
        node.name = node_proto.name();
        node.op_type = node_proto.op_type();
        node.domain = node_proto.domain();
        node.doc_string = node_proto.doc_string();
        node.inputs.assign(node_proto.input().begin(), node_proto.input().end());
        node.outputs.assign(node_proto.output().begin(), node_proto.output().end());
        try {
            for (const auto& attribute : node_proto.attribute())
                node.attributes[attribute.name()] = attribute_from_proto(attribute);
        } catch (const Error& error) {
            fail("node {}: {}", node.label(), error.what());
        }
        graph.nodes.push_back(std::move(node));
    }
    check_references(graph);
    return graph;
}

// Shape inference needs weight shapes, not weight values: with `shapes_only`, large floating initializers are
// declared as typed graph inputs instead, which keeps inference from copying megabytes of weights.
bool declared_only(const Tensor& tensor, bool shapes_only) {
    bool floating = tensor.dtype() == DataType::Float || tensor.dtype() == DataType::Double ||
                    tensor.dtype() == DataType::Float16;
    return shapes_only && floating && tensor.numel() > 64;
}

onnx::ModelProto model_to_proto(const Model& model, bool shapes_only = false) {
    onnx::ModelProto proto;
    proto.set_ir_version(model.ir_version);
    for (const OpsetImport& opset : model.opset_imports) {
        auto* entry = proto.add_opset_import();
        entry->set_domain(opset.domain);
        entry->set_version(opset.version);
    }
    if (!model.producer_name.empty()) proto.set_producer_name(model.producer_name);
    if (!model.producer_version.empty()) proto.set_producer_version(model.producer_version);
    if (!model.domain.empty()) proto.set_domain(model.domain);
    if (model.model_version != 0) proto.set_model_version(model.model_version);
    if (!model.doc_string.empty()) proto.set_doc_string(model.doc_string);
    for (const auto& [key, value] : model.metadata_props) {
        auto* entry = proto.add_metadata_props();
        entry->set_key(key);
        entry->set_value(value);
    }
    const Graph& graph = model.graph;
    auto* g = proto.mutable_graph();
    g->set_name(graph.name);
    if (!graph.doc_string.empty()) g->set_doc_string(graph.doc_string);
    for (const Node& node : graph.nodes) {
        auto* n = g->add_node();
        n->set_name(node.name);
        n->set_op_type(node.op_type);
        if (!node.domain.empty()) n->set_domain(node.domain);
        if (!node.doc_string.empty()) n->set_doc_string(node.doc_string);
        for (const std::string& input : node.inputs) n->add_input(input);
        for (const std::string& output : node.outputs) n->add_output(output);
        for (const auto& [name, attribute] : node.attributes) attribute_to_proto(name, attribute, *n->add_attribute());
    }
    for (const ValueInfo& input : graph.inputs) value_info_to_proto(input, *g->add_input());
    // IR versions before 4 require every initializer to be listed as a graph input.
    for (const auto& [name, tensor] : graph.initializers)
        if (model.ir_version < 4 || declared_only(tensor, shapes_only))
            value_info_to_proto(initializer_info(name, tensor), *g->add_input());
    for (const ValueInfo& output : graph.outputs) value_info_to_proto(output, *g->add_output());
    for (const ValueInfo& info : graph.value_info) value_info_to_proto(info, *g->add_value_info());
    for (const auto& [name, tensor] : graph.initializers)
        if (!declared_only(tensor, shapes_only)) tensor_to_proto(tensor, name, *g->add_initializer());
    return proto;
}

std::string serialize_proto(const google::protobuf::MessageLite& message) {
    std::string bytes;
    {
        google::protobuf::io::StringOutputStream stream(&bytes);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.SetSerializationDeterministic(true);
        message.SerializeToCodedStream(&coded);
    }
    return bytes;
}

void parse_proto(std::string_view bytes, google::protobuf::MessageLite& message, const std::string& source) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        fail("{}: file is larger than 2 GiB, which protobuf cannot parse", source);
    google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int>(bytes.size()));
    stream.SetTotalBytesLimit(std::numeric_limits<int>::max());
    if (!message.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
        fail("{}: not a valid ONNX protobuf (corrupt or truncated file)", source);
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, not a file", path.string());
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open for reading ({})", path.string(), std::strerror(errno));
    // A regular file is read in one call into a buffer of its size (a character-by-character copy costs a second on
    // a large model); anything else (a pipe) in chunks.
    std::string bytes;
    if (std::filesystem::is_regular_file(path, ec)) {
        bytes.resize(static_cast<std::size_t>(std::filesystem::file_size(path, ec)));
        in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        bytes.resize(static_cast<std::size_t>(in.gcount()));
    }
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0)
        bytes.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (in.bad()) fail("{}: read error", path.string());
    return bytes;
}

Model parse_model(std::string_view bytes, const std::string& source) {
    if (bytes.empty()) fail("{}: file is empty", source);
    onnx::ModelProto proto;
    parse_proto(bytes, proto, source);
    if (!proto.has_graph()) fail("{}: not an ONNX model (no graph)", source);
    if (proto.functions_size() > 0) fail("{}: model-local functions are not supported", source);
    Model model;
    model.ir_version = proto.ir_version();
    for (const auto& opset : proto.opset_import()) model.opset_imports.push_back({opset.domain(), opset.version()});
    model.producer_name = proto.producer_name();
    model.producer_version = proto.producer_version();
    model.domain = proto.domain();
    model.model_version = proto.model_version();
    model.doc_string = proto.doc_string();
    for (const auto& entry : proto.metadata_props()) model.metadata_props.emplace_back(entry.key(), entry.value());
    try {
        model.graph = graph_from_proto(proto.graph());
    } catch (const Error& error) {
        fail("{}: {}", source, error.what());
    }
    return model;
}

Model load_model(const std::filesystem::path& path) { return parse_model(read_file(path), path.string()); }

std::string serialize_model(const Model& model) { return serialize_proto(model_to_proto(model)); }

void check_writable(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) fail("{}: directory '{}' does not exist", path.string(), directory.string());
    if (fs::is_directory(path, ec)) fail("{}: is a directory", path.string());
    if (access(directory.c_str(), W_OK) != 0) fail("{}: directory '{}' is not writable", path.string(), directory.string());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
    namespace fs = std::filesystem;
    check_writable(path);
    fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code ec;
    std::random_device entropy;
    fs::path temporary = directory / fmt::format(".{}.tmp-{:08x}", path.filename().string(), entropy());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) fail("{}: cannot write ({})", path.string(), std::strerror(errno));
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.close();
        if (!out) {
            fs::remove(temporary, ec);
            fail("{}: write failed ({})", path.string(), std::strerror(errno));
        }
    }
    fs::rename(temporary, path, ec);
    if (ec) {
        fs::remove(temporary, ec);
        fail("{}: cannot write ({})", path.string(), ec.message());
    }
}

void save_model(const Model& model, const std::filesystem::path& path) {
    write_file_atomically(path, serialize_model(model));
}

void check_model(const Model& model, const std::string& source) {
    onnx::ModelProto proto = model_to_proto(model);
    try {
        onnx::checker::check_model(proto);
        onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                           onnx::ShapeInferenceOptions(true, 1, false));
    } catch (const std::exception& error) {
        std::string message = error.what();
        std::replace(message.begin(), message.end(), '\n', ' ');
        fail("{}: ONNX check failed: {}", source, message);
    }
}

namespace {

// ONNX 1.12's inference reads shape operands (Reshape's shape, Pad's pads) only from initializers, so Constant nodes
// holding integer tensors become initializers for the purpose of inference.
void constants_as_initializers(onnx::GraphProto& graph) {
    auto* nodes = graph.mutable_node();
    for (int i = nodes->size() - 1; i >= 0; --i) {
        const onnx::NodeProto& node = nodes->Get(i);
        if (node.op_type() != "Constant" || node.output_size() != 1 || node.attribute_size() != 1) continue;
        const onnx::AttributeProto& value = node.attribute(0);
        if (value.name() != "value" || value.t().data_type() != onnx::TensorProto::INT64) continue;
        onnx::TensorProto* initializer = graph.add_initializer();
        *initializer = value.t();
        initializer->set_name(node.output(0));
        nodes->DeleteSubrange(i, 1);
    }
}

}  // namespace

std::map<std::string, ValueInfo> infer_shapes(const Model& model) {
    onnx::ModelProto proto = model_to_proto(model, true);
    constants_as_initializers(*proto.mutable_graph());
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, true));
    std::map<std::string, ValueInfo> shapes;
    const auto& graph = proto.graph();
    for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()})
        for (const auto& info : *list)
            if (info.has_type() && info.type().has_tensor_type()) shapes[info.name()] = value_info_from_proto(info);
    for (const auto& [name, tensor] : model.graph.initializers) shapes[name] = initializer_info(name, tensor);
    return shapes;
}

Tensor parse_tensor(std::string_view bytes, const std::string& source) {
    onnx::TensorProto proto;
    parse_proto(bytes, proto, source);
    try {
        return tensor_from_proto(proto);
    } catch (const Error& error) {
        fail("{}: {}", source, error.what());
    }
}

Tensor load_tensor(const std::filesystem::path& path) { return parse_tensor(read_file(path), path.string()); }

std::string serialize_tensor(const Tensor& tensor, const std::string& name) {
    onnx::TensorProto proto;
    tensor_to_proto(tensor, name, proto);
    return serialize_proto(proto);
}

}  // namespace mobileone
