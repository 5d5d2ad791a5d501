#pragma once
// TensorBoard event files, written by hand (no protobuf library).
//
// An event file is a TFRecord file: a sequence of records, each
//   uint64 length | uint32 masked CRC-32C of the length bytes | data | uint32 masked CRC-32C of data
// (little-endian), where each record's data is a serialized tensorboard.Event protocol
// buffer (tensorboard/compat/proto/event.proto, summary.proto, histogram.proto):
//   Event          { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary        { repeated Value value = 1; }
//   Summary.Value  { string tag = 1; float simple_value = 2; HistogramProto histo = 5; }
//   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
//                    repeated double bucket_limit = 6 [packed], bucket = 7 [packed]; }
// The first record of a file is an Event whose file_version is "brain.Event:2".
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "cajal/core/tensor.h"

namespace cajal {

// CRC-32C (Castagnoli polynomial, as iSCSI and TFRecord use it) of `data`.
uint32_t crc32c(std::span<const char> data);

// TensorFlow's masked CRC, stored in TFRecord framing: a CRC of data that itself holds CRCs
// is a poor check, so the stored value is rotated right by 15 bits and offset by a constant.
uint32_t masked_crc32c(std::span<const char> data);

// Writes one event file into a log directory that TensorBoard reads (`tensorboard --logdir`).
// Records are buffered; flush() hands them to the OS (TensorBoard sees them from then on),
// and close() (or the destructor) flushes and closes the file.
class SummaryWriter {
 public:
  // Creates `dir` (with parents) when missing and a new event file in it named
  // events.out.tfevents.<unix seconds>.<host name>.<process id>.<n> (PyTorch's naming: the
  // suffix keeps two writers started in the same second apart), and writes the file_version
  // record. A resumed run opens a second file in the same directory; TensorBoard merges them.
  explicit SummaryWriter(const std::string& dir);
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  // One point of the scalar series `tag` (e.g. "loss/train") at `step`. TensorBoard stores
  // scalars as float32, so `value` is rounded to float; NaN and infinities are kept.
  void add_scalar(const std::string& tag, double value, int64_t step);

  // A histogram of `values` (any floating-point tensor, any shape) at `step`, with `bins`
  // equal-width buckets between the smallest and largest value, counted as NumPy's
  // np.histogram(values, bins) does. Values must be finite.
  void add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins = 30);

  void flush();
  void close();

  // The event file's path.
  const std::string& path() const { return path_; }

 private:
  // Frames `event` (a serialized Event) as a TFRecord and appends it to the file.
  void write_record(const std::string& event);
  // The serialized Event {wall_time: now, step, summary: {value: [value]}}.
  void write_summary_value(const std::string& value, int64_t step);
  void check_open(const char* who, const std::string& tag) const;

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace cajal
