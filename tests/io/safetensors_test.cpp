// safetensors files. Oracles: the reference implementation's own test vectors (exact bytes),
// and a hand-written reader and writer in Python (tests/reference/safetensors_reference.py,
// json + numpy + torch, no safetensors package) both ways. Untrusted files: every malformed
// header, truncation, bit flip and random header gives an IOError naming the file, never a
// crash or a read out of bounds.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "cajal/io/safetensors.h"
#include "cajal/ops/convert.h"
#include "support/test_support.h"

using namespace cajal;
namespace fs = std::filesystem;

namespace {

// The values safetensors_reference.py's RAMP gives element i (C order) for each dtype.
double ramp_value(DType dtype, int64_t i) {
  switch (dtype) {
    case DType::i64: return static_cast<double>(i) * 3000000000.0 - 5;
    case DType::i32: return static_cast<double>(i * 1000 - 7);
    case DType::u8: return static_cast<double>((i * 37) % 256);
    case DType::boolean: return i % 3 == 0;
    default: return static_cast<double>(i) * 0.25 - 2;
  }
}

Tensor ramp(const Dims& shape, DType dtype) {
  Tensor t = make_tensor(shape, DType::f64);
  double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = ramp_value(dtype, i);
  return convert(t, dtype);
}

// Every dtype with the name the reference script gives its tensor.
const std::pair<DType, const char*> kAllDTypes[] = {{DType::f32, "f32"}, {DType::f64, "f64"},      {DType::i64, "i64"},
                                                    {DType::i32, "i32"}, {DType::u8, "u8"},        {DType::boolean, "bool"},
                                                    {DType::bf16, "bf16"}};

// The reference script's EXPECTED: one [2, 3, 4] ramp per dtype, a 0-d and an empty tensor.
NamedTensors expected_tensors() {
  NamedTensors out;
  for (auto [dtype, name] : kAllDTypes) out.emplace_back(name, ramp({2, 3, 4}, dtype));
  out.emplace_back("scalar", scalar_tensor(-1.75, DType::f64));
  out.emplace_back("empty", ramp({0, 3}, DType::f32));
  return out;
}

// The script's METADATA.
const SafetensorsMetadata kMetadata = {
    {"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\" back\\slash\nnew line \x01 \xf0\x9f\xa7\xa0"}};

const Tensor& find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  ADD_FAILURE() << "no tensor named " << name;
  static Tensor none;
  return none;
}

std::vector<std::string> names_of(const NamedTensors& tensors) {
  std::vector<std::string> names;
  for (const auto& [n, t] : tensors) names.push_back(n);
  return names;
}

// Same dtype, shape and element bits.
void expect_identical(const Tensor& got, const Tensor& want) {
  ASSERT_TRUE(got.defined());
  EXPECT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.sizes(), want.sizes());
  Tensor w = want.contiguous();
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_EQ(std::memcmp(got.raw_data(), w.raw_data(), w.numel() * w.element_size()), 0) << got << " vs " << want;
}

void expect_same_tensors(const NamedTensors& got, const NamedTensors& want) {
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [name, t] : want) {
    SCOPED_TRACE(name);
    expect_identical(find(got, name), t);
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

uint64_t byte_total(const NamedTensors& tensors) {
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) total += static_cast<uint64_t>(t.numel()) * t.element_size();
  return total;
}

// A file with the given header text (not padded) and data buffer.
std::string file_bytes(const std::string& header, const std::string& data = "") { return le64(header.size()) + header + data; }

// load_safetensors(path) throws an IOError that names the file and contains `problem`.
void expect_io_error(const std::string& path, const std::string& problem) {
  try {
    load_safetensors(path);
    ADD_FAILURE() << "load_safetensors(" << path << ") did not throw; expected: " << problem;
  } catch (const IOError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "expected '" << problem << "' in: " << msg;
  }
}

// Loads a file that may be corrupt: the tensors when it loads, nothing on an IOError naming
// the file; any other outcome fails the test. What loads never holds more bytes than the file.
std::optional<NamedTensors> load_or_io_error(const std::string& path) {
  try {
    NamedTensors tensors = load_safetensors(path);
    EXPECT_LE(byte_total(tensors), fs::file_size(path));
    return tensors;
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    return std::nullopt;
  }
}

// A small valid file: several dtypes, an empty tensor, metadata.
std::string small_file(const std::string& dir) {
  std::string path = dir + "/small.safetensors";
  save_safetensors({{"w", ramp({2, 3}, DType::f32)},
                    {"b", ramp({3}, DType::i64)},
                    {"m", ramp({4}, DType::boolean)},
                    {"h", ramp({2}, DType::bf16)},
                    {"e", ramp({0}, DType::u8)}},
                   path, {{"k", "v"}});
  return read_bytes(path);
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST(Safetensors, RoundTripEveryDTypeZeroDimAndEmpty) {
  std::string path = test::temp_dir() + "/all.safetensors";
  NamedTensors tensors = expected_tensors();
  save_safetensors(tensors, path);
  expect_same_tensors(load_safetensors(path), tensors);
  EXPECT_TRUE(load_safetensors_metadata(path).empty());
}

TEST(Safetensors, RoundTripViews) {
  std::string path = test::temp_dir() + "/views.safetensors";
  Tensor base = ramp({4, 6}, DType::f32);
  NamedTensors views = {{"t", base.t()},
                        {"strided", base.slice(1, 1, 6, 2)},
                        {"row", base[2]},
                        {"expanded", base.slice(0, 1, 2).expand({3, 6})},
                        {"permuted", ramp({2, 3, 4}, DType::i64).permute({2, 0, 1})},
                        {"element", base.select(0, 1).select(0, 3)},
                        {"bf16_t", ramp({3, 5}, DType::bf16).t()}};
  save_safetensors(views, path);
  expect_same_tensors(load_safetensors(path), views);
}

TEST(Safetensors, RoundTripSpecialFloatsBitForBit) {
  std::string path = test::temp_dir() + "/special.safetensors";
  double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  Tensor f64 = from_vector<double>({0.0, -0.0, 1e-310, -1e308, inf, -inf, nan, 0.1});
  NamedTensors tensors = {{"f64", f64}, {"f32", f64.to(DType::f32)}, {"bf16", f64.to(DType::bf16)}};
  save_safetensors(tensors, path);
  expect_same_tensors(load_safetensors(path), tensors);
}

TEST(Safetensors, Metadata) {
  std::string path = test::temp_dir() + "/meta.safetensors";
  save_safetensors({{"w", ramp({2}, DType::f32)}}, path, kMetadata);
  EXPECT_EQ(load_safetensors_metadata(path), kMetadata);
  expect_same_tensors(load_safetensors(path), {{"w", ramp({2}, DType::f32)}});
  // Escaped as JSON: quote, backslash, newline, control character; UTF-8 as is.
  std::string header = read_bytes(path).substr(8);
  for (const char* escaped : {"\\\"quoted\\\"", "back\\\\slash", "\\nnew line", "\\u0001", "caf\xc3\xa9"})
    EXPECT_NE(header.find(escaped), std::string::npos) << escaped;
}

// ---------------------------------------------------------------- layout

// Byte-exact vectors from the reference implementation's tests (safetensors/src/tensor.rs:
// test_empty, test_serialization, test_serialization_forced_alignement).
TEST(Safetensors, SameBytesAsTheReferenceWriter) {
  std::string dir = test::temp_dir();
  save_safetensors({}, dir + "/empty.safetensors");
  EXPECT_EQ(read_bytes(dir + "/empty.safetensors"), le64(8) + "{}      ");

  save_safetensors({}, dir + "/meta.safetensors", {{"framework", "pt"}});
  EXPECT_EQ(read_bytes(dir + "/meta.safetensors"), le64(40) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");

  std::string floats(24, '\0');  // 0, 1, ..., 5 as little-endian float32
  for (int i = 0; i < 6; ++i) {
    float v = static_cast<float>(i);
    std::memcpy(floats.data() + 4 * i, &v, 4);
  }
  Tensor values = arange(0, 6, 1, DType::f32);
  save_safetensors({{"attn.0", values.reshape({1, 2, 3})}}, dir + "/a.safetensors");
  EXPECT_EQ(read_bytes(dir + "/a.safetensors"),
            le64(64) + "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}" + floats);
  save_safetensors({{"attn0", values.reshape({1, 1, 2, 3})}}, dir + "/b.safetensors");
  EXPECT_EQ(read_bytes(dir + "/b.safetensors"),
            le64(72) + "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       " + floats);
}

TEST(Safetensors, TensorsAreOrderedByAlignmentThenName) {
  std::string path = test::temp_dir() + "/order.safetensors";
  NamedTensors tensors = {{"b_bool", ramp({3}, DType::boolean)}, {"a_u8", ramp({1}, DType::u8)},
                          {"z_f32", ramp({1}, DType::f32)},      {"y_f64", ramp({1}, DType::f64)},
                          {"c_bf16", ramp({1}, DType::bf16)},    {"x_i64", ramp({1}, DType::i64)},
                          {"a_f32", ramp({2}, DType::f32)},      {"d_i32", ramp({1}, DType::i32)}};
  save_safetensors(tensors, path);
  // load_safetensors returns the file's data order.
  EXPECT_EQ(names_of(load_safetensors(path)),
            (std::vector<std::string>{"x_i64", "y_f64", "a_f32", "z_f32", "d_i32", "c_bf16", "a_u8", "b_bool"}));
  uint64_t header_length = 0;
  std::string bytes = read_bytes(path);
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);
}

// ---------------------------------------------------------------- PyTorch interop

TEST(Safetensors, PythonReadsFilesWrittenByCajal) {
  std::string dir = test::temp_dir();
  NamedTensors tensors = expected_tensors();
  tensors.emplace_back("transposed", ramp({3, 4}, DType::f64).t());
  tensors.emplace_back("strided", ramp({4, 6}, DType::f32).slice(0, 1, 4).slice(1, 0, 6, 2));
  tensors.emplace_back("expanded", ramp({3, 1}, DType::i64).expand({3, 4}));
  save_safetensors(tensors, dir + "/cajal.safetensors", kMetadata);
  std::string output;
  EXPECT_TRUE(test::run_reference("safetensors_reference.py", "check " + dir, &output)) << output;
}

TEST(Safetensors, CajalReadsFilesWrittenByPython) {
  std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("safetensors_reference.py", "write " + dir));
  for (const char* file : {"/python_plain.safetensors", "/python_pretty.safetensors"}) {
    SCOPED_TRACE(file);
    EXPECT_EQ(read_bytes(dir + file).find("cajal.crc32"), std::string::npos);  // no checksums: loaded unchecked
    expect_same_tensors(load_safetensors(dir + file), expected_tensors());
    EXPECT_EQ(load_safetensors_metadata(dir + file), kMetadata);
  }
  // Written again by cajal, the plain file comes out byte for byte the same.
  save_safetensors(load_safetensors(dir + "/python_plain.safetensors"), dir + "/again.safetensors", kMetadata);
  EXPECT_EQ(read_bytes(dir + "/again.safetensors"), read_bytes(dir + "/python_plain.safetensors"));
}

// ---------------------------------------------------------------- saving errors

TEST(Safetensors, SaveRejectsBadNamesAndLeavesTheOldFile) {
  std::string dir = test::temp_dir(), path = dir + "/w.safetensors";
  save_safetensors({{"w", ramp({2}, DType::f32)}}, path);
  std::string before = read_bytes(path);
  Tensor t = ramp({2}, DType::f32);
  test::expect_error<ValueError>([&] { save_safetensors({{"a", t}, {"a", t}}, path); }, {path, "two tensors are named \"a\""});
  test::expect_error<ValueError>([&] { save_safetensors({{"__metadata__", t}}, path); }, {path, "cannot be named \"__metadata__\""});
  test::expect_error<ValueError>([&] { save_safetensors({{"bad\xff", t}}, path); }, {path, "is not valid UTF-8"});
  test::expect_error<ValueError>([&] { save_safetensors({{"u", Tensor()}}, path); }, {path, "tensor \"u\" is undefined"});
  test::expect_error<ValueError>([&] { save_safetensors({{"w", t}}, path, {{"k", "\xc0\xaf"}}); }, {path, "metadata entry \"k\""});
  EXPECT_EQ(read_bytes(path), before);
  test::expect_error<IOError>([&] { save_safetensors({{"w", t}}, dir + "/missing/x.safetensors"); },
                              {"save_safetensors: ", dir + "/missing/x.safetensors", "cannot create temporary file"});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporary left
}

// ---------------------------------------------------------------- malicious input

TEST(Safetensors, MissingAndTooShortFiles) {
  std::string dir = test::temp_dir();
  expect_io_error(dir + "/nope.safetensors", "cannot read");
  write_bytes(dir + "/short.safetensors", std::string("\x02\x00\x00\x00\x00", 5));
  expect_io_error(dir + "/short.safetensors", "truncated file (5 bytes, shorter than the 8-byte header length)");
}

TEST(Safetensors, HeaderLengthBounds) {
  std::string path = test::temp_dir() + "/len.safetensors";
  write_bytes(path, le64(100'000'001) + "{}");
  expect_io_error(path, "header length 100000001 is over the 100000000-byte limit");
  write_bytes(path, le64(std::numeric_limits<uint64_t>::max()) + "{}");
  expect_io_error(path, "header length 18446744073709551615 is over the 100000000-byte limit");
  write_bytes(path, le64(1000) + "{}");
  expect_io_error(path, "truncated file (header of 1000 bytes runs past the end of the 10-byte file)");
  write_bytes(path, le64(0));
  expect_io_error(path, "does not start with '{'");
}

TEST(Safetensors, MalformedHeaders) {
  std::string path = test::temp_dir() + "/bad.safetensors";
  // A valid entry for "a": one float32 in bytes [0, 4).
  const std::string a = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
  const std::string four(4, '\x01');
  auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return "{\"a\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
  };
  struct Case {
    std::string header, data, problem;
  };
  const Case cases[] = {
      // Not JSON, or not the JSON of a header.
      {"[]", "", "does not start with '{'"},
      {" {}", "", "does not start with '{'"},
      {"__import__('os')", "", "does not start with '{'"},
      {"{\"a\xff\":1}", "", "invalid UTF-8 (at byte 3)"},
      {"{\"\xc0\xaf\":1}", "", "invalid UTF-8"},       // overlong '/'
      {"{\"\xed\xa0\x80\":1}", "", "invalid UTF-8"},   // a surrogate
      {"{\"\xf4\x90\x80\x80\":1}", "", "invalid UTF-8"},  // above U+10FFFF
      {"{", "", "expected a string"},
      {"{" + a + ",}", four, "expected a string"},
      {"{\"a\" 1}", "", "expected ':' after a key"},
      {"{" + a + " x", four, "expected ',' or '}'"},
      {"{" + a + "} x", four, "unexpected characters after the end"},
      {"{" + a + std::string("}\0", 2), four, "unexpected characters after the end"},
      {"{" + a + std::string("}\0{}", 4), four, "unexpected characters after the end (at byte 54)"},  // NUL is no end
      {"{\"abc", "", "unterminated string"},
      {"{\"a\\q\":1}", "", "invalid escape"},
      {"{\"a\\u12\":1}", "", "expected four hex digits"},
      {"{\"\\ud800\":1}", "", "unpaired surrogate"},
      {"{\"\\ud800\\u0041\":1}", "", "unpaired surrogate"},
      {"{\"\\udc00\":1}", "", "unpaired surrogate"},
      {"{\"a\nb\":1}", "", "unescaped control character"},
      // fuzz/model_file_fuzz: the parser's message quotes the text read, escaped (<U+0008>, longer
      // than the byte), so words in a key are not the parser's own.
      {"{\"unexpected number literal\b\b\b\b\b\b\":1}", "", "unescaped control character"},
      {"{\"a\":[1]}", "", "expected '{'"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[[[[[[[[[[1]]]]]]]]]]}}", "", "expected a non-negative integer"},
      // Names and fields.
      {"{" + a + "," + a + "}", four + four, "duplicate key \"a\""},
      {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", "", "duplicate key \"dtype\""},
      {"{\"a\":{\"dtype\":\"F32\",\"offsets\":[0,4]}}", "", "tensor \"a\": unknown field \"offsets\""},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", four, "tensor \"a\": \"dtype\", \"shape\" and \"data_offsets\" are all required"},
      {"{\"a\":{}}", "", "are all required"},
      // dtypes.
      {entry("\"F16\"", "[2]", "[0,4]"), four, "tensor \"a\": unsupported dtype \"F16\" (cajal reads F32, F64, I64, I32, U8, BOOL and BF16)"},
      {entry("\"U64\"", "[1]", "[0,8]"), four + four, "unsupported dtype \"U64\""},
      {entry("\"f32\"", "[1]", "[0,4]"), four, "unsupported dtype \"f32\""},
      {entry("32", "[1]", "[0,4]"), four, "expected a string"},
      // Shapes.
      {entry("\"F32\"", "[-1]", "[0,4]"), four, "found a negative number"},
      {entry("\"F32\"", "[1.0]", "[0,4]"), four, "found a fraction or exponent"},
      {entry("\"F32\"", "[1e0]", "[0,4]"), four, "found a fraction or exponent"},
      {entry("\"F32\"", "[01]", "[0,4]"), four, "leading zero"},
      {entry("\"F32\"", "[0 1]", "[0,4]"), four, "expected ',' or ']'"},
      {entry("\"F32\"", "[1e999]", "[0,4]"), four, "expected a non-negative integer"},
      {entry("\"F32\"", "[\"1\"]", "[0,4]"), four, "expected a non-negative integer"},
      {entry("\"F32\"", "[1,]", "[0,4]"), four, "expected a non-negative integer"},
      {entry("\"F32\"", "1", "[0,4]"), four, "expected '['"},
      {entry("\"F32\"", "[18446744073709551616]", "[0,4]"), four, "integer too large"},
      {entry("\"F32\"", "[9223372036854775808]", "[0,4]"), four, "tensor \"a\": size in shape too large"},
      {entry("\"F32\"", "[4294967296,4294967296]", "[0,4]"), four, "tensor \"a\": shape [4294967296, 4294967296] is too large"},
      {entry("\"F32\"", "[0,4294967296,4294967296]", "[0,0]"), "", "is too large"},  // strides would overflow
      {entry("\"F64\"", "[1152921504606846976]", "[0,8]"), four + four, "is too large"},  // 2^60 * 8 bytes
      // Byte ranges.
      {entry("\"F32\"", "[1]", "[0]"), four, "tensor \"a\": data_offsets must be [begin, end]"},
      {entry("\"F32\"", "[1]", "[0,4,8]"), four, "data_offsets must be [begin, end]"},
      {entry("\"F32\"", "[1]", "[4,0]"), four, "tensor \"a\": data_offsets [4, 0] end before they begin"},
      {entry("\"F32\"", "[2]", "[0,8]"), four, "tensor \"a\": data_offsets [0, 8] run past the end of the 4-byte data buffer"},
      {entry("\"F32\"", "[1]", "[18446744073709551615,4]"), four, "end before they begin"},
      {entry("\"F32\"", "[2]", "[0,4]"), four, "tensor \"a\": shape [2] of float32 needs 8 bytes, data_offsets [0, 4] hold 4"},
      {entry("\"F32\"", "[1]", "[0,4]"), four + four, "bytes [4, 8) of the data buffer belong to no tensor"},
      {entry("\"F32\"", "[1]", "[4,8]"), four + four, "bytes [0, 4) of the data buffer belong to no tensor"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
       std::string(12, '\0'), "bytes [4, 8) of the data buffer belong to no tensor"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
       std::string(12, '\0'), "tensor \"b\" (bytes [4, 12)) overlaps tensor \"a\" (bytes [0, 8))"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
       four, "tensor \"b\" (bytes [0, 4)) overlaps tensor \"a\""},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
       std::string(8, '\0'), "tensor \"b\" (bytes [4, 4)) overlaps tensor \"a\""},
      // Metadata.
      {"{\"__metadata__\":{\"k\":1}}", "", "metadata value of \"k\" is not a string"},
      {"{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", "", "metadata value of \"k\" is not a string"},
      {"{\"__metadata__\":\"x\"}", "", "expected '{'"},
      {"{\"__metadata__\":{},\"__metadata__\":{}}", "", "duplicate key \"__metadata__\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    write_bytes(path, file_bytes(c.header, c.data));
    expect_io_error(path, c.problem);
  }
  // At most 64 dims.
  std::string ones = "[1";
  for (int i = 1; i < 65; ++i) ones += ",1";
  write_bytes(path, file_bytes(entry("\"F32\"", ones + "]", "[0,4]"), four));
  expect_io_error(path, "tensor \"a\": shape has more than 64 dims");
  write_bytes(path, file_bytes(entry("\"F32\"", ones.substr(0, ones.size() - 2) + "]", "[0,4]"), four));
  EXPECT_EQ(load_safetensors(path)[0].second.dim(), 64);
}

TEST(Safetensors, LegalVariations) {
  std::string path = test::temp_dir() + "/ok.safetensors";
  // Whitespace anywhere, fields in any order, escaped names, metadata last, empty tensors at
  // the start, in the middle and at the end, no padding (unaligned data).
  std::string header =
      "{ \"a\\u0062\" :\t{ \"data_offsets\" : [ 0 , 4 ] ,\n\"shape\":[ 1 ],\"dtype\" : \"F32\" } ,\r\n"
      "\"\\/e1\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
      "\"e2\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[4,4]},"
      "\"\\ud83e\\udde0\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[4,7]},"
      "\"e3\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[7,7]}, \"__metadata__\" : { } }   ";
  float one = 1.5f;
  std::string data(4, '\0');
  std::memcpy(data.data(), &one, 4);
  data += std::string("\x00\x02\xff", 3);  // bool bytes other than 0 and 1 read as true
  write_bytes(path, file_bytes(header, data));
  NamedTensors got = load_safetensors(path);
  EXPECT_EQ(names_of(got), (std::vector<std::string>{"/e1", "ab", "e2", "\xf0\x9f\xa7\xa0", "e3"}));
  expect_identical(find(got, "ab"), tensor({1.5f}, {1}));
  expect_identical(find(got, "/e1"), make_tensor({0, 5}, DType::u8));
  expect_identical(find(got, "e2"), make_tensor({2, 0}, DType::i64));
  expect_identical(find(got, "e3"), make_tensor({0}, DType::f64));
  EXPECT_EQ(find(got, "\xf0\x9f\xa7\xa0").to_vector<int>(), (std::vector<int>{0, 1, 1}));
  EXPECT_TRUE(load_safetensors_metadata(path).empty());
}

// ---------------------------------------------------------------- fuzzing

TEST(Safetensors, EveryTruncationIsAnIOError) {
  std::string dir = test::temp_dir(), path = dir + "/cut.safetensors";
  std::string good = small_file(dir);
  for (size_t n = 0; n < good.size(); ++n) {
    write_bytes(path, good.substr(0, n));
    expect_io_error(path, "truncated file");
  }
  write_bytes(path, good + "x");
  expect_io_error(path, "of the data buffer belong to no tensor");
}

TEST(Safetensors, RandomBitFlipsNeverCrash) {
  std::string dir = test::temp_dir(), path = dir + "/flipped.safetensors";
  std::string good = small_file(dir);
  uint64_t data_start = 8;
  for (int i = 0; i < 8; ++i) data_start += static_cast<uint64_t>(static_cast<unsigned char>(good[i])) << (8 * i);
  Generator gen(2024);
  auto next = [&](uint64_t n) { return gen.next_u64() % n; };
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    bool in_length = true, in_data = true;  // where all the flips are
    for (uint64_t k = 0, flips = 1 + next(3); k < flips; ++k) {
      uint64_t pos = next(bytes.size());
      bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << next(8)));
      in_length = in_length && pos < 8;
      in_data = in_data && pos >= data_start;
    }
    write_bytes(path, bytes);
    bool loaded = load_or_io_error(path).has_value();
    rejected += !loaded;
    // A different header length misplaces the data, which then cannot tile the buffer; the
    // data bytes themselves are not checked.
    if (in_length) {
      EXPECT_FALSE(loaded) << "trial " << trial;
    }
    if (in_data && bytes != good) {
      EXPECT_TRUE(loaded) << "trial " << trial;
    }
  }
  EXPECT_GT(rejected, 1000);
}

// Files written with checksums (cajal's model files and checkpoints): each of 400 seeded random
// byte changes is either an IOError naming the file or provably harmless: the metadata and
// tensors it loads are bit for bit those of the sound file (a space of padding become a tab).
// Without checksums the changes of tensor data would load as sound.
TEST(Safetensors, ChecksumsReportEveryDamage) {
  std::string dir = test::temp_dir(), path = dir + "/sound.safetensors", damaged = dir + "/damaged.safetensors";
  save_safetensors(expected_tensors(), path, kMetadata, /*checksum=*/true);
  const std::string good = read_bytes(path);
  for (const char* key : {"\"cajal.crc32.data\":\"", "\"cajal.crc32.header\":\""})
    EXPECT_NE(good.find(key), std::string::npos) << key;
  EXPECT_EQ(load_safetensors_metadata(path), kMetadata);  // the checksums are the reader's, not the caller's
  expect_same_tensors(load_safetensors(path), expected_tensors());

  Generator gen(7);
  int reported = 0, mismatches = 0, harmless = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good;
    const uint64_t pos = gen.next_u64() % bytes.size();
    bytes[pos] = static_cast<char>(bytes[pos] ^ static_cast<char>(1 + gen.next_u64() % 255));
    write_bytes(damaged, bytes);
    try {
      SafetensorsMetadata metadata = load_safetensors_metadata(damaged);
      NamedTensors tensors = load_safetensors(damaged);
      EXPECT_EQ(metadata, kMetadata) << "trial " << trial << ", byte " << pos;
      expect_same_tensors(tensors, expected_tensors());
      ++harmless;
    } catch (const IOError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(damaged), std::string::npos) << message;
      mismatches += message.find(" is corrupt: ") != std::string::npos;
      ++reported;
    }
  }
  EXPECT_EQ(reported + harmless, 400);
  EXPECT_GT(mismatches, 100);  // most bytes are tensor data: checksums are what catches them
  EXPECT_LT(harmless, 10);

  // The two messages, and a file that lost one checksum.
  std::string data_damaged = good;
  data_damaged.back() = static_cast<char>(data_damaged.back() ^ 1);
  write_bytes(damaged, data_damaged);
  expect_io_error(damaged, "damaged.safetensors is corrupt: checksum mismatch (tensor data)");
  std::string metadata_damaged = good;
  metadata_damaged[metadata_damaged.find("\"pt\"") + 1] = 'q';  // "format": "qt"
  write_bytes(damaged, metadata_damaged);
  expect_io_error(damaged, "damaged.safetensors is corrupt: checksum mismatch (header)");
  std::string renamed = good;
  renamed[renamed.find("crc32.data") + 6] = 'b';
  write_bytes(damaged, renamed);
  expect_io_error(damaged, "damaged.safetensors is corrupt: one of its two checksums is missing");
}

TEST(Safetensors, RandomHeadersNeverCrash) {
  std::string path = test::temp_dir() + "/random.safetensors";
  const char* tokens[] = {"{", "}", "[", "]", ":", ",", " ", "\n", "\"a\"", "\"b\"", "\"dtype\"", "\"shape\"",
                          "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"I64\"", "\"BOOL\"", "\"F16\"", "0", "1",
                          "4", "8", "-1", "1.5", "1e2", "18446744073709551615", "99999999999999999999", "\"\\u00e9\"",
                          "\"\\ud800\"", "\"\\\"", "\"", "true", "null", "\xff", "\"\xc3\xa9\"", "\\"};
  Generator gen(99);
  auto next = [&](uint64_t n) { return gen.next_u64() % n; };
  for (int trial = 0; trial < 3000; ++trial) {
    std::string header = "{";
    for (uint64_t k = 0, n = next(40); k < n; ++k) header += tokens[next(std::size(tokens))];
    std::string data(next(33), '\x01');
    write_bytes(path, file_bytes(header, data));
    load_or_io_error(path);
  }
}

// Headers that follow the schema with random dtypes, shapes and byte ranges: the layout
// checks decide. Whatever loads tiles the data buffer exactly.
TEST(Safetensors, RandomLayoutsNeverCrash) {
  std::string path = test::temp_dir() + "/layout.safetensors";
  const std::pair<const char*, uint64_t> dtypes[] = {{"F32", 4}, {"I64", 8}, {"BOOL", 1}, {"BF16", 2}, {"U8", 1}, {"F16", 2}};
  Generator gen(7);
  auto next = [&](uint64_t n) { return gen.next_u64() % n; };
  int loaded = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string header = "{";
    uint64_t offset = 0;
    for (uint64_t t = 0, count = next(4); t < count; ++t) {
      auto [dtype, size] = dtypes[next(std::size(dtypes))];
      std::string shape = "[";
      uint64_t bytes = size;
      for (uint64_t d = 0, rank = next(4); d < rank; ++d) {
        uint64_t extent = next(4);
        bytes *= extent;
        if (d) shape += ',';
        shape += std::to_string(extent);
      }
      // Mostly the right range; sometimes shifted or resized.
      uint64_t begin = next(8) == 0 ? next(20) : offset, end = next(8) == 0 ? begin + next(20) : begin + bytes;
      offset = end;
      if (t) header += ',';
      header += "\"t" + std::to_string(t) + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + "],\"data_offsets\":[" +
                std::to_string(begin) + "," + std::to_string(end) + "]}";
    }
    header += "}";
    std::string data(next(8) == 0 ? next(40) : offset, '\x01');
    write_bytes(path, file_bytes(header, data));
    std::optional<NamedTensors> tensors = load_or_io_error(path);
    if (tensors) {
      EXPECT_EQ(byte_total(*tensors), data.size()) << header;
    }
    (tensors ? loaded : rejected)++;
  }
  EXPECT_GT(loaded, 300);
  EXPECT_GT(rejected, 300);
}
