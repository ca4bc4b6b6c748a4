// libFuzzer target: the texts of `smem run` (src/run/spec.hpp) against SPEC 1.1's grammar.
//
// The first input byte picks a parser, the rest is its text. Each parser must accept exactly the
// texts a naive reference written from SPEC 1.1 accepts and agree with it on the result; a
// successful parse must survive a round trip through the canonical text; every rejection must be
// a usage error (RunError, status 125) with a one-line message free of control characters; and a
// rejected --secret must never echo its SOURCE (a user who writes `-s pw=hunter2`, taking SOURCE
// for the value, must not see it printed). Build and run with fuzz/run.
#include "fuzz/fuzz_util.hpp"
#include "run/error.hpp"
#include "run/spec.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace smem::run;
using smem::fuzz::check_usage_error;
using smem::fuzz::expect;
using smem::fuzz::fail;
using smem::fuzz::is_ascii_identifier;

constexpr std::uint64_t k_max_u64 = ~std::uint64_t{0};

bool has_control(std::string_view s)
{
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return true;
    }
  }
  return false;
}

bool all_digits(std::string_view s)
{
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// The decimal value of all-digit `s`, or nullopt beyond `limit`.
std::optional<std::uint64_t> decimal(std::string_view s, std::uint64_t limit)
{
  unsigned __int128 v = 0;
  for (const char c : s) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > limit) {
      return std::nullopt;
    }
  }
  return static_cast<std::uint64_t>(v);
}

bool starts_with(std::string_view s, std::string_view p)
{
  return s.substr(0, p.size()) == p;
}

// Runs f; returns whether it succeeded. A rejection must be a clean usage error; anything else
// thrown (std::out_of_range, a bare std::exception...) is a bug.
template <class F> bool attempt(F&& f, std::string_view text)
{
  try {
    f();
    return true;
  } catch (const RunError& e) {
    check_usage_error(e);
    return false;
  } catch (const std::exception& e) {
    fail(std::string("not a RunError: ") + e.what(), text);
  }
}

// --- -s NAME=SOURCE -----------------------------------------------------------------------------

// SPEC 1.1's SOURCE forms, as a reference: the spec it stands for, or nullopt when not one.
std::optional<SecretSpec> naive_secret(std::string_view text)
{
  SecretSpec s;
  const auto eq = text.find('=');
  s.name = std::string(text.substr(0, eq));
  if (!is_ascii_identifier(s.name)) {
    return std::nullopt;
  }
  if (eq == std::string_view::npos) {
    return s;
  }
  const std::string_view source = text.substr(eq + 1);
  if (source == "prompt") {
    return s;
  }
  if (starts_with(source, "prompt:")) {
    s.argument = std::string(source.substr(7));
    return s;
  }
  if (source == "stdin") {
    s.kind = SourceKind::stdin_;
    return s;
  }
  for (const auto& [prefix, kind] : {std::pair{std::string_view("env:"), SourceKind::env},
                                     std::pair{std::string_view("file:"), SourceKind::file},
                                     std::pair{std::string_view("cmd:"), SourceKind::cmd}}) {
    if (starts_with(source, prefix)) {
      s.kind = kind;
      s.argument = std::string(source.substr(prefix.size()));
      if (s.argument.empty()) {
        return std::nullopt;
      }
      // An environment variable's name has no '=' and, from a shell, no control character.
      if (kind == SourceKind::env && (s.argument.find('=') != std::string::npos || has_control(s.argument))) {
        return std::nullopt;
      }
      return s;
    }
  }
  if (starts_with(source, "fd:")) {
    const std::string_view n = source.substr(3);
    const auto fd = all_digits(n) ? decimal(n, 0x7fffffff) : std::nullopt;
    if (!fd) {
      return std::nullopt;
    }
    s.kind = SourceKind::fd;
    s.fd = static_cast<int>(*fd);
    return s;
  }
  if (starts_with(source, "random:")) {
    std::string_view rest = source.substr(7);
    s.kind = SourceKind::random;
    if (rest.size() > 4 && rest.substr(rest.size() - 4) == ":hex") {
      s.encoding = Encoding::hex;
      rest.remove_suffix(4);
    } else if (rest.size() > 7 && rest.substr(rest.size() - 7) == ":base64") {
      s.encoding = Encoding::base64;
      rest.remove_suffix(7);
    }
    const auto n = all_digits(rest) ? decimal(rest, k_max_u64) : std::nullopt;
    if (!n || *n == 0) {
      return std::nullopt;
    }
    s.random_bytes = static_cast<std::size_t>(*n);
    return s;
  }
  return std::nullopt;
}

bool same(const SecretSpec& a, const SecretSpec& b)
{
  return a.name == b.name && a.kind == b.kind && a.argument == b.argument && a.fd == b.fd &&
         a.random_bytes == b.random_bytes && a.encoding == b.encoding;
}

// The canonical text of a spec.
std::string format(const SecretSpec& s)
{
  std::string t = s.name + "=";
  switch (s.kind) {
  case SourceKind::prompt:
    return t + (s.argument.empty() ? "prompt" : "prompt:" + s.argument);
  case SourceKind::stdin_:
    return t + "stdin";
  case SourceKind::env:
    return t + "env:" + s.argument;
  case SourceKind::file:
    return t + "file:" + s.argument;
  case SourceKind::fd:
    return t + "fd:" + std::to_string(s.fd);
  case SourceKind::cmd:
    return t + "cmd:" + s.argument;
  case SourceKind::random:
    return t + "random:" + std::to_string(s.random_bytes) +
           (s.encoding == Encoding::hex      ? ":hex"
            : s.encoding == Encoding::base64 ? ":base64"
                                             : "");
  }
  fail("unknown source kind");
}

void check_secret(std::string_view text)
{
  SecretSpec got;
  const bool ok = attempt([&] { got = parse_secret(text); }, text);
  const auto want = naive_secret(text);
  expect(ok == want.has_value(),
         ok ? "parse_secret accepts what SPEC 1.1 does not" : "parse_secret refuses a valid spec", text);
  if (!ok) {
    return;
  }
  expect(same(got, *want), "parse_secret disagrees with the reference", text);
  SecretSpec again;
  const std::string canonical = format(got);
  expect(attempt([&] { again = parse_secret(canonical); }, canonical) && same(again, got),
         "parse_secret does not round-trip", canonical);
}

// A --secret whose SOURCE holds a marker: when refused, the message must not show the marker.
// (random:'s BYTES and encoding are not secret material and may be quoted back.)
void check_secret_hides_source(std::string_view name, std::string_view prefix, std::string_view tail)
{
  static constexpr std::string_view k_marker = "hunter2-Q7x";
  std::string text =
      std::string(name) + "=" + std::string(prefix) + std::string(k_marker) + std::string(tail);
  if (name.find('=') != std::string_view::npos || name.find(k_marker) != std::string_view::npos ||
      starts_with(prefix, "random:")) {
    return;
  }
  try {
    (void)parse_secret(text);
  } catch (const RunError& e) {
    check_usage_error(e);
    expect(std::string_view(e.what()).find(k_marker) == std::string_view::npos,
           "a --secret error shows the SOURCE text", e.what());
  }
}

// --- --fd N=NAME[:memfd], --env VAR=NAME ---------------------------------------------------------

void check_fd(std::string_view text)
{
  FdDelivery got;
  const bool ok = attempt([&] { got = parse_fd_delivery(text); }, text);
  // Reference: N (3..1000000) '=' NAME [':memfd'].
  bool want = false;
  FdDelivery ref;
  if (const auto eq = text.find('='); eq != std::string_view::npos) {
    const std::string_view n = text.substr(0, eq);
    std::string_view name = text.substr(eq + 1);
    if (name.size() > 6 && name.substr(name.size() - 6) == ":memfd") {
      ref.memfd = true;
      name.remove_suffix(6);
    }
    const auto fd = all_digits(n) ? decimal(n, 1'000'000) : std::nullopt;
    want = fd && *fd >= 3 && is_ascii_identifier(name);
    if (want) {
      ref.fd = static_cast<int>(*fd);
      ref.name = std::string(name);
    }
  }
  expect(ok == want, ok ? "parse_fd_delivery accepts a bad --fd" : "parse_fd_delivery refuses a good --fd",
         text);
  if (ok) {
    expect(got.fd == ref.fd && got.name == ref.name && got.memfd == ref.memfd,
           "parse_fd_delivery disagrees with the reference", text);
    const std::string canonical = std::to_string(got.fd) + "=" + got.name + (got.memfd ? ":memfd" : "");
    FdDelivery again;
    expect(attempt([&] { again = parse_fd_delivery(canonical); }, canonical) && again.fd == got.fd &&
               again.name == got.name && again.memfd == got.memfd,
           "parse_fd_delivery does not round-trip", canonical);
  }
}

void check_env(std::string_view text)
{
  EnvDelivery got;
  const bool ok = attempt([&] { got = parse_env_delivery(text); }, text);
  // Reference: VAR (not empty, no '=', no control character) '=' NAME.
  const auto eq = text.find('=');
  const bool want = eq != std::string_view::npos && eq > 0 && !has_control(text.substr(0, eq)) &&
                    is_ascii_identifier(text.substr(eq + 1));
  expect(ok == want,
         ok ? "parse_env_delivery accepts a bad --env" : "parse_env_delivery refuses a good --env", text);
  if (ok) {
    expect(got.variable == text.substr(0, eq) && got.name == text.substr(eq + 1),
           "parse_env_delivery disagrees with the reference", text);
  }
}

// --- --max-size, --timeout -------------------------------------------------------------------------

void check_size(std::string_view text)
{
  std::size_t got = 0;
  const bool ok = attempt([&] { got = parse_size(text); }, text);
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  const std::string_view unit = text.substr(digits);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "K" || unit == "k" || unit == "KiB") {
    scale = 1024;
  } else if (unit == "M" || unit == "MiB") {
    scale = 1024 * 1024;
  } else if (unit == "G" || unit == "GiB") {
    scale = 1024 * 1024 * 1024;
  }
  const auto n = digits > 0 ? decimal(text.substr(0, digits), k_max_u64) : std::nullopt;
  const bool want = n && scale != 0 && static_cast<unsigned __int128>(*n) * scale <= k_max_u64;
  expect(ok == want, ok ? "parse_size accepts junk or overflows" : "parse_size refuses a valid size", text);
  if (ok) {
    expect(got == *n * scale, "parse_size computes a wrong value", text);
    std::size_t again = 0;
    const std::string canonical = std::to_string(got);
    expect(attempt([&] { again = parse_size(canonical); }, canonical) && again == got,
           "parse_size does not round-trip", canonical);
  }
}

void check_duration(std::string_view text)
{
  std::chrono::milliseconds got{};
  const bool ok = attempt([&] { got = parse_duration(text); }, text);
  // Reference: DIGITS[.DIGITS] (either side may be empty, not both) then s, ms, m, h or nothing.
  std::size_t i = 0;
  std::size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    ++i;
    ++digits;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
      ++digits;
    }
  }
  const std::string number(text.substr(0, i));
  const std::string_view unit = text.substr(i);
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  }
  const double ms = digits > 0 ? std::strtod(number.c_str(), nullptr) * scale : 0;
  const bool want = digits > 0 && scale != 0 && ms >= 1 && ms <= 1e12;
  expect(ok == want,
         ok ? "parse_duration accepts junk, zero or a huge value" : "parse_duration refuses a valid one",
         text);
  if (ok) {
    expect(got.count() == std::llround(ms), "parse_duration computes a wrong value", text);
    expect(got.count() >= 1, "parse_duration returns zero", text);
  }
}

void check_identifier(std::string_view text)
{
  expect(is_identifier(text) == is_ascii_identifier(text),
         "is_identifier disagrees with [A-Za-z_][A-Za-z0-9_]*", text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size == 0) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
  case 0:
    check_identifier(text);
    break;
  case 1:
    check_secret(text);
    break;
  case 2: {
    // NAME \x00 KIND-PREFIX \x00 TAIL: a marker goes between prefix and tail.
    const auto a = text.find('\0');
    const auto b = a == std::string_view::npos ? a : text.find('\0', a + 1);
    if (b != std::string_view::npos) {
      check_secret_hides_source(text.substr(0, a), text.substr(a + 1, b - a - 1), text.substr(b + 1));
    }
    break;
  }
  case 3:
    check_fd(text);
    break;
  case 4:
    check_env(text);
    break;
  case 5:
    check_size(text);
    break;
  case 6:
    check_duration(text);
    break;
  default:
    check_secret(text);
    break;
  }
  return 0;
}
