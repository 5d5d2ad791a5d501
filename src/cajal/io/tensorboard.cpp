// TensorBoard event files: TFRecord framing around hand-encoded Event protocol buffers
// (the formats are summarised in tensorboard.h).
#include "cajal/io/tensorboard.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/io/json.h"
#include "cajal/ops/convert.h"

namespace cajal {

static_assert(std::endian::native == std::endian::little, "tensorboard: fixed-width fields are copied raw, which assumes a little-endian host");

// ------------------------------------------------------------------ CRC-32C

namespace {

// The byte-at-a-time table of the reflected Castagnoli polynomial 0x82F63B78.
constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    table[byte] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

}  // namespace

uint32_t crc32c(std::span<const char> data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) crc = kCrc32cTable[(crc ^ static_cast<uint8_t>(c)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::span<const char> data) {
  uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// ------------------------------------------------------------------ protocol buffer encoding

namespace {

// Appends fields in the protocol buffer wire format. proto3 leaves a plain field out when it
// holds its default (zero, empty); a member of a oneof is written whatever its value, since
// being present is what says which member is set. Callers add fields in field-number order,
// as protobuf's own serializer does, so the bytes equal what it would write.
class ProtoWriter {
 public:
  enum Presence { kImplicit, kOneof };

  void uint64(int field, uint64_t value) {
    if (value == 0) return;
    key(field, kVarint);
    varint(value);
  }
  void int64(int field, int64_t value) { uint64(field, static_cast<uint64_t>(value)); }  // two's complement, 10 bytes when negative

  void float64(int field, double value) {
    if (std::bit_cast<uint64_t>(value) == 0) return;  // +0.0 is the default; -0.0 is not
    key(field, kFixed64);
    raw(value);
  }
  void float32(int field, float value, Presence presence) {
    if (presence == kImplicit && std::bit_cast<uint32_t>(value) == 0) return;
    key(field, kFixed32);
    raw(value);
  }
  // A string, bytes or nested message (its serialized bytes).
  void bytes(int field, std::string_view value, Presence presence) {
    if (presence == kImplicit && value.empty()) return;
    key(field, kLengthDelimited);
    varint(value.size());
    out_.append(value);
  }
  void packed_float64(int field, const std::vector<double>& values) {
    if (values.empty()) return;
    key(field, kLengthDelimited);
    varint(values.size() * sizeof(double));
    for (double v : values) raw(v);
  }

  const std::string& str() const { return out_; }

 private:
  enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

  void key(int field, WireType type) { varint(static_cast<uint64_t>(field) << 3 | type); }
  // Seven bits at a time, low first; the high bit says another byte follows.
  void varint(uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }
  template <typename T>
  void raw(T value) {
    out_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }

  std::string out_;
};

// Field numbers (tensorboard/compat/proto/event.proto, summary.proto, histogram.proto).
namespace event { constexpr int kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5; }
namespace summary { constexpr int kValue = 1; }
namespace value { constexpr int kTag = 1, kSimpleValue = 2, kHisto = 5; }
namespace histogram { constexpr int kMin = 1, kMax = 2, kNum = 3, kSum = 4, kSumSquares = 5, kBucketLimit = 6, kBucket = 7; }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

void check_tag(const char* who, const std::string& tag) {
  CAJAL_CHECK(!tag.empty(), ValueError, "SummaryWriter::", who, ": the tag is empty");
  CAJAL_CHECK(is_valid_utf8(tag), ValueError, "SummaryWriter::", who, ": the tag (", tag.size(), " bytes) is not valid UTF-8");
}

// The HistogramProto of `values` (float64, contiguous) in `bins` equal-width buckets. The edges
// and the bucket of each value follow np.histogram: edge i is i * width + low (the last edge
// is high itself; the compiler may fuse the multiply-add, so an edge can differ from NumPy's
// in the last bit), a value v belongs to bucket i when edge[i] <= v < edge[i + 1], and the
// last bucket also holds v == high. A constant input gets the range [v - 0.5, v + 0.5].
// TensorBoard reads bucket i as the range (bucket_limit[i - 1], bucket_limit[i]], and the
// first bucket as everything up to bucket_limit[0]; so the limits are all bins + 1 edges and
// the first bucket, up to the lowest edge, is empty (as PyTorch's SummaryWriter writes it).
std::string histogram_proto(const double* values, int64_t n, int64_t bins) {
  double min = values[0], max = values[0], sum = 0, sum_squares = 0;
  for (int64_t i = 0; i < n; ++i) {
    min = std::min(min, values[i]);
    max = std::max(max, values[i]);
    sum += values[i];
    sum_squares += values[i] * values[i];
  }
  double low = min, high = max;
  if (low == high) {
    low -= 0.5;
    high += 0.5;
  }
  double width = (high - low) / static_cast<double>(bins);
  std::vector<double> limits(bins + 1);
  for (int64_t i = 0; i < bins; ++i) limits[i] = static_cast<double>(i) * width + low;
  limits[bins] = high;
  std::vector<double> counts(bins + 1, 0.0);  // counts[0]: the empty bucket below the lowest edge
  for (int64_t i = 0; i < n; ++i) {
    auto above = std::upper_bound(limits.begin(), limits.end(), values[i]);  // first edge > value
    int64_t bucket = std::min<int64_t>(above - limits.begin() - 1, bins - 1);
    counts[bucket + 1] += 1;
  }
  ProtoWriter h;
  h.float64(histogram::kMin, min);
  h.float64(histogram::kMax, max);
  h.float64(histogram::kNum, static_cast<double>(n));
  h.float64(histogram::kSum, sum);
  h.float64(histogram::kSumSquares, sum_squares);
  h.packed_float64(histogram::kBucketLimit, limits);
  h.packed_float64(histogram::kBucket, counts);
  return h.str();
}

}  // namespace

// ------------------------------------------------------------------ SummaryWriter

SummaryWriter::SummaryWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail<IOError>("SummaryWriter: cannot create log directory ", dir, ": ", ec.message());
  static std::atomic<uint64_t> counter{0};
  // The events' own clock: std::time reads a coarse clock that can lag a second boundary by a
  // few milliseconds, naming a file a second before its first event (io.tensorboard saw it).
  const auto seconds = static_cast<int64_t>(now_seconds());
  std::string name = "events.out.tfevents." + std::to_string(seconds) + "." + host_name() + "." +
                     std::to_string(::getpid()) + "." + std::to_string(counter++);
  path_ = (std::filesystem::path(dir) / name).string();
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) fail<IOError>("SummaryWriter: cannot create event file ", path_, ": ", std::strerror(errno));
  ProtoWriter e;
  e.float64(event::kWallTime, now_seconds());
  e.bytes(event::kFileVersion, "brain.Event:2", ProtoWriter::kOneof);
  write_record(e.str());
}

SummaryWriter::~SummaryWriter() {
  // A destructor must not throw: a failure here is reported, not raised. Call close() to
  // get the error as an exception.
  try {
    close();
  } catch (const Error& e) {
    std::fprintf(stderr, "warning: %s\n", e.what());
  }
}

void SummaryWriter::check_open(const char* who, const std::string& tag) const {
  CAJAL_CHECK(file_, ValueError, "SummaryWriter::", who, ": ", path_, " is closed (tag ", json_quote(tag), ")");
}

void SummaryWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  check_open("add_scalar", tag);
  check_tag("add_scalar", tag);
  ProtoWriter v;
  v.bytes(value::kTag, tag, ProtoWriter::kImplicit);
  v.float32(value::kSimpleValue, static_cast<float>(value), ProtoWriter::kOneof);
  write_summary_value(v.str(), step);
}

void SummaryWriter::add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins) {
  check_open("add_histogram", tag);
  check_tag("add_histogram", tag);
  CAJAL_CHECK(is_floating(values.dtype()), DTypeError, "SummaryWriter::add_histogram: tag ", json_quote(tag),
              ": values must be floating point, got ", dtype_name(values.dtype()));
  CAJAL_CHECK(values.numel() > 0, ValueError, "SummaryWriter::add_histogram: tag ", json_quote(tag), ": no values");
  CAJAL_CHECK(bins >= 1, ValueError, "SummaryWriter::add_histogram: tag ", json_quote(tag), ": bins must be at least 1, got ", bins);
  Tensor v64 = convert(values, DType::f64);
  const double* p = v64.data_ptr<double>();
  for (int64_t i = 0; i < v64.numel(); ++i)
    CAJAL_CHECK(std::isfinite(p[i]), ValueError, "SummaryWriter::add_histogram: tag ", json_quote(tag), " at step ", step,
                ": value ", p[i], " (element ", i, ") is not finite");
  ProtoWriter v;
  v.bytes(value::kTag, tag, ProtoWriter::kImplicit);
  v.bytes(value::kHisto, histogram_proto(p, v64.numel(), bins), ProtoWriter::kOneof);
  write_summary_value(v.str(), step);
}

void SummaryWriter::write_summary_value(const std::string& value, int64_t step) {
  ProtoWriter s;
  s.bytes(summary::kValue, value, ProtoWriter::kImplicit);
  ProtoWriter e;
  e.float64(event::kWallTime, now_seconds());
  e.int64(event::kStep, step);
  e.bytes(event::kSummary, s.str(), ProtoWriter::kOneof);
  write_record(e.str());
}

void SummaryWriter::write_record(const std::string& event) {
  uint64_t length = event.size();
  std::string record(reinterpret_cast<const char*>(&length), sizeof length);
  uint32_t length_crc = masked_crc32c(record);
  record.append(reinterpret_cast<const char*>(&length_crc), sizeof length_crc);
  record += event;
  uint32_t data_crc = masked_crc32c(event);
  record.append(reinterpret_cast<const char*>(&data_crc), sizeof data_crc);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    fail<IOError>("SummaryWriter: cannot write to ", path_, ": ", std::strerror(errno));
}

void SummaryWriter::flush() {
  if (file_ && std::fflush(file_) != 0) fail<IOError>("SummaryWriter: cannot flush ", path_, ": ", std::strerror(errno));
}

void SummaryWriter::close() {
  if (!file_) return;
  std::FILE* f = std::exchange(file_, nullptr);
  if (std::fclose(f) != 0) fail<IOError>("SummaryWriter: cannot close ", path_, ": ", std::strerror(errno));
}

}  // namespace cajal
