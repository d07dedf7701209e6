#pragma once
// soma::Error: what every library function throws on bad input. The message is one line that
// says what was expected, what was found and where (file, offset, shape).
#include <sstream>
#include <stdexcept>
#include <string>

namespace soma {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Joins the parts with operator<< into one message and throws it as soma::Error.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}

}  // namespace soma

// Throws soma::Error built from the remaining arguments when `cond` is false.
#define SOMA_CHECK(cond, ...)               \
  do {                                      \
    if (!(cond)) ::soma::fail(__VA_ARGS__); \
  } while (0)
