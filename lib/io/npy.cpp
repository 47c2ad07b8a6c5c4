#include "io/npy.h"

#include <array>
#include <charconv>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ir/error.h"
#include "ir/onnx_io.h"

namespace mobileone {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

struct TypeCode {
    std::string_view code;  // descr without its byte-order character
    DataType dtype;
};

constexpr std::array<TypeCode, 7> kTypeCodes = {{
    {"f4", DataType::Float},
    {"f8", DataType::Double},
    {"i8", DataType::Int64},
    {"i4", DataType::Int32},
    {"i1", DataType::Int8},
    {"u1", DataType::UInt8},
    {"b1", DataType::Bool},
}};

// The header is a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }.
class HeaderParser {
public:
    HeaderParser(std::string_view header, const std::string& source) : header_(header), source_(source) {}

    std::string_view value_of(std::string_view key) const {
        for (char quote : {'\'', '"'}) {
            std::string quoted = fmt::format("{0}{1}{0}", quote, key);
            std::size_t at = header_.find(quoted);
            if (at == std::string_view::npos) continue;
            std::size_t colon = header_.find(':', at + quoted.size());
            if (colon == std::string_view::npos) break;
            std::size_t start = header_.find_first_not_of(" ", colon + 1);
            if (start == std::string_view::npos) break;
            return header_.substr(start);
        }
        fail("{}: .npy header has no '{}'", source_, key);
    }

    std::string_view string_value(std::string_view key) const {
        std::string_view value = value_of(key);
        char quote = value.empty() ? 0 : value[0];
        std::size_t end = quote == '\'' || quote == '"' ? value.find(quote, 1) : std::string_view::npos;
        if (end == std::string_view::npos) fail("{}: .npy header: '{}' is not a string", source_, key);
        return value.substr(1, end - 1);
    }

    bool bool_value(std::string_view key) const {
        std::string_view value = value_of(key);
        if (value.starts_with("True")) return true;
        if (value.starts_with("False")) return false;
        fail("{}: .npy header: '{}' is not True or False", source_, key);
    }

    std::vector<int64_t> tuple_value(std::string_view key) const {
        std::string_view value = value_of(key);
        std::size_t close = value.find(')');
        if (!value.starts_with("(") || close == std::string_view::npos)
            fail("{}: .npy header: '{}' is not a tuple", source_, key);
        std::vector<int64_t> dims;
        std::string_view items = value.substr(1, close - 1);
        while (true) {
            std::size_t start = items.find_first_not_of(" ,");
            if (start == std::string_view::npos) break;
            items.remove_prefix(start);
            int64_t dim = -1;
            auto [end, error] = std::from_chars(items.data(), items.data() + items.size(), dim);
            if (error != std::errc() || dim < 0) fail("{}: .npy header: bad dimension in '{}'", source_, key);
            dims.push_back(dim);
            items.remove_prefix(std::size_t(end - items.data()));
        }
        return dims;
    }

private:
    std::string_view header_;
    const std::string& source_;
};

DataType parse_descr(std::string_view descr, const std::string& source) {
    if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=')) {
        for (const TypeCode& type : kTypeCodes)
            if (descr.substr(1) == type.code) return type.dtype;
    }
    fail("{}: unsupported .npy dtype '{}' (supported: little-endian f4, f8, i8, i4, i1, u1, b1)", source, descr);
}

std::string descr_of(DataType dtype) {
    for (const TypeCode& type : kTypeCodes)
        if (type.dtype == dtype) return fmt::format("{}{}", element_size(dtype) == 1 ? '|' : '<', type.code);
    fail("cannot write a {} tensor as .npy", to_string(dtype));
}

uint32_t read_little_endian(std::string_view bytes, std::size_t offset, std::size_t size) {
    uint32_t value = 0;
    for (std::size_t i = 0; i < size; ++i) value |= uint32_t(uint8_t(bytes[offset + i])) << (8 * i);
    return value;
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& source) {
    if (!bytes.starts_with(kMagic) || bytes.size() < kMagic.size() + 4) fail("{}: not a .npy file", source);
    const int major = uint8_t(bytes[kMagic.size()]);
    if (major < 1 || major > 3) fail("{}: unsupported .npy format version {}", source, major);
    const std::size_t length_size = major == 1 ? 2 : 4;
    const std::size_t header_start = kMagic.size() + 2 + length_size;
    if (bytes.size() < header_start) fail("{}: truncated .npy header", source);
    const std::size_t header_size = read_little_endian(bytes, kMagic.size() + 2, length_size);
    if (bytes.size() - header_start < header_size) fail("{}: truncated .npy header", source);

    HeaderParser header(bytes.substr(header_start, header_size), source);
    DataType dtype = parse_descr(header.string_value("descr"), source);
    if (header.bool_value("fortran_order")) fail("{}: Fortran-ordered .npy arrays are not supported", source);
    Tensor tensor(dtype, header.tuple_value("shape"));

    std::string_view data = bytes.substr(header_start + header_size);
    if (data.size() != tensor.bytes().size())
        fail("{}: .npy data holds {} bytes, shape {} of {} needs {}", source, data.size(),
             shape_to_string(tensor.dims()), to_string(dtype), tensor.bytes().size());
    std::memcpy(tensor.bytes().data(), data.data(), data.size());
    return tensor;
}

Tensor load_npy(const std::filesystem::path& path) { return parse_npy(read_file(path), path.string()); }

std::string serialize_npy(const Tensor& tensor) {
    const std::vector<int64_t>& dims = tensor.dims();
    std::string shape = dims.size() == 1 ? fmt::format("({},)", dims[0]) : fmt::format("({})", fmt::join(dims, ", "));
    std::string header =
        fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr_of(tensor.dtype()), shape);
    const std::size_t unpadded = kMagic.size() + 2 + 2 + header.size() + 1;  // +1 for the closing newline
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';

    std::string out(kMagic);
    out += '\x01';
    out += '\x00';
    out += char(header.size() & 0xFF);
    out += char(header.size() >> 8);
    out += header;
    out.append(reinterpret_cast<const char*>(tensor.bytes().data()), tensor.bytes().size());
    return out;
}

void save_npy(const Tensor& tensor, const std::filesystem::path& path) {
    write_file_atomically(path, serialize_npy(tensor));
}

Tensor load_tensor_file(const std::filesystem::path& path) {
    const std::string extension = path.extension().string();
    if (extension == ".npy") return load_npy(path);
    if (extension == ".pb") return load_tensor(path);
    fail("{}: unknown tensor file type (expected .npy or .pb)", path.string());
}

}  // namespace mobileone
