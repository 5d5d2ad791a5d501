#pragma once
// A small JSON reader and string writer for file headers (safetensors). The reader is a
// cursor that the caller drives with the structure it expects, so a header is checked
// against its schema while it is parsed, nothing is built for values the schema does not
// allow, and no input can nest deeper than the schema (no recursion on untrusted data).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cajal {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `s` as a JSON string literal, quotes included: '"', '\' and control characters escaped
// (\n, \t, ..., \u00XX), everything else as is, as serde_json (the safetensors reference
// implementation's JSON library) writes it. `s` must be valid UTF-8.
std::string json_quote(std::string_view s);

class JsonReader {
 public:
  // `context` starts every error message, e.g. "load_safetensors: model.safetensors: header".
  // `text` must outlive the reader. Fails unless `text` is valid UTF-8.
  JsonReader(std::string_view text, std::string context);

  // Skips whitespace; consumes `c` and returns true when it comes next.
  bool accept(char c);
  // Consumes `c` or fails with "expected <what>".
  void expect(char c, const char* what);
  // A string literal, escapes decoded (\uXXXX to UTF-8, surrogate pairs joined).
  std::string string();
  // A number that is a non-negative integer below 2^64 ("12"; not "-1", "1.0", "1e3", "012").
  uint64_t unsigned_integer();
  // An object: calls `value(key)` after each "key":, which must consume the value. Fails on a
  // key that repeats within the object.
  void object(const std::function<void(const std::string& key)>& value);
  // An array: calls `element()` for each element, which must consume it.
  void array(const std::function<void()>& element);
  // Fails unless only whitespace remains.
  void finish();
  // The next non-whitespace character ('\0' at the end), not consumed.
  char peek();

  // Throws an IOError: "<context>: <what> (at byte N)".
  [[noreturn]] void error(const std::string& what) const;

 private:
  void skip_whitespace();
  uint32_t hex4();  // the four hex digits of a \u escape

  std::string_view text_;
  std::string context_;
  size_t pos_ = 0;
};

}  // namespace cajal
