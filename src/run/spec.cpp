#include "run/spec.hpp"

#include "run/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace smem::run {
namespace {

using namespace std::string_view_literals;

bool starts_with(std::string_view s, std::string_view prefix)
{
  return s.substr(0, prefix.size()) == prefix;
}

// A non-negative decimal integer filling all of `s`.
std::optional<std::uint64_t> parse_uint(std::string_view s)
{
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return value;
}

bool is_control(char c)
{
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string quoted(std::string_view s)
{
  std::string q(1, '\''); // built piecewise: g++ 12 -O2 warns falsely on "'" + std::string(s)
  q += printable(s);
  q += '\'';
  return q;
}

// NAME=REST split for delivery specs.
std::pair<std::string_view, std::string_view> split_assignment(std::string_view text, std::string_view option,
                                                               std::string_view form)
{
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    throw RunError(std::string(option) + " " + quoted(text) + ": expected " + std::string(form));
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

void check_secret_name(std::string_view name, std::string_view context)
{
  if (!is_identifier(name)) {
    throw RunError(std::string(context) + ": " + quoted(name) +
                   " is not a valid secret name (letters, digits and _, not starting with a digit)");
  }
}

} // namespace

std::string printable(std::string_view s)
{
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (!is_control(c)) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += k_hex[u >> 4];
      out += k_hex[u & 0xf];
    }
  }
  return out;
}

bool is_identifier(std::string_view s) noexcept
{
  const auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return !s.empty() && alpha(s[0]) &&
         std::all_of(s.begin() + 1, s.end(), [&](char c) { return alpha(c) || digit(c); });
}

SecretSpec parse_secret(std::string_view text)
{
  SecretSpec spec;
  const auto eq = text.find('=');
  const std::string_view name = text.substr(0, eq);
  // Only NAME is quoted back, never SOURCE: a user who took SOURCE for the value itself
  // (`-s my-pw=hunter2`) must not see it printed.
  check_secret_name(name, eq == std::string_view::npos ? "--secret " + quoted(name)
                                                       : "--secret " + quoted(std::string(name) + "=..."));
  spec.name = std::string(name);
  if (eq == std::string_view::npos) {
    return spec; // -s NAME means -s NAME=prompt
  }
  const std::string_view source = text.substr(eq + 1);
  const auto bad = [&](std::string_view why) {
    return RunError("--secret " + quoted(spec.name + "=...") + ": " + std::string(why));
  };
  const auto argument_of = [&](std::string_view prefix, std::string_view what) {
    std::string_view arg = source.substr(prefix.size());
    if (arg.empty()) {
      throw bad(std::string(prefix) + " needs " + std::string(what));
    }
    return std::string(arg);
  };
  if (source == "prompt"sv) {
    spec.kind = SourceKind::prompt;
  } else if (starts_with(source, "prompt:"sv)) {
    spec.kind = SourceKind::prompt;
    spec.argument = std::string(source.substr(7));
  } else if (source == "stdin"sv) {
    spec.kind = SourceKind::stdin_;
  } else if (starts_with(source, "env:"sv)) {
    spec.kind = SourceKind::env;
    spec.argument = argument_of("env:", "a variable name (env:VAR)");
    if (spec.argument.find('=') != std::string::npos) {
      throw bad("env:VAR: a variable name cannot contain '='");
    }
    if (std::any_of(spec.argument.begin(), spec.argument.end(), is_control)) {
      throw bad("env:VAR: a variable name cannot contain a control character (newline, tab...)");
    }
  } else if (starts_with(source, "file:"sv)) {
    spec.kind = SourceKind::file;
    spec.argument = argument_of("file:", "a path (file:PATH)");
  } else if (starts_with(source, "fd:"sv)) {
    spec.kind = SourceKind::fd;
    const auto n = parse_uint(source.substr(3));
    if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
      throw bad("fd:N needs a file descriptor number, e.g. fd:3");
    }
    spec.fd = static_cast<int>(*n);
  } else if (starts_with(source, "cmd:"sv)) {
    spec.kind = SourceKind::cmd;
    spec.argument = argument_of("cmd:", "a command (cmd:COMMAND)");
  } else if (starts_with(source, "random:"sv)) {
    spec.kind = SourceKind::random;
    std::string_view rest = source.substr(7);
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view encoding = rest.substr(colon + 1);
      if (encoding == "hex"sv) {
        spec.encoding = Encoding::hex;
      } else if (encoding == "base64"sv) {
        spec.encoding = Encoding::base64;
      } else {
        throw bad("random:BYTES takes :hex or :base64, not " + quoted(":" + std::string(encoding)));
      }
      rest = rest.substr(0, colon);
    }
    const auto n = parse_uint(rest);
    if (!n || *n == 0) {
      throw bad("random:BYTES needs a positive number of bytes, e.g. random:32");
    }
    spec.random_bytes = static_cast<std::size_t>(*n);
  } else {
    throw bad("unknown source; use prompt, prompt:TEXT, stdin, env:VAR, file:PATH, fd:N, cmd:COMMAND or "
              "random:BYTES[:hex|:base64]");
  }
  return spec;
}

FdDelivery parse_fd_delivery(std::string_view text)
{
  const auto [number, rest] = split_assignment(text, "--fd", "N=NAME or N=NAME:memfd");
  FdDelivery d;
  const auto n = parse_uint(number);
  if (!n || *n < 3 || *n > 1'000'000) {
    throw RunError("--fd " + quoted(text) +
                   ": N must be a file descriptor number of 3 or more (0 is --stdin, 1 and 2 are output)");
  }
  d.fd = static_cast<int>(*n);
  std::string_view name = rest;
  if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    if (rest.substr(colon + 1) != "memfd"sv) {
      throw RunError("--fd " + quoted(text) + ": the only delivery kind after ':' is memfd");
    }
    d.memfd = true;
    name = rest.substr(0, colon);
  }
  check_secret_name(name, "--fd " + quoted(text));
  d.name = std::string(name);
  return d;
}

EnvDelivery parse_env_delivery(std::string_view text)
{
  const auto [variable, name] = split_assignment(text, "--env", "VAR=NAME");
  if (variable.empty()) {
    throw RunError("--env " + quoted(text) + ": the variable name is empty");
  }
  if (std::any_of(variable.begin(), variable.end(), is_control)) {
    throw RunError("--env " + quoted(text) +
                   ": a variable name cannot contain a control character (newline, tab...)");
  }
  check_secret_name(name, "--env " + quoted(text));
  return EnvDelivery{std::string(variable), std::string(name)};
}

Arg parse_arg(std::string_view arg, const std::vector<std::string>& defined)
{
  Arg parts;
  std::string literal;
  const auto flush = [&] {
    if (!literal.empty()) {
      parts.push_back(ArgPart{std::move(literal), {}});
      literal.clear();
    }
  };
  for (std::size_t i = 0; i < arg.size(); ++i) {
    const char c = arg[i];
    if ((c == '{' || c == '}') && i + 1 < arg.size() && arg[i + 1] == c) {
      literal += c; // {{ or }}
      ++i;
      continue;
    }
    if (c == '{') {
      const auto close = arg.find('}', i + 1);
      if (close != std::string_view::npos) {
        const std::string_view name = arg.substr(i + 1, close - i - 1);
        if (is_identifier(name)) {
          if (std::find(defined.begin(), defined.end(), name) == defined.end()) {
            throw RunError("the command's argument " + quoted(arg) + " refers to {" + std::string(name) +
                           "}, but no secret of that name is defined; define it with -s " +
                           std::string(name) + "=SOURCE, or write {{" + std::string(name) +
                           "}} for literal braces");
          }
          flush();
          parts.push_back(ArgPart{{}, std::string(name)});
          i = close;
          continue;
        }
      }
    }
    literal += c;
  }
  flush();
  return parts;
}

std::size_t parse_size(std::string_view text)
{
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  const auto n = parse_uint(text.substr(0, digits));
  std::string_view unit = text.substr(digits);
  std::uint64_t scale = 1;
  if (unit.empty() || unit == "B"sv) {
    scale = 1;
  } else if (unit == "K"sv || unit == "KiB"sv || unit == "k"sv) {
    scale = std::uint64_t{1} << 10;
  } else if (unit == "M"sv || unit == "MiB"sv) {
    scale = std::uint64_t{1} << 20;
  } else if (unit == "G"sv || unit == "GiB"sv) {
    scale = std::uint64_t{1} << 30;
  } else {
    scale = 0;
  }
  if (!n || scale == 0 || *n > std::numeric_limits<std::uint64_t>::max() / scale) {
    throw RunError("--max-size " + quoted(text) + ": expected a number of bytes, optionally with K, M or G");
  }
  return static_cast<std::size_t>(*n * scale);
}

std::chrono::milliseconds parse_duration(std::string_view text)
{
  std::size_t numeric = 0;
  while (numeric < text.size() && ((text[numeric] >= '0' && text[numeric] <= '9') || text[numeric] == '.')) {
    ++numeric;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + numeric, value);
  const std::string_view unit = text.substr(numeric);
  double scale_ms = 0;
  if (unit.empty() || unit == "s"sv) {
    scale_ms = 1000;
  } else if (unit == "ms"sv) {
    scale_ms = 1;
  } else if (unit == "m"sv) {
    scale_ms = 60'000;
  } else if (unit == "h"sv) {
    scale_ms = 3'600'000;
  }
  const double ms = value * scale_ms;
  if (numeric == 0 || ec != std::errc{} || end != text.data() + numeric || scale_ms == 0 || !(ms >= 1) ||
      ms > 1e12) {
    throw RunError("--timeout " + quoted(text) +
                   ": expected a positive duration such as 30s, 500ms, 5m or 1h");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

} // namespace smem::run
