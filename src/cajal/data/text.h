#pragma once
// Text for character-level language models: a corpus read from text files, its vocabulary
// (the distinct characters) and datasets of windows of `seq_len` characters whose targets
// are the next characters.
//
//   std::u32string text = data::read_text({"/usr/share/games/fortunes"});
//   data::CharVocabulary vocab(text);                     // the distinct characters, sorted
//   data::CharWindows windows = data::char_windows(vocab.encode(text), {.seq_len = 128, .validation = 0.05});
//   windows.train->get(0);  // input int64 [128]: characters 0..127; target int64 [128]: characters 1..128
//
// Characters are Unicode code points (the files are read as UTF-8), so a letter with an
// accent is one character, as Python's str counts them.
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/data/dataset.h"

namespace cajal::data {

// The files a list of paths names: a file stands for itself; a folder for its regular files
// (not sub-folders), sorted by name, leaving out symbolic links (fortune's `art.u8` is a link
// to `art`) and binary files (any NUL byte: fortune's `.dat` indexes). An IOError names a
// path that does not exist or a folder without text files.
std::vector<std::string> text_files(const std::vector<std::string>& paths);

// The files' text, one after the other, decoded from UTF-8 ("\r\n" kept as is). Invalid
// UTF-8 is an IOError naming the file and byte offset.
std::u32string read_text(const std::vector<std::string>& paths);

// UTF-8 <-> code points. decode_utf8's errors name `where` and the byte offset.
std::u32string decode_utf8(const std::string& bytes, const std::string& where = "text");
std::string encode_utf8(const std::u32string& text);

// The characters of a text, numbered in code point order: character k is token k.
class CharVocabulary {
 public:
  CharVocabulary() = default;
  // The distinct characters of `text`.
  explicit CharVocabulary(const std::u32string& text);
  // From the names `names()` returned (one character each, as UTF-8), e.g. read back from a
  // model file; a name that is not exactly one character, or a repeated one, is a ValueError.
  static CharVocabulary from_names(const std::vector<std::string>& names);

  int64_t size() const { return static_cast<int64_t>(chars_.size()); }
  // Token ids, int64 [text length]; a character not in the vocabulary is a ValueError
  // naming it and its position in `what`.
  Tensor encode(const std::u32string& text, const std::string& what = "text") const;
  // The text of token ids (any integer tensor, flattened); an id out of range is an IndexError.
  std::string decode(const Tensor& ids) const;
  // Each character as UTF-8, in token order (what model files store as class names).
  std::vector<std::string> names() const;

 private:
  std::vector<char32_t> chars_;  // sorted, distinct
};

struct CharWindowOptions {
  int64_t seq_len = 128;  // characters per example
  int64_t stride = 0;     // characters between the starts of consecutive windows; 0: seq_len (no overlap)
  double validation = 0;  // fraction of the text held out for validation, in [0, 1)
  uint64_t seed = 0;      // where the validation part lies
};

// Examples of a language model: input = tokens[s, s + seq_len), target = tokens[s + 1,
// s + seq_len + 1) (both int64 [seq_len]), for window starts s = begin, begin + stride, ...
// that fit within each part. The validation part is one stretch of round(validation * L)
// tokens that starts at a position drawn from Generator(seed); the training windows come
// from the text before and after it. Windows never cross a part's border, so no validation
// character is a training input or target.
struct CharWindows {
  DatasetPtr train;
  DatasetPtr val;                 // null when validation is 0
  int64_t val_begin = 0, val_end = 0;  // the validation part: tokens [val_begin, val_end)
};
CharWindows char_windows(const Tensor& tokens, const CharWindowOptions& options);

}  // namespace cajal::data
