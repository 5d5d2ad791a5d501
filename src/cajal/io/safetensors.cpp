// safetensors files: the format is described in safetensors.h. The reader trusts nothing in
// the file: every number is checked against the file's size before it sizes an allocation
// or a read.
#include "cajal/io/safetensors.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <numeric>
#include <optional>
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
constexpr char kHeaderChecksum[] = "cajal.crc32.header";  // see save_safetensors
constexpr char kDataChecksum[] = "cajal.crc32.data";

// The dtypes cajal reads and writes, listed in the order of the reference implementation's
// Dtype enum, which is increasing alignment: the writer puts the most aligned first.
struct SafetensorsDType {
  const char* name;
  DType dtype;
};
constexpr SafetensorsDType kDTypes[] = {
    {"BOOL", DType::boolean}, {"U8", DType::u8}, {"I8", DType::i8},   {"BF16", DType::bf16}, {"I32", DType::i32},
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
  SafetensorsMetadata metadata;  // without the checksum entries
  uint64_t data_start = 0;  // file offset of the data buffer
  std::optional<std::string> data_crc;  // the data buffer's checksum, when the file has one
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

// The header's JSON as the reference writer makes it (without padding): the metadata, then the
// entries in order. The reader rebuilds the same text from what it parsed to check a checksum.
std::string header_json(const SafetensorsMetadata& metadata, const std::vector<Entry>& entries) {
  std::string header = "{";
  if (!metadata.empty()) header += metadata_json(metadata);
  for (const Entry& e : entries) {
    if (header.size() > 1) header += ',';
    header += json_quote(e.name);
    header += ":{\"dtype\":\"";
    header += kDTypes[alignment_rank(e.dtype)].name;
    header += "\",\"shape\":";
    header += shape_json(e.shape);
    header += ",\"data_offsets\":[";
    header += std::to_string(e.begin);
    header += ',';
    header += std::to_string(e.end);
    header += "]}";
  }
  return header + "}";
}

// CRC-32 (zlib's) as 8 lowercase hex digits.
std::string crc_text(uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", crc);
  return text;
}

uint32_t crc32_of(uint32_t crc, const void* data, uint64_t size) {
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes sizes as uInt
    const auto part = static_cast<uInt>(std::min<uint64_t>(size, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, bytes, part));
    bytes += part;
    size -= part;
  }
  return crc;
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

// The header text as a stream buffer that tells how many bytes the parser has read.
struct TextBuffer : std::streambuf {
  explicit TextBuffer(std::string& text) { setg(text.data(), text.data(), text.data() + text.size()); }
  size_t bytes_read() const { return static_cast<size_t>(gptr() - eback()); }
};

// Reads a header with nlohmann::json's SAX parser, checking each event against the schema
//   {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...,
//    "__metadata__": {"<key>": "<value>", ...}}
// so nothing is built for a value the schema does not allow and nesting deeper than three
// levels fails at once. Errors are IOErrors "<context>: <what> (at byte N)", N being the last
// byte of the header read.
class HeaderParser {
 public:
  HeaderParser(std::string& text, std::string context, Header& header)
      : text_(text), buffer_(text), context_(std::move(context)), header_(header) {}

  void parse() {
    std::istream in(&buffer_);
    nlohmann::json::sax_parse(in, this);  // every problem throws
  }

  // The SAX events.
  bool start_object(size_t) {
    if (at_ == At::Start) {
      at_ = At::Names;
    } else if (at_ == At::Names) {
      at_ = name_ == kMetadataKey ? At::Metadata : At::Entry;
      entry_ = Entry();
      entry_.name = name_;
      keys_.clear();
    } else {
      mismatch();
    }
    return true;
  }
  bool key(std::string& key) {
    if (!(at_ == At::Names ? names_ : keys_).insert(key).second) error("duplicate key " + json_quote(key));
    if (at_ == At::Entry && key != "dtype" && key != "shape" && key != "data_offsets")
      tensor_error("unknown field " + json_quote(key));
    (at_ == At::Names ? name_ : key_) = std::move(key);
    return true;
  }
  bool end_object() {
    if (at_ == At::Entry) {
      if (keys_.size() != 3) tensor_error("\"dtype\", \"shape\" and \"data_offsets\" are all required");
      if (header_.entries.size() == kMaxTensors)
        error("lists more than " + std::to_string(kMaxTensors) + " tensors, the most cajal reads");
      header_.entries.push_back(std::move(entry_));
    } else if (at_ == At::Names) {  // the end; checked here because nlohmann reads a NUL byte as the end of the input
      size_t rest = text_.find_first_not_of(" \t\n\r", buffer_.bytes_read());
      if (rest != std::string::npos) error("unexpected characters after the end", rest);
    }
    at_ = At::Names;
    return true;
  }
  bool start_array(size_t) {
    if (at_ != At::Entry || key_ == "dtype") mismatch();
    at_ = key_ == "shape" ? At::Shape : At::Offsets;
    offsets_ = 0;
    return true;
  }
  bool end_array() {
    if (at_ == At::Offsets && offsets_ != 2) tensor_error("data_offsets must be [begin, end]");
    at_ = At::Entry;
    return true;
  }
  bool string(std::string& value) {
    if (at_ == At::Metadata) {
      header_.metadata[key_] = std::move(value);
    } else if (at_ == At::Entry && key_ == "dtype") {
      auto d = std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const SafetensorsDType& d) { return value == d.name; });
      if (d == std::end(kDTypes))
        tensor_error("unsupported dtype " + json_quote(value) + " (cajal reads F32, F64, I64, I32, U8, BOOL and BF16)");
      entry_.dtype = d->dtype;
    } else {
      mismatch();
    }
    return true;
  }
  bool number_unsigned(uint64_t n) {
    if (at_ == At::Shape) {
      if (entry_.shape.size() == kMaxDims) tensor_error("shape has more than " + std::to_string(kMaxDims) + " dims");
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) tensor_error("size in shape too large");
      entry_.shape.push_back(static_cast<int64_t>(n));
    } else if (at_ == At::Offsets) {
      if (offsets_ == 2) tensor_error("data_offsets must be [begin, end]");
      (offsets_++ == 0 ? entry_.begin : entry_.end) = n;
    } else {
      mismatch();
    }
    return true;
  }
  bool number_integer(int64_t) { return not_an_unsigned_integer("expected a non-negative integer, found a negative number"); }
  bool number_float(double, const std::string& text) {  // also integers above 2^64 - 1
    if (text[0] == '-') return number_integer(0);
    return not_an_unsigned_integer(text.find_first_of(".eE") == std::string::npos ? "integer too large"
                                                                                   : "expected an integer, found a fraction or exponent");
  }
  bool boolean(bool) { mismatch(); }
  bool null() { mismatch(); }
  bool binary(nlohmann::json::binary_t&) { mismatch(); }

  // A syntax error: nlohmann's message in cajal's words.
  bool parse_error(size_t position, const std::string& token, const nlohmann::json::exception& e) {
    static constexpr std::pair<const char*, const char*> kWords[] = {
        {"ill-formed UTF-8", "invalid UTF-8"},
        {"missing closing quote", "unterminated string"},
        {"forbidden character after backslash", "invalid escape in a string"},
        {"must be followed by 4 hex digits", "expected four hex digits after \\u"},
        {"surrogate", "unpaired surrogate in a \\u escape"},
        {"control character", "unescaped control character in a string"},
        {"; expected string literal", "expected a string"},
        {"; expected ':'", "expected ':' after a key"},
        {"; expected '}'", "expected ',' or '}'"},
        {"; expected ']'", "expected ',' or ']'"},
        {"; expected end of input", "unexpected characters after the end"},
    };
    // nlohmann's message quotes the text last read, which is the file's: only its own words
    // are matched (fuzz/model_file_fuzz: a quoted "unexpected number literal" sent the
    // leading-zero check below to a byte before the header).
    std::string what = e.what();
    const std::string quoted = "; last read: '" + token + "'";
    if (size_t from = what.find(quoted); from != std::string::npos) what.erase(from, quoted.size());
    size_t at = position - 1;
    // No number ends just before a digit except "0" or "-0": "01" reads as 0, then 1.
    if (what.find("unexpected number literal") != std::string::npos && position > token.size() &&
        text_[position - token.size() - 1] == '0')
      error("integer with a leading zero", at);
    for (auto [theirs, ours] : kWords)
      if (what.find(theirs) != std::string::npos) error(ours, at);
    mismatch(at);  // a value the parser could not read ("while parsing value", "number overflow")
  }

 private:
  // Where the parser is: before the header, in the object of names, in one tensor's entry,
  // in the metadata, in a shape or in data_offsets.
  enum class At { Start, Names, Entry, Metadata, Shape, Offsets };

  [[noreturn]] void error(const std::string& what, size_t at) const { fail<IOError>(context_, ": ", what, " (at byte ", at, ")"); }
  [[noreturn]] void error(const std::string& what) const { error(what, buffer_.bytes_read() - 1); }
  [[noreturn]] void tensor_error(const std::string& what) const { error("tensor " + json_quote(name_) + ": " + what); }
  // Fails for a value the schema does not allow here.
  [[noreturn]] void mismatch(size_t at) const {
    switch (at_) {
      case At::Metadata: error("metadata value of " + json_quote(key_) + " is not a string", at);
      case At::Entry: error(key_ == "dtype" ? "expected a string" : "expected '['", at);
      case At::Shape:
      case At::Offsets: error("expected a non-negative integer", at);
      default: error("expected '{'", at);
    }
  }
  [[noreturn]] void mismatch() const { mismatch(buffer_.bytes_read() - 1); }
  [[noreturn]] bool not_an_unsigned_integer(const char* what) const {
    if (at_ != At::Shape && at_ != At::Offsets) mismatch();
    error(what);
  }

  const std::string& text_;
  TextBuffer buffer_;
  std::string context_;
  Header& header_;
  At at_ = At::Start;
  std::string name_, key_;       // the last tensor name; the last key in an entry or the metadata
  std::set<std::string> names_;  // the names so far, "__metadata__" included
  std::set<std::string> keys_;   // the keys so far in this entry or the metadata
  Entry entry_;                  // the entry being read
  int offsets_ = 0;              // numbers read in data_offsets
};

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
  HeaderParser(text, std::string(who) + ": " + path + ": header", h).parse();

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

  // A checksummed file (cajal's own): both checksums or it is corrupt; the header's is checked
  // here, on the text the writer checksummed, rebuilt from what was parsed.
  auto header_crc = h.metadata.find(kHeaderChecksum), data_crc = h.metadata.find(kDataChecksum);
  if (header_crc != h.metadata.end() || data_crc != h.metadata.end()) {
    auto corrupt = [&](const char* what) { fail<IOError>(who, ": ", path, " is corrupt: ", what); };
    if (header_crc == h.metadata.end() || data_crc == h.metadata.end()) corrupt("one of its two checksums is missing");
    const std::string expected = header_crc->second;
    h.data_crc = data_crc->second;
    h.metadata.erase(header_crc);
    h.metadata.erase(data_crc);
    const std::string canonical = header_json(h.metadata, h.entries);
    if (crc_text(crc32_of(0, canonical.data(), canonical.size())) != expected) corrupt("checksum mismatch (header)");
  }
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

void save_safetensors(const NamedTensors& tensors, const std::string& path, const SafetensorsMetadata& metadata,
                      bool checksum) {
  check_names(tensors, metadata, path);
  // The reference writer's order: decreasing alignment, then name.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    size_t ra = alignment_rank(tensors[a].second.dtype()), rb = alignment_rank(tensors[b].second.dtype());
    return ra != rb ? ra > rb : tensors[a].first < tensors[b].first;
  });

  TensorList data;  // row-major copies of non-contiguous tensors, kept alive until written
  std::vector<std::span<const char>> chunks(1);  // chunks[0]: length and header, filled in below
  std::vector<Entry> entries;
  uint64_t offset = 0;
  for (size_t i : order) {
    const auto& [name, t] = tensors[i];
    data.push_back(t.is_contiguous() ? t : convert(t, t.dtype()));
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    entries.push_back({name, t.dtype(), t.sizes(), offset, offset + bytes});
    chunks.push_back({static_cast<const char*>(data.back().raw_data()), bytes});
    offset += bytes;
  }
  std::string header;
  if (checksum) {
    SafetensorsMetadata with_checksums = metadata;
    with_checksums.erase(kHeaderChecksum);
    with_checksums.erase(kDataChecksum);
    const std::string canonical = header_json(with_checksums, entries);
    uint32_t data_crc = crc32_of(0, nullptr, 0);
    for (size_t c = 1; c < chunks.size(); ++c) data_crc = crc32_of(data_crc, chunks[c].data(), chunks[c].size());
    with_checksums[kHeaderChecksum] = crc_text(crc32_of(0, canonical.data(), canonical.size()));
    with_checksums[kDataChecksum] = crc_text(data_crc);
    header = header_json(with_checksums, entries);
  } else {
    header = header_json(metadata, entries);
  }
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
  uint32_t crc = crc32_of(0, nullptr, 0);
  for (const Entry& e : h.entries) {  // sorted by offset and tiling the buffer: one sequential read
    Tensor t = make_tensor(e.shape, e.dtype);
    uint64_t bytes = e.end - e.begin;
    in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(bytes));
    if (static_cast<uint64_t>(in.gcount()) != bytes)
      fail<IOError>("load_safetensors: ", path, ": truncated file (read failed: the file changed?)");
    if (h.data_crc) crc = crc32_of(crc, t.raw_data(), bytes);
    if (e.dtype == DType::boolean) {  // any byte other than 0 or 1 is not a valid C++ bool
      auto* p = static_cast<unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < bytes; ++i) p[i] = p[i] != 0;
    }
    out.emplace_back(e.name, std::move(t));
  }
  if (h.data_crc && crc_text(crc) != *h.data_crc)
    fail<IOError>("load_safetensors: ", path, " is corrupt: checksum mismatch (tensor data)");
  return out;
}

SafetensorsMetadata load_safetensors_metadata(const std::string& path) {
  std::ifstream in;
  return open_and_read_header(in, path, "load_safetensors_metadata").metadata;
}

}  // namespace cajal
