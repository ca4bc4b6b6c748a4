// libFuzzer target: {NAME} substitution in the command's arguments (parse_arg, src/run/spec.hpp)
// against a naive reference written from SPEC 1.1's sentence: `{NAME}` for a defined NAME is a
// placeholder, `{{` and `}}` are literal braces, `{x}` with an undefined identifier x is an error,
// and any other brace text is literal.
//
// Input: a few defined names (one per line up to a blank line; they need not be identifiers, so
// the parser is also fed names it can never get from -s), then the argument. Checked: parse_arg
// fails exactly when the reference does, with a one-line usage error; otherwise both give the
// same argv word once each placeholder becomes `/dev/fd/N` (numbered in order, as smem does);
// parts are never empty, literal parts are merged, placeholders name defined secrets; and escaping
// the parts back (`{` -> `{{`, placeholder -> `{NAME}`) parses to the same parts. Build and run
// with fuzz/run.
#include "fuzz/fuzz_util.hpp"
#include "run/error.hpp"
#include "run/spec.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace smem::run;
using smem::fuzz::check_usage_error;
using smem::fuzz::expect;
using smem::fuzz::fail;
using smem::fuzz::is_ascii_identifier;

// What `smem run` passes as the argument when placeholders become /dev/fd/3, /dev/fd/4, ...
std::string render(const Arg& parts)
{
  std::string out;
  int fd = 3;
  for (const ArgPart& p : parts) {
    out += p.name.empty() ? p.text : "/dev/fd/" + std::to_string(fd++);
  }
  return out;
}

// The reference: scan left to right, trying at each position the longest form SPEC names.
// Returns the rendered word, or nullopt for an undefined placeholder.
std::optional<std::string> naive(std::string_view arg, const std::vector<std::string>& defined)
{
  std::string out;
  int fd = 3;
  std::size_t i = 0;
  while (i < arg.size()) {
    const std::string_view rest = arg.substr(i);
    if (rest.starts_with("{{") || rest.starts_with("}}")) {
      out += rest[0];
      i += 2;
      continue;
    }
    if (rest[0] == '{') {
      // the longest run of identifier characters, then a closing brace?
      std::size_t j = 1;
      while (j < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[j])) || rest[j] == '_') &&
             static_cast<unsigned char>(rest[j]) < 0x80) {
        ++j;
      }
      const std::string_view name = rest.substr(1, j - 1);
      if (j < rest.size() && rest[j] == '}' && is_ascii_identifier(name)) {
        if (std::find(defined.begin(), defined.end(), name) == defined.end()) {
          return std::nullopt;
        }
        out += "/dev/fd/" + std::to_string(fd++);
        i += j + 1;
        continue;
      }
    }
    out += rest[0];
    ++i;
  }
  return out;
}

std::string escape(const Arg& parts)
{
  std::string out;
  for (const ArgPart& p : parts) {
    if (!p.name.empty()) {
      out += "{" + p.name + "}";
      continue;
    }
    for (const char c : p.text) {
      out += c;
      if (c == '{' || c == '}') {
        out += c;
      }
    }
  }
  return out;
}

bool same(const Arg& a, const Arg& b)
{
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const ArgPart& x, const ArgPart& y) { return x.text == y.text && x.name == y.name; });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> defined;
  for (;;) {
    const auto nl = input.find('\n');
    if (nl == std::string_view::npos || nl == 0 || defined.size() == 8) {
      if (nl == 0) {
        input.remove_prefix(1);
      }
      break;
    }
    defined.emplace_back(input.substr(0, nl));
    input.remove_prefix(nl + 1);
  }
  const std::string_view arg = input;

  Arg parts;
  bool ok = true;
  try {
    parts = parse_arg(arg, defined);
  } catch (const RunError& e) {
    check_usage_error(e);
    ok = false;
  } catch (const std::exception& e) {
    fail(std::string("parse_arg threw something other than a RunError: ") + e.what(), arg);
  }
  const auto want = naive(arg, defined);
  expect(ok == want.has_value(),
         ok ? "parse_arg accepts an undefined {name}" : "parse_arg refuses a valid argument", arg);
  if (!ok) {
    return 0;
  }
  expect(render(parts) == *want, "parse_arg substitutes differently from the reference", arg);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const ArgPart& p = parts[i];
    expect(p.name.empty() != p.text.empty(), "a part is empty or both text and placeholder", arg);
    if (!p.name.empty()) {
      expect(is_ascii_identifier(p.name) &&
                 std::find(defined.begin(), defined.end(), p.name) != defined.end(),
             "a placeholder names no defined secret", arg);
    }
    if (i > 0) {
      expect(!(p.name.empty() && parts[i - 1].name.empty()), "two literal parts in a row", arg);
    }
  }
  Arg again;
  const std::string escaped = escape(parts);
  try {
    again = parse_arg(escaped, defined);
  } catch (const RunError&) {
    fail("the escaped form of an accepted argument is refused", escaped);
  }
  expect(same(again, parts), "escaping the parts back does not round-trip", escaped);
  return 0;
}
