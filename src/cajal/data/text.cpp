#include "cajal/data/text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/io/input_file.h"
#include "cajal/ops/creation.h"

namespace fs = std::filesystem;

namespace cajal::data {

namespace {

std::string read_bytes(const std::string& path) {
  refuse_special_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IOError>(path, ": cannot open the file");
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

bool is_binary(const std::string& path) {
  std::string bytes = read_bytes(path);
  return bytes.find('\0') != std::string::npos;
}

// 'a', or U+000A for characters that do not print.
std::string describe_char(char32_t c) {
  if (c >= 0x21 && c != 0x7f) {
    std::string quoted = encode_utf8(std::u32string(1, c));
    quoted.insert(quoted.begin(), '\'');
    quoted.push_back('\'');
    return quoted;
  }
  char text[16];
  std::snprintf(text, sizeof text, "U+%04X", static_cast<unsigned>(c));
  return text;
}

// A dataset of windows of a token sequence shared by all its examples.
class WindowDataset : public Dataset {
 public:
  WindowDataset(Tensor tokens, std::vector<int64_t> starts, int64_t seq_len)
      : tokens_(std::move(tokens)), starts_(std::move(starts)), seq_len_(seq_len) {}
  int64_t size() const override { return static_cast<int64_t>(starts_.size()); }
  Example get(int64_t index) const override {
    check_index(*this, index);
    int64_t s = starts_[static_cast<size_t>(index)];
    return {tokens_.slice(0, s, s + seq_len_), tokens_.slice(0, s + 1, s + seq_len_ + 1)};
  }
  std::string describe() const override {
    return detail::concat("CharWindows(", size(), " windows of ", seq_len_, " characters)");
  }

 private:
  Tensor tokens_;
  std::vector<int64_t> starts_;
  int64_t seq_len_;
};

// The window starts within tokens [begin, end).
void add_starts(std::vector<int64_t>& starts, int64_t begin, int64_t end, int64_t seq_len, int64_t stride) {
  for (int64_t s = begin; s + seq_len + 1 <= end; s += stride) starts.push_back(s);
}

}  // namespace

std::vector<std::string> text_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    if (!fs::exists(path)) fail<IOError>(path, ": no such file or folder (text)");
    if (!fs::is_directory(path)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
      if (entry.is_symlink() || !entry.is_regular_file()) continue;
      if (!is_binary(entry.path().string())) found.push_back(entry.path().string());
    }
    if (found.empty()) fail<IOError>(path, ": the folder has no text files");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  if (files.empty()) fail<ValueError>("text_files: no paths given");
  return files;
}

std::u32string read_text(const std::vector<std::string>& paths) {
  std::u32string text;
  for (const std::string& file : text_files(paths)) text += decode_utf8(read_bytes(file), file);
  return text;
}

std::u32string decode_utf8(const std::string& bytes, const std::string& where) {
  std::u32string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    auto byte = static_cast<unsigned char>(bytes[i]);
    // The lead byte says how many continuation bytes follow (10xxxxxx each).
    int extra = byte < 0x80 ? 0 : (byte >> 5) == 0x6 ? 1 : (byte >> 4) == 0xe ? 2 : (byte >> 3) == 0x1e ? 3 : -1;
    char32_t c = extra == 0 ? byte : extra == 1 ? byte & 0x1f : extra == 2 ? byte & 0x0f : byte & 0x07;
    bool valid = extra >= 0 && i + static_cast<size_t>(extra) < bytes.size();
    for (int k = 1; valid && k <= extra; ++k) {
      auto next = static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]);
      valid = (next >> 6) == 0x2;
      c = (c << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
    static constexpr char32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    if (valid) valid = c >= kSmallest[extra] && c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff);
    if (!valid) fail<IOError>(where, ": invalid UTF-8 at byte ", i);
    out.push_back(c);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// ------------------------------------------------------------------ vocabulary

CharVocabulary::CharVocabulary(const std::u32string& text) : chars_(text.begin(), text.end()) {
  std::sort(chars_.begin(), chars_.end());
  chars_.erase(std::unique(chars_.begin(), chars_.end()), chars_.end());
}

CharVocabulary CharVocabulary::from_names(const std::vector<std::string>& names) {
  CharVocabulary vocab;
  for (size_t k = 0; k < names.size(); ++k) {
    std::u32string c = decode_utf8(names[k], "vocabulary entry " + std::to_string(k));
    if (c.size() != 1) fail<ValueError>("vocabulary: entry ", k, " is \"", names[k], "\", not one character");
    vocab.chars_.push_back(c[0]);
  }
  std::vector<char32_t> sorted = vocab.chars_;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    fail<ValueError>("vocabulary: a character appears twice");
  return vocab;
}

Tensor CharVocabulary::encode(const std::u32string& text, const std::string& what) const {
  // Token ids by binary search when the characters are sorted (built from text), else linearly.
  bool sorted = std::is_sorted(chars_.begin(), chars_.end());
  Tensor ids = empty({static_cast<int64_t>(text.size())}, {.dtype = DType::i64});
  int64_t* out = ids.data_ptr<int64_t>();
  for (size_t i = 0; i < text.size(); ++i) {
    auto it = sorted ? std::lower_bound(chars_.begin(), chars_.end(), text[i])
                     : std::find(chars_.begin(), chars_.end(), text[i]);
    if (it == chars_.end() || *it != text[i]) {
      fail<ValueError>(what, ": character ", describe_char(text[i]), " at position ", i, " is not in the vocabulary (",
                       size(), " characters)");
    }
    out[i] = it - chars_.begin();
  }
  return ids;
}

std::string CharVocabulary::decode(const Tensor& ids) const {
  std::u32string text;
  for (int64_t id : ids.to(DType::i64).contiguous().to_vector<int64_t>()) {
    if (id < 0 || id >= size()) fail<IndexError>("vocabulary: token ", id, " is out of range for ", size(), " characters");
    text.push_back(chars_[static_cast<size_t>(id)]);
  }
  return encode_utf8(text);
}

std::vector<std::string> CharVocabulary::names() const {
  std::vector<std::string> out;
  for (char32_t c : chars_) out.push_back(encode_utf8(std::u32string(1, c)));
  return out;
}

// ------------------------------------------------------------------ windows

CharWindows char_windows(const Tensor& tokens, const CharWindowOptions& options) {
  if (tokens.dim() != 1 || tokens.dtype() != DType::i64)
    fail<ShapeError>("char_windows: tokens must be int64 [L], got ", dtype_name(tokens.dtype()), " ", tokens.shape());
  const int64_t seq_len = options.seq_len;
  const int64_t stride = options.stride == 0 ? seq_len : options.stride;
  if (seq_len < 1 || stride < 1)
    fail<ValueError>("char_windows: seq_len and stride must be at least 1, got ", seq_len, " and ", stride);
  if (options.validation < 0 || options.validation >= 1)
    fail<ValueError>("char_windows: validation must be in [0, 1), got ", options.validation);

  const int64_t length = tokens.size(0);
  CharWindows out;
  std::vector<int64_t> train_starts, val_starts;
  if (options.validation > 0) {
    const int64_t val_length = std::llround(options.validation * static_cast<double>(length));
    Generator gen(options.seed);
    out.val_begin = static_cast<int64_t>(gen.next_u64() % static_cast<uint64_t>(length - val_length + 1));
    out.val_end = out.val_begin + val_length;
    add_starts(train_starts, 0, out.val_begin, seq_len, stride);
    add_starts(val_starts, out.val_begin, out.val_end, seq_len, stride);
    add_starts(train_starts, out.val_end, length, seq_len, stride);
    if (val_starts.empty())
      fail<ValueError>("char_windows: the validation part (", val_length, " characters) holds no window of ", seq_len + 1,
                       " characters; raise the validation fraction or lower seq_len");
  } else {
    add_starts(train_starts, 0, length, seq_len, stride);
  }
  if (train_starts.empty())
    fail<ValueError>("char_windows: the text (", length, " characters) holds no training window of ", seq_len + 1,
                     " characters");
  Tensor shared = tokens.contiguous();
  out.train = std::make_shared<WindowDataset>(shared, std::move(train_starts), seq_len);
  if (!val_starts.empty()) out.val = std::make_shared<WindowDataset>(shared, std::move(val_starts), seq_len);
  return out;
}

}  // namespace cajal::data
