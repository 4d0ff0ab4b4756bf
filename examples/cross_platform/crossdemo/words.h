// A C++ library with std:: types in its API. Errors are C++ exceptions
// (words::Error), thrown here and caught by the extension, in another
// translation unit and another cc_library.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace words {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whitespace-separated words of `text`; throws Error when there are none.
std::vector<std::string> split(const std::string &text);

// Throws Error(message), for the exception round trip.
[[noreturn]] void fail(const std::string &message);

}  // namespace words
