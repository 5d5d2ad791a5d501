#pragma once
// Errors: every user mistake throws a cajal::Error (or a subclass) whose message
// names the op and the values involved. Never assert or abort on user input.
#include <sstream>
#include <stdexcept>
#include <string>

namespace cajal {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};
class ShapeError : public Error { using Error::Error; };
class DTypeError : public Error { using Error::Error; };
class IndexError : public Error { using Error::Error; };
class ValueError : public Error { using Error::Error; };
class IOError : public Error { using Error::Error; };
class AutogradError : public Error { using Error::Error; };

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// Throws E with the streamed arguments as message: fail<ShapeError>("add: ", a, " vs ", b).
template <typename E = Error, typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw E(detail::concat(args...));
}

}  // namespace cajal

// Checks a condition on user input; the message arguments are only evaluated on failure.
#define CAJAL_CHECK(cond, ErrorType, ...)                 \
  do {                                                    \
    if (!(cond)) ::cajal::fail<ErrorType>(__VA_ARGS__);   \
  } while (0)
