// NumPy .npy files. The format (numpy.lib.format): the magic "\x93NUMPY", one byte each
// for the major and minor version, the header length (2 bytes little-endian in version
// 1.0, 4 bytes in 2.0 and 3.0), then the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n' so the data starts on a 64-byte boundary, then the
// raw elements. Version 3.0 only allows a UTF-8 header (for structured field names).
#include "cajal/io/npy.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "cajal/io/atomic_file.h"
#include "cajal/io/input_file.h"
#include "cajal/ops/convert.h"

namespace cajal {

static_assert(std::endian::native == std::endian::little, "npy: elements are copied raw, which assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kAlign = 64;                 // data offset alignment NumPy uses
constexpr size_t kMaxHeaderSize = 1 << 20;    // bound on what an untrusted file makes us read

// The dtypes cajal reads and writes, as NumPy spells them on a little-endian machine.
struct NpyDType {
  const char* descr;
  DType dtype;
};
constexpr NpyDType kDTypes[] = {
    {"<f4", DType::f32}, {"<f8", DType::f64}, {"<i8", DType::i64},     {"<i4", DType::i32},
    {"|u1", DType::u8},  {"|i1", DType::i8},  {"|b1", DType::boolean}, {"<u2", DType::bf16},  // bf16: raw bits
};

const char* descr_of(DType dtype) {
  for (const NpyDType& d : kDTypes)
    if (d.dtype == dtype) return d.descr;
  fail<DTypeError>("save_npy: no .npy dtype for ", dtype_name(dtype));
}

// ---------------------------------------------------------------- writing

// Python tuple syntax: () for 0-d, (3,) for one dim, (2, 3) otherwise.
std::string shape_literal(const Dims& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Magic, version, length and padded header: everything before the data.
std::string file_prefix(DType dtype, const Dims& shape) {
  std::string dict = std::string("{'descr': '") + descr_of(dtype) + "', 'fortran_order': False, 'shape': " +
                     shape_literal(shape) + ", }";
  auto padded_length = [&](size_t before_header) {  // header length that aligns the data
    size_t total = (before_header + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;
    return total - before_header;
  };
  // Version 1.0 stores the length in 2 bytes; only headers of thousands of dims need 2.0.
  size_t length_bytes = padded_length(kMagicSize + 2 + 2) <= 0xffff ? 2 : 4;
  size_t header_length = padded_length(kMagicSize + 2 + length_bytes);
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(length_bytes == 2 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < length_bytes; ++i) out += static_cast<char>((header_length >> (8 * i)) & 0xff);
  out += dict;
  out.append(header_length - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

// ---------------------------------------------------------------- reading

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Dims shape;
};

// Parses the header dict by hand (never eval): keys and descr are quoted strings,
// fortran_order is True or False, shape is a tuple of non-negative integers. Keys may come
// in any order; each of the three must appear exactly once.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{', "expected '{'");
    while (!accept('}')) {
      std::string key = string_literal();
      expect(':', "expected ':' after a key");
      if (key == "descr") {
        mark_seen(seen_descr, key);
        skip_spaces();
        if (peek() == '[') fail<IOError>("load_npy: ", path_, ": unsupported dtype: structured arrays are not supported");
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        mark_seen(seen_order, key);
        h.fortran_order = bool_literal();
      } else if (key == "shape") {
        mark_seen(seen_shape, key);
        h.shape = shape_tuple();
      } else {
        error("unknown key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}', "expected ',' or '}'");
        break;
      }
    }
    skip_spaces();
    if (pos_ != text_.size()) error("unexpected characters after '}'");
    if (!seen_descr || !seen_order || !seen_shape) error("'descr', 'fortran_order' and 'shape' are all required");
    return h;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail<IOError>("load_npy: ", path_, ": malformed header: ", what, " (at header byte ", pos_, ")");
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_spaces() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n') ++pos_;
  }
  bool accept(char c) {  // c is never '\0', which peek() returns at the end
    skip_spaces();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* what) {
    if (!accept(c)) error(what);
  }
  void mark_seen(bool& seen, const std::string& key) {
    if (seen) error("duplicate key '" + key + "'");
    seen = true;
  }
  std::string string_literal() {
    skip_spaces();
    char quote = peek();
    if (quote != '\'' && quote != '"') error("expected a quoted string");
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) error("unterminated string");
    std::string s = text_.substr(pos_ + 1, end - pos_ - 1);
    if (s.find('\\') != std::string::npos) error("escapes in strings are not supported");
    pos_ = end + 1;
    return s;
  }
  bool bool_literal() {
    skip_spaces();
    for (bool value : {true, false}) {
      std::string word = value ? "True" : "False";
      if (text_.compare(pos_, word.size(), word) == 0) {
        pos_ += word.size();
        return value;
      }
    }
    error("expected True or False");
  }
  int64_t size_literal() {
    skip_spaces();
    if (peek() == '-') error("negative size in shape");
    if (peek() < '0' || peek() > '9') error("expected a size");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      int digit = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) error("size in shape too large");
      v = v * 10 + digit;
      ++pos_;
    }
    return v;
  }
  Dims shape_tuple() {
    expect('(', "expected '(' to open the shape");
    Dims shape;
    while (!accept(')')) {
      shape.push_back(size_literal());
      if (!accept(',')) {
        expect(')', "expected ',' or ')' in the shape");
        break;
      }
    }
    return shape;
  }

  const std::string& text_;
  const std::string& path_;
  size_t pos_ = 0;
};

Dims reversed(const Dims& d) { return Dims(std::make_reverse_iterator(d.end()), std::make_reverse_iterator(d.begin())); }

DType dtype_of_descr(const std::string& descr, std::optional<DType> wanted, const std::string& path) {
  for (const NpyDType& d : kDTypes) {
    if (descr != d.descr) continue;
    if (d.dtype == DType::bf16 && wanted != DType::bf16)
      fail<IOError>("load_npy: ", path, ": unsupported dtype '<u2' (uint16); if it holds bfloat16 bits saved by "
                    "cajal, load it with load_npy(path, DType::bf16)");
    return d.dtype;
  }
  fail<IOError>("load_npy: ", path, ": unsupported dtype '", descr,
                "' (cajal reads little-endian <f4 <f8 <i8 <i4 |u1 |b1, and <u2 as bfloat16 when asked)");
}

}  // namespace

void save_npy(const Tensor& t, const std::string& path) {
  if (!t.defined()) fail<ValueError>("save_npy: ", path, ": the tensor is undefined");
  if (t.device() != Device{}) fail<ValueError>("save_npy: ", path, ": the tensor is on ", t.device(), ", not the CPU");
  Tensor data = t.is_contiguous() ? t : convert(t, t.dtype());  // any view: copy to row-major
  std::string prefix = file_prefix(t.dtype(), t.sizes());
  write_file_atomically(path, {prefix, {static_cast<const char*>(data.raw_data()), data.numel() * data.element_size()}},
                        "save_npy");
}

Tensor load_npy(const std::string& path, std::optional<DType> wanted) {
  auto problem = [&](const auto&... what) { fail<IOError>("load_npy: ", path, ": ", what...); };
  refuse_special_file(path, "load_npy: ");
  std::error_code ec;
  uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) problem("cannot read: ", ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) problem("cannot open: ", std::strerror(errno));

  // Magic, version and header length.
  unsigned char start[12];
  if (file_size < 10) problem("truncated file (", file_size, " bytes, shorter than the 10-byte .npy preamble)");
  in.read(reinterpret_cast<char*>(start), 10);
  if (std::memcmp(start, kMagic, kMagicSize) != 0) problem("bad magic (not an .npy file)");
  int major = start[6], minor = start[7];
  if (minor != 0 || major < 1 || major > 3) problem("unsupported .npy format version ", major, ".", minor);
  size_t length_bytes = major == 1 ? 2 : 4;
  uint64_t header_start = 8 + length_bytes;
  if (file_size < header_start) problem("truncated file (", file_size, " bytes, no room for the header length)");
  if (length_bytes == 4) in.read(reinterpret_cast<char*>(start) + 10, 2);
  uint64_t header_length = 0;
  for (size_t i = 0; i < length_bytes; ++i) header_length |= static_cast<uint64_t>(start[8 + i]) << (8 * i);
  if (header_length > file_size - header_start)
    problem("truncated file (header of ", header_length, " bytes runs past the end of the ", file_size, "-byte file)");
  if (header_length > kMaxHeaderSize) problem("header of ", header_length, " bytes is over the ", kMaxHeaderSize, "-byte limit");

  std::string text(header_length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_length));
  NpyHeader header = HeaderParser(text, path).parse();
  DType dtype = dtype_of_descr(header.descr, wanted, path);
  if (wanted && *wanted != dtype) problem("holds ", dtype_name(dtype), ", expected ", dtype_name(*wanted));

  // The data must be exactly shape's product times the element size, computed without overflow.
  uint64_t data_bytes = dtype_size(dtype);
  for (int64_t s : header.shape)
    if (__builtin_mul_overflow(data_bytes, static_cast<uint64_t>(s), &data_bytes))
      problem("shape ", header.shape, " is too large");
  uint64_t available = file_size - header_start - header_length;
  if (data_bytes != available)
    problem(data_bytes > available ? "truncated file" : "size mismatch", " (shape ", header.shape, " of ", header.descr,
            " needs ", data_bytes, " bytes of data, the file has ", available, ")");

  // Fortran order: the file holds the transpose in C order; read it so, then view it with
  // reversed strides.
  Tensor t = make_tensor(header.fortran_order ? reversed(header.shape) : header.shape, dtype);
  in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(data_bytes));
  if (static_cast<uint64_t>(in.gcount()) != data_bytes) problem("truncated file (read failed: the file changed?)");
  if (dtype == DType::boolean) {  // any byte other than 0 or 1 is not a valid C++ bool
    auto* bytes = static_cast<unsigned char*>(t.raw_data());
    for (uint64_t i = 0; i < data_bytes; ++i) bytes[i] = bytes[i] != 0;
  }
  if (!header.fortran_order) return t;
  return t.as_strided(header.shape, reversed(t.strides()), 0);
}

}  // namespace cajal
