// safetensors files: the format is described in safetensors.h. The reader trusts nothing in
// the file: every number is checked against the file's size before it sizes an allocation
// or a read.
#include "cajal/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include "cajal/io/atomic_file.h"
#include "cajal/io/input_file.h"
#include "cajal/io/json.h"
#include "cajal/ops/convert.h"

namespace cajal {

static_assert(std::endian::native == std::endian::little, "safetensors: elements are copied raw, which assumes a little-endian host");

namespace {

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // the reference implementation's limit
constexpr size_t kMaxDims = 64;                   // bounds what one shape in an untrusted file makes us allocate
constexpr size_t kMaxTensors = 65'536;            // bounds what the list of an untrusted file's tensors takes
constexpr char kMetadataKey[] = "__metadata__";

// The dtypes cajal reads and writes, listed in the order of the reference implementation's
// Dtype enum, which is increasing alignment: the writer puts the most aligned first.
struct SafetensorsDType {
  const char* name;
  DType dtype;
};
constexpr SafetensorsDType kDTypes[] = {
    {"BOOL", DType::boolean}, {"U8", DType::u8},   {"BF16", DType::bf16}, {"I32", DType::i32},
    {"F32", DType::f32},      {"F64", DType::f64}, {"I64", DType::i64},
};

// Position of `dtype` in kDTypes.
size_t alignment_rank(DType dtype) {
  for (size_t i = 0; i < std::size(kDTypes); ++i)
    if (kDTypes[i].dtype == dtype) return i;
  fail<DTypeError>("save_safetensors: no safetensors dtype for ", dtype_name(dtype));
}

// One tensor's entry in the header.
struct Entry {
  std::string name;
  DType dtype = DType::f32;
  Dims shape;
  uint64_t begin = 0, end = 0;  // byte range in the data buffer
};

struct Header {
  std::vector<Entry> entries;  // sorted by byte range
  SafetensorsMetadata metadata;
  uint64_t data_start = 0;  // file offset of the data buffer
};

// ---------------------------------------------------------------- writing

std::string shape_json(const Dims& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string metadata_json(const SafetensorsMetadata& metadata) {
  std::string s = json_quote(kMetadataKey) + ":{";
  for (const auto& [key, value] : metadata) {
    if (s.back() != '{') s += ',';
    s += json_quote(key);
    s += ':';
    s += json_quote(value);
  }
  return s + "}";
}

// Names must make a valid header: unique, UTF-8, not the metadata key.
void check_names(const NamedTensors& tensors, const SafetensorsMetadata& metadata, const std::string& path) {
  auto invalid = [&](const auto&... what) { fail<ValueError>("save_safetensors: ", path, ": ", what...); };
  std::set<std::string_view> seen;
  for (const auto& [name, t] : tensors) {
    if (!is_valid_utf8(name)) invalid("tensor name ", json_quote(name), " is not valid UTF-8");
    if (name == kMetadataKey) invalid("a tensor cannot be named \"", kMetadataKey, "\" (the header's metadata key)");
    if (!seen.insert(name).second) invalid("two tensors are named ", json_quote(name));
    if (!t.defined()) invalid("tensor ", json_quote(name), " is undefined");
    if (t.device() != Device{}) invalid("tensor ", json_quote(name), " is on ", t.device(), ", not the CPU");
  }
  for (const auto& [key, value] : metadata)
    if (!is_valid_utf8(key) || !is_valid_utf8(value)) invalid("metadata entry ", json_quote(key), " is not valid UTF-8");
}

// ---------------------------------------------------------------- reading

DType dtype_from_name(const std::string& name, JsonReader& json, const std::string& tensor) {
  for (const SafetensorsDType& d : kDTypes)
    if (name == d.name) return d.dtype;
  json.error("tensor " + tensor + ": unsupported dtype " + json_quote(name) +
             " (cajal reads F32, F64, I64, I32, U8, BOOL and BF16)");
}

// One tensor's {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}.
Entry parse_entry(JsonReader& json, const std::string& name) {
  Entry e;
  e.name = name;
  std::string quoted = json_quote(name);
  bool has_dtype = false, has_shape = false, has_offsets = false;
  json.object([&](const std::string& field) {
    if (field == "dtype") {
      e.dtype = dtype_from_name(json.string(), json, quoted);
      has_dtype = true;
    } else if (field == "shape") {
      json.array([&] {
        if (e.shape.size() == kMaxDims) json.error("tensor " + quoted + ": shape has more than " + std::to_string(kMaxDims) + " dims");
        uint64_t size = json.unsigned_integer();
        if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) json.error("tensor " + quoted + ": size in shape too large");
        e.shape.push_back(static_cast<int64_t>(size));
      });
      has_shape = true;
    } else if (field == "data_offsets") {
      std::vector<uint64_t> offsets;
      json.array([&] {
        if (offsets.size() == 2) json.error("tensor " + quoted + ": data_offsets must be [begin, end]");
        offsets.push_back(json.unsigned_integer());
      });
      if (offsets.size() != 2) json.error("tensor " + quoted + ": data_offsets must be [begin, end]");
      e.begin = offsets[0];
      e.end = offsets[1];
      has_offsets = true;
    } else {
      json.error("tensor " + quoted + ": unknown field " + json_quote(field));
    }
  });
  if (!has_dtype || !has_shape || !has_offsets)
    json.error("tensor " + quoted + ": \"dtype\", \"shape\" and \"data_offsets\" are all required");
  return e;
}

// Bytes a tensor of this shape and dtype holds. Fails unless the product of the nonzero sizes
// times the element size fits int64, so that every size and stride of the tensor does.
template <typename Fail>
uint64_t byte_size(const Entry& e, const Fail& problem) {
  uint64_t nonzero = dtype_size(e.dtype);
  bool empty = false;
  for (int64_t s : e.shape) {
    if (s == 0) empty = true;
    else if (__builtin_mul_overflow(nonzero, static_cast<uint64_t>(s), &nonzero) ||
             nonzero > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      problem("tensor ", json_quote(e.name), ": shape ", e.shape, " is too large");
  }
  return empty ? 0 : nonzero;
}

// Reads and checks the header of the open file `in` of `file_size` bytes. `who` names the
// operation in error messages.
Header read_header(std::ifstream& in, uint64_t file_size, const std::string& path, const char* who) {
  auto problem = [&](const auto&... what) { fail<IOError>(who, ": ", path, ": ", what...); };
  if (file_size < 8) problem("truncated file (", file_size, " bytes, shorter than the 8-byte header length)");
  unsigned char length_bytes[8] = {};
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= static_cast<uint64_t>(length_bytes[i]) << (8 * i);
  if (header_length > kMaxHeaderSize) problem("header length ", header_length, " is over the ", kMaxHeaderSize, "-byte limit");
  if (header_length > file_size - 8)
    problem("truncated file (header of ", header_length, " bytes runs past the end of the ", file_size, "-byte file)");

  std::string text(header_length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_length));
  if (static_cast<uint64_t>(in.gcount()) != header_length) problem("truncated file (read failed: the file changed?)");
  if (text.empty() || text[0] != '{') problem("the header does not start with '{' (not a safetensors file?)");

  Header h;
  h.data_start = 8 + header_length;
  JsonReader json(text, std::string(who) + ": " + path + ": header");
  json.object([&](const std::string& key) {
    if (key != kMetadataKey) {
      if (h.entries.size() == kMaxTensors) json.error("lists more than " + std::to_string(kMaxTensors) + " tensors, the most cajal reads");
      h.entries.push_back(parse_entry(json, key));
      return;
    }
    json.object([&](const std::string& meta_key) {
      if (json.peek() != '"') json.error("metadata value of " + json_quote(meta_key) + " is not a string");
      h.metadata[meta_key] = json.string();
    });
  });
  json.finish();

  // Each byte range must match its tensor and lie in the buffer; together they must tile it.
  uint64_t buffer_size = file_size - h.data_start;
  for (const Entry& e : h.entries) {
    std::string name = json_quote(e.name);
    if (e.begin > e.end) problem("tensor ", name, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
    if (e.end > buffer_size)
      problem("tensor ", name, ": data_offsets [", e.begin, ", ", e.end, "] run past the end of the ", buffer_size,
              "-byte data buffer (truncated file?)");
    uint64_t bytes = byte_size(e, problem);
    if (e.end - e.begin != bytes)
      problem("tensor ", name, ": shape ", e.shape, " of ", dtype_name(e.dtype), " needs ", bytes, " bytes, data_offsets [",
              e.begin, ", ", e.end, "] hold ", e.end - e.begin);
  }
  std::stable_sort(h.entries.begin(), h.entries.end(),
                   [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;  // the buffer's bytes [0, covered) belong to the tensors seen so far
  for (size_t i = 0; i < h.entries.size(); ++i) {
    const Entry& e = h.entries[i];
    if (e.begin < covered) {
      const Entry& prev = h.entries[i - 1];
      problem("tensor ", json_quote(e.name), " (bytes [", e.begin, ", ", e.end, ")) overlaps tensor ", json_quote(prev.name),
              " (bytes [", prev.begin, ", ", prev.end, "))");
    }
    if (e.begin > covered) problem("bytes [", covered, ", ", e.begin, ") of the data buffer belong to no tensor");
    covered = e.end;
  }
  if (covered != buffer_size) problem("bytes [", covered, ", ", buffer_size, ") of the data buffer belong to no tensor");
  return h;
}

// Opens `path` and reads its header; `in` is left at the start of the data buffer.
Header open_and_read_header(std::ifstream& in, const std::string& path, const char* who) {
  refuse_special_file(path, std::string(who) + ": ");
  std::error_code ec;
  uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail<IOError>(who, ": ", path, ": cannot read: ", ec.message());
  in.open(path, std::ios::binary);
  if (!in) fail<IOError>(who, ": ", path, ": cannot open: ", std::strerror(errno));
  return read_header(in, file_size, path, who);
}

}  // namespace

void save_safetensors(const NamedTensors& tensors, const std::string& path, const SafetensorsMetadata& metadata) {
  check_names(tensors, metadata, path);
  // The reference writer's order: decreasing alignment, then name.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    size_t ra = alignment_rank(tensors[a].second.dtype()), rb = alignment_rank(tensors[b].second.dtype());
    return ra != rb ? ra > rb : tensors[a].first < tensors[b].first;
  });

  std::string header = "{";
  if (!metadata.empty()) header += metadata_json(metadata);
  TensorList data;  // row-major copies of non-contiguous tensors, kept alive until written
  std::vector<std::span<const char>> chunks(1);  // chunks[0]: length and header, filled in below
  uint64_t offset = 0;
  for (size_t i : order) {
    const auto& [name, t] = tensors[i];
    data.push_back(t.is_contiguous() ? t : convert(t, t.dtype()));
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    if (header.size() > 1) header += ',';
    header += json_quote(name);
    header += ":{\"dtype\":\"";
    header += kDTypes[alignment_rank(t.dtype())].name;
    header += "\",\"shape\":";
    header += shape_json(t.sizes());
    header += ",\"data_offsets\":[";
    header += std::to_string(offset);
    header += ',';
    header += std::to_string(offset + bytes);
    header += "]}";
    chunks.push_back({static_cast<const char*>(data.back().raw_data()), bytes});
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned

  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((static_cast<uint64_t>(header.size()) >> (8 * i)) & 0xff);
  prefix += header;
  chunks[0] = prefix;
  write_file_atomically(path, chunks, "save_safetensors");
}

NamedTensors load_safetensors(const std::string& path) {
  std::ifstream in;
  Header h = open_and_read_header(in, path, "load_safetensors");
  NamedTensors out;
  out.reserve(h.entries.size());
  for (const Entry& e : h.entries) {  // sorted by offset and tiling the buffer: one sequential read
    Tensor t = make_tensor(e.shape, e.dtype);
    uint64_t bytes = e.end - e.begin;
    in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(bytes));
    if (static_cast<uint64_t>(in.gcount()) != bytes)
      fail<IOError>("load_safetensors: ", path, ": truncated file (read failed: the file changed?)");
    if (e.dtype == DType::boolean) {  // any byte other than 0 or 1 is not a valid C++ bool
      auto* p = static_cast<unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < bytes; ++i) p[i] = p[i] != 0;
    }
    out.emplace_back(e.name, std::move(t));
  }
  return out;
}

SafetensorsMetadata load_safetensors_metadata(const std::string& path) {
  std::ifstream in;
  return open_and_read_header(in, path, "load_safetensors_metadata").metadata;
}

}  // namespace cajal
