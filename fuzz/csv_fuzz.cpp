// CSV tables, with the label column read as class indices, class names and values, with and
// without a header (the first byte picks the options; the rest is the file).
#include "cajal/data/csv.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  cajal::data::CsvOptions options;
  options.labels = static_cast<cajal::data::CsvLabels>(data[0] % 3);
  options.header = (data[0] & 4) == 0;
  if (data[0] & 8) options.label_column = int64_t{0};
  std::string path = cajal::fuzz::input_file(data + 1, size - 1, "input.csv");
  cajal::fuzz::refuse_or_read([&] { cajal::data::load_csv(path, options); });
  return 0;
}
