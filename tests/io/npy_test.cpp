// .npy files: NumPy (tests/reference/npy_reference.py) is the oracle both ways: cajal reads
// what NumPy wrote, NumPy reads and checks what cajal wrote. Malformed files must give an
// IOError naming the file and the problem, never a crash.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "cajal/ops/convert.h"
#include "support/test_support.h"

using namespace cajal;
namespace fs = std::filesystem;

namespace {

// The values npy_reference.py's RAMP gives element i (C order) for each dtype.
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

// Same dtype, shape and values, element for element (NaNs equal).
void expect_identical(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_TRUE(test::all_close(got, want, 0, 0));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A hand-made version 1.0 file with the given header dict and data bytes (the header is
// not padded: alignment is not required for reading).
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

// load_npy(path) throws an IOError whose message names the file and contains `problem`.
void expect_io_error(const std::string& path, const std::string& problem, std::optional<DType> dtype = std::nullopt) {
  try {
    load_npy(path, dtype);
    ADD_FAILURE() << "load_npy(" << path << ") did not throw; expected: " << problem;
  } catch (const IOError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "expected '" << problem << "' in: " << msg;
  }
}

const DType kNumpyDTypes[] = {DType::f32, DType::f64, DType::i64, DType::i32, DType::u8, DType::boolean};
// The reference script's name for each dtype.
std::string kind(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f4";
    case DType::f64: return "f8";
    case DType::i64: return "i8";
    case DType::i32: return "i4";
    case DType::u8: return "u1";
    default: return "b1";
  }
}

}  // namespace

TEST(Npy, RoundTripEveryDType) {
  std::string dir = test::temp_dir();
  for (DType dtype : kNumpyDTypes) {
    std::string path = dir + "/" + kind(dtype) + ".npy";
    Tensor t = ramp({2, 3, 4}, dtype);
    save_npy(t, path);
    expect_identical(load_npy(path), t);
    expect_identical(load_npy(path, dtype), t);
  }
}

TEST(Npy, RoundTripSpecialFloatsBitForBit) {
  std::string path = test::temp_dir() + "/special.npy";
  Tensor t = from_vector<double>({0.0, -0.0, 1e-310, -1e308, std::numeric_limits<double>::infinity(),
                                  std::numeric_limits<double>::quiet_NaN(), 0.1});
  save_npy(t, path);
  Tensor back = load_npy(path);
  ASSERT_EQ(back.numel(), t.numel());
  EXPECT_EQ(std::memcmp(back.raw_data(), t.raw_data(), 7 * sizeof(double)), 0);
}

TEST(Npy, RoundTripViewsZeroDimAndEmpty) {
  std::string dir = test::temp_dir();
  Tensor base = ramp({4, 6}, DType::f32);
  const Tensor views[] = {base.t(), base.slice(1, 1, 6, 2), base[2], base.slice(0, 1, 2).expand({3, 6}),
                          ramp({2, 3, 4}, DType::i64).permute({2, 0, 1}), base.select(0, 1).select(0, 3),
                          ramp({0, 3}, DType::f64), ramp({}, DType::u8)};
  for (const Tensor& v : views) {
    save_npy(v, dir + "/view.npy");
    Tensor back = load_npy(dir + "/view.npy");
    EXPECT_TRUE(back.is_contiguous());
    expect_identical(back, v);
  }
}

TEST(Npy, BFloat16IsStoredAsRawBitsAndLoadsOnlyWhenAsked) {
  std::string path = test::temp_dir() + "/bf16.npy";
  Tensor values = tensor({1.5f, -2.25f, 0.1f, 3.14159265f}).to(DType::bf16);
  save_npy(values, path);
  Tensor back = load_npy(path, DType::bf16);
  EXPECT_EQ(back.dtype(), DType::bf16);
  EXPECT_EQ(std::memcmp(back.raw_data(), values.raw_data(), 4 * sizeof(bf16)), 0);
  expect_identical(back.to(DType::f32), values.to(DType::f32));
  // Unless bfloat16 is asked for, "<u2" is an unsupported uint16.
  expect_io_error(path, "unsupported dtype '<u2'");
  expect_io_error(path, "unsupported dtype '<u2'", DType::f32);
}

TEST(Npy, WrongDTypeRequested) {
  std::string path = test::temp_dir() + "/f.npy";
  save_npy(ramp({3}, DType::f64), path);
  expect_io_error(path, "holds float64, expected float32", DType::f32);
}

TEST(Npy, HeaderIsVersion1AndAligned) {
  std::string path = test::temp_dir() + "/h.npy";
  save_npy(ramp({2, 3}, DType::f32), path);
  std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  size_t header_length = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_EQ(bytes[10 + header_length - 1], '\n');
  EXPECT_EQ(bytes.size(), 10 + header_length + 6 * sizeof(float));
}

TEST(Npy, ReadsFilesWrittenByNumPy) {
  std::string dir = test::temp_dir();
  ASSERT_TRUE(test::run_reference("npy_reference.py", "write " + dir));
  for (DType dtype : kNumpyDTypes) expect_identical(load_npy(dir + "/" + kind(dtype) + ".npy"), ramp({2, 3, 4}, dtype));

  // Fortran order loads as a strided view with the right values.
  Tensor f8 = load_npy(dir + "/fortran_f8.npy");
  EXPECT_EQ(f8.strides(), Dims({1, 3, 12}));
  expect_identical(f8, ramp({3, 4, 5}, DType::f64));
  expect_identical(load_npy(dir + "/fortran_i4.npy"), ramp({2, 7}, DType::i32));

  Tensor scalar = load_npy(dir + "/scalar.npy");
  EXPECT_EQ(scalar.dim(), 0);
  expect_identical(scalar, scalar_tensor(-1.75, DType::f64));
  expect_identical(load_npy(dir + "/empty.npy"), ramp({0, 3}, DType::f32));
  expect_identical(load_npy(dir + "/v2.npy"), ramp({5, 2}, DType::f32));
  expect_identical(load_npy(dir + "/v3.npy"), ramp({5, 2}, DType::f32));

  // NumPy's uint16 holding PyTorch's bfloat16 rounding of the same floats.
  Tensor bits = load_npy(dir + "/u2.npy", DType::bf16);
  Tensor floats = tensor({1.5f, -2.25f, 0.1f, 3.14159265f, 1e-3f, -65504.0f, 1e30f});
  EXPECT_EQ(std::memcmp(bits.raw_data(), floats.to(DType::bf16).raw_data(), 7 * sizeof(bf16)), 0);

  expect_io_error(dir + "/big_endian.npy", "unsupported dtype '>f4'");
  expect_io_error(dir + "/complex.npy", "unsupported dtype '<c8'");
}

TEST(Npy, NumPyReadsFilesWrittenByCajal) {
  std::string dir = test::temp_dir();
  for (DType dtype : kNumpyDTypes) save_npy(ramp({2, 3, 4}, dtype), dir + "/" + kind(dtype) + ".npy");
  save_npy(ramp({3, 4}, DType::f64).t(), dir + "/transposed.npy");
  save_npy(ramp({4, 6}, DType::f32).slice(0, 1, 4).slice(1, 0, 6, 2), dir + "/strided.npy");
  save_npy(ramp({3, 1}, DType::i64).expand({3, 4}), dir + "/expanded.npy");
  save_npy(ramp({2, 3, 4}, DType::i32).permute({2, 0, 1}), dir + "/permuted.npy");
  save_npy(scalar_tensor(-1.75, DType::f64), dir + "/scalar.npy");
  save_npy(ramp({0, 3}, DType::f32), dir + "/empty.npy");
  save_npy(tensor({1.5f, -2.25f, 0.1f, 3.14159265f, 1e-3f, -65504.0f, 1e30f}).to(DType::bf16), dir + "/bf16.npy");
  std::string output;
  EXPECT_TRUE(test::run_reference("npy_reference.py", "check " + dir, &output)) << output;
}

TEST(Npy, SaveIsAtomicAndCleansUp) {
  std::string dir = test::temp_dir();
  std::string path = dir + "/a.npy";
  save_npy(ramp({3}, DType::f32), path);
  save_npy(ramp({5}, DType::i64), path);  // replaces the old file
  expect_identical(load_npy(path), ramp({5}, DType::i64));

  // The rename fails when the target is a non-empty directory: IOError, no temporary left.
  fs::create_directories(dir + "/taken/inside");
  EXPECT_THROW(save_npy(ramp({3}, DType::f32), dir + "/taken"), IOError);
  EXPECT_THROW(save_npy(ramp({3}, DType::f32), dir + "/missing/b.npy"), IOError);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++entries;
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  }
  EXPECT_EQ(entries, 2);  // a.npy and taken/
}

TEST(Npy, MissingFile) {
  expect_io_error(test::temp_dir() + "/nope.npy", "cannot read");
}

TEST(Npy, EveryTruncationIsAnIOError) {
  std::string dir = test::temp_dir();
  save_npy(ramp({2, 3}, DType::f64), dir + "/full.npy");
  std::string bytes = read_bytes(dir + "/full.npy");
  std::string path = dir + "/cut.npy";
  for (size_t n = 0; n < bytes.size(); ++n) {
    write_bytes(path, bytes.substr(0, n));
    expect_io_error(path, "truncated file");
  }
}

TEST(Npy, BadMagicAndVersion) {
  std::string dir = test::temp_dir();
  std::string good = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", std::string(4, '\0'));
  write_bytes(dir + "/ok.npy", good);
  EXPECT_EQ(load_npy(dir + "/ok.npy").numel(), 1);

  std::string magic = good;
  magic[1] = 'P';
  write_bytes(dir + "/magic.npy", magic);
  expect_io_error(dir + "/magic.npy", "bad magic");
  std::string version = good;
  version[6] = 4;
  write_bytes(dir + "/version.npy", version);
  expect_io_error(dir + "/version.npy", "unsupported .npy format version 4.0");
}

TEST(Npy, OversizedHeaderLength) {
  std::string dir = test::temp_dir();
  std::string v1 = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", std::string(4, '\0'));
  v1[8] = '\xff';
  v1[9] = '\xff';
  write_bytes(dir + "/v1.npy", v1);
  expect_io_error(dir + "/v1.npy", "header of 65535 bytes runs past the end");
  // Version 2.0 with a 4 GiB header length.
  write_bytes(dir + "/v2.npy", std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14));
  expect_io_error(dir + "/v2.npy", "header of 4294967295 bytes runs past the end");
}

TEST(Npy, MalformedHeaders) {
  std::string dir = test::temp_dir();
  std::string path = dir + "/bad.npy";
  struct Case {
    std::string dict, data, problem;
  };
  const Case cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", std::string(4, '\0'), "truncated file (shape [2] of <f4 needs 8 bytes of data, the file has 4)"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'), "size mismatch (shape [1] of <f4 needs 4 bytes"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "", "negative size"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "", "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "", "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648, 8), }", "", "too large"},
      {"{'descr': '<f4', 'fortran_order': False}", "", "'shape' are all required"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (), }", "", "duplicate key"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (), }", "", "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}", "", "unknown key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 2), }", "", "expected ',' or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), } junk", "", "after '}'"},
      {"{'descr': '<f4", "", "unterminated string"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }", "", "structured arrays"},
      {"{'descr': '<f2', 'fortran_order': False, 'shape': (), }", "", "unsupported dtype '<f2'"},
      {"__import__('os').system('false')", "", "expected '{'"},
      {"", "", "expected '{'"},
  };
  for (const Case& c : cases) {
    write_bytes(path, npy_bytes(c.dict, c.data));
    SCOPED_TRACE(c.dict);
    expect_io_error(path, c.problem);
  }
  // Legal variations: double quotes, other key order, no trailing comma, spaces.
  write_bytes(path, npy_bytes("{ \"shape\" : ( 2 , 1 ) , \"fortran_order\":True,\"descr\":\"|u1\"}  \n", "\x07\x09"));
  expect_identical(load_npy(path), from_vector<uint8_t>({7, 9}, {2, 1}));
}

TEST(Npy, BoolBytesAreNormalized) {
  std::string path = test::temp_dir() + "/b.npy";
  write_bytes(path, npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x00\x02\xff", 3)));
  Tensor b = load_npy(path);
  EXPECT_EQ(b.to_vector<int>(), (std::vector<int>{0, 1, 1}));
}

// Random byte corruption of a valid file: every load either succeeds or throws IOError.
TEST(Npy, CorruptedFilesNeverCrash) {
  std::string dir = test::temp_dir();
  save_npy(ramp({3, 2}, DType::i32), dir + "/good.npy");
  std::string good = read_bytes(dir + "/good.npy");
  std::string path = dir + "/corrupt.npy";
  Generator gen(12345);
  auto next = [&] { return gen.next_u64() >> 33; };
  int failures = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = good;
    for (int k = 0; k < 3; ++k) bytes[next() % 80] = static_cast<char>(next() & 0xff);  // magic + header
    write_bytes(path, bytes);
    try {
      load_npy(path);
    } catch (const IOError&) {
      ++failures;
    }
  }
  EXPECT_GT(failures, 1000);  // most corruptions are caught
}
