#include "cajal/io/json.h"

#include <nlohmann/json.hpp>

namespace cajal {

bool is_valid_utf8(std::string_view text) {
  try {
    (void)nlohmann::json(text).dump();  // the strict error handler throws on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

std::string json_quote(std::string_view s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cajal
