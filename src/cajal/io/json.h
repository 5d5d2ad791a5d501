#pragma once
// JSON strings for the files cajal writes (safetensors headers, `cajal predict` output). The
// safetensors reader parses headers with nlohmann::json's SAX parser (io/safetensors.cpp);
// nlohmann/json.hpp stays out of cajal's headers.
#include <string>
#include <string_view>

namespace cajal {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `s` as a JSON string literal, quotes included: '"', '\' and control characters escaped
// (\n, \t, ..., \u00XX), everything else as is, as serde_json (the safetensors reference
// implementation's JSON library) writes it. Bytes that are not valid UTF-8 become U+FFFD.
std::string json_quote(std::string_view s);

}  // namespace cajal
