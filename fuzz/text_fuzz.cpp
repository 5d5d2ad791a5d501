// Text corpora (UTF-8 decoding, as the character language models read them) and CSV time
// series (the column "value", missing cells refused or interpolated).
#include "cajal/data/series.h"
#include "cajal/data/text.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cajal::fuzz::refuse_or_read([&] { cajal::data::decode_utf8(std::string(cajal::fuzz::as_text(data, size))); });
  std::string path = cajal::fuzz::input_file(data, size, "series.csv");
  cajal::fuzz::refuse_or_read([&] { cajal::data::read_series(path, "value"); });
  cajal::fuzz::refuse_or_read([&] { cajal::data::read_series(path, "value", cajal::data::MissingValues::interpolate); });
  return 0;
}
