// Helpers shared by the fuzz targets of smem run's parsers (spec_fuzz, arg_fuzz, cli_fuzz).
#pragma once

#include "run/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace smem::fuzz {

// Reports an invariant violation and aborts, so libFuzzer saves the input. The inputs are made up,
// so printing them is fine here (smem itself never prints texts that may hold a secret).
[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {})
{
  std::fprintf(stderr, "fuzz: %.*s", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, ": [");
    for (const char c : detail) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7f) {
        std::fputc(c, stderr);
      } else {
        std::fprintf(stderr, "\\x%02x", u);
      }
    }
    std::fprintf(stderr, "]");
  }
  std::fprintf(stderr, "\n");
  std::abort();
}

inline void expect(bool ok, std::string_view what, std::string_view detail = {})
{
  if (!ok) {
    fail(what, detail);
  }
}

// What SPEC 1.1 asks of every error smem reports (`smem: error: MESSAGE` on one line): status 125,
// a message that is not empty and holds no control character, so it stays one line on the
// terminal and cannot carry an escape sequence typed into an argument.
inline void check_usage_error(const run::RunError& e)
{
  const std::string_view message = e.what();
  expect(e.status() == 125, "a parse error that is not status 125", message);
  expect(!message.empty(), "an empty error message");
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    expect(u >= 0x20 && u != 0x7f, "a control character (newline, escape...) in an error message", message);
  }
}

inline bool is_ascii_identifier(std::string_view s)
{
  if (s.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (digit && i > 0))) {
      return false;
    }
  }
  return true;
}

} // namespace smem::fuzz
