#include "cajal/io/json.h"

#include <set>

#include "cajal/core/error.h"

namespace cajal {

namespace {

// The length of the longest prefix of `text` that is valid UTF-8.
size_t valid_utf8_prefix(std::string_view text) {
  size_t i = 0, n = text.size();
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < n) {
    unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The lead byte gives the length and the allowed range of the second byte: the narrow
    // ranges exclude overlong forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    size_t length;
    unsigned char low = 0x80, high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else {
      return i;
    }
    if (n - i < length || byte(i + 1) < low || byte(i + 1) > high) return i;
    for (size_t k = 2; k < length; ++k)
      if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return i;
    i += length;
  }
  return n;
}

}  // namespace

bool is_valid_utf8(std::string_view text) { return valid_utf8_prefix(text) == text.size(); }

std::string json_quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// ---------------------------------------------------------------- reading

namespace {

void append_utf8(std::string& out, uint32_t code_point) {
  auto add = [&](uint32_t b) { out += static_cast<char>(b); };
  if (code_point < 0x80) {
    add(code_point);
  } else if (code_point < 0x800) {
    add(0xc0 | (code_point >> 6));
    add(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    add(0xe0 | (code_point >> 12));
    add(0x80 | ((code_point >> 6) & 0x3f));
    add(0x80 | (code_point & 0x3f));
  } else {
    add(0xf0 | (code_point >> 18));
    add(0x80 | ((code_point >> 12) & 0x3f));
    add(0x80 | ((code_point >> 6) & 0x3f));
    add(0x80 | (code_point & 0x3f));
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

JsonReader::JsonReader(std::string_view text, std::string context) : text_(text), context_(std::move(context)) {
  pos_ = valid_utf8_prefix(text);
  if (pos_ != text.size()) error("invalid UTF-8");
  pos_ = 0;
}

void JsonReader::error(const std::string& what) const {
  fail<IOError>(context_, ": ", what, " (at byte ", pos_, ")");
}

void JsonReader::skip_whitespace() {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
    ++pos_;
}

char JsonReader::peek() {
  skip_whitespace();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool JsonReader::accept(char c) {
  if (peek() != c || pos_ == text_.size()) return false;
  ++pos_;
  return true;
}

void JsonReader::expect(char c, const char* what) {
  if (!accept(c)) error(std::string("expected ") + what);
}

uint32_t JsonReader::hex4() {
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k, ++pos_) {
    char c = pos_ < text_.size() ? text_[pos_] : '\0';
    int digit = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (digit < 0) error("expected four hex digits after \\u");
    v = v * 16 + static_cast<uint32_t>(digit);
  }
  return v;
}

std::string JsonReader::string() {
  if (peek() != '"') error("expected a string");
  ++pos_;
  std::string out;
  while (true) {
    if (pos_ == text_.size()) error("unterminated string");
    char c = text_[pos_++];
    if (c == '"') return out;
    if (static_cast<unsigned char>(c) < 0x20) error("unescaped control character in a string");
    if (c != '\\') {
      out += c;  // the whole text was checked to be UTF-8 in the constructor
      continue;
    }
    char e = pos_ < text_.size() ? text_[pos_++] : '\0';
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t code_point = hex4();
        if (code_point >= 0xdc00 && code_point <= 0xdfff) error("unpaired surrogate in a \\u escape");
        if (code_point >= 0xd800 && code_point <= 0xdbff) {  // UTF-16 high surrogate: a low one must follow
          if (text_.substr(pos_, 2) != "\\u") error("unpaired surrogate in a \\u escape");
          pos_ += 2;
          uint32_t low = hex4();
          if (low < 0xdc00 || low > 0xdfff) error("unpaired surrogate in a \\u escape");
          code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out, code_point);
        break;
      }
      default: error("invalid escape in a string");
    }
  }
}

uint64_t JsonReader::unsigned_integer() {
  char c = peek();
  if (c == '-') error("expected a non-negative integer, found a negative number");
  if (!is_digit(c)) error("expected a non-negative integer");
  if (c == '0' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1])) error("integer with a leading zero");
  uint64_t v = 0;
  while (pos_ < text_.size() && is_digit(text_[pos_])) {
    uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
    if (v > (UINT64_MAX - digit) / 10) error("integer too large");
    v = v * 10 + digit;
    ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
    error("expected an integer, found a fraction or exponent");
  return v;
}

void JsonReader::object(const std::function<void(const std::string& key)>& value) {
  expect('{', "'{'");
  if (accept('}')) return;
  std::set<std::string> seen;
  do {
    std::string key = string();
    if (!seen.insert(key).second) error("duplicate key " + json_quote(key));
    expect(':', "':' after a key");
    value(key);
  } while (accept(','));
  expect('}', "',' or '}'");
}

void JsonReader::array(const std::function<void()>& element) {
  expect('[', "'['");
  if (accept(']')) return;
  do {
    element();
  } while (accept(','));
  expect(']', "',' or ']'");
}

void JsonReader::finish() {
  if (peek() != '\0' || pos_ != text_.size()) error("unexpected characters after the end");
}

}  // namespace cajal
