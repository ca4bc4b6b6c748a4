// The textual parts of `smem run`: secret specs, delivery specs, {NAME} placeholders, sizes and
// durations. Pure functions without I/O, so they are unit-tested and fuzzed alone.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smem::run {

enum class SourceKind { prompt, stdin_, env, file, fd, cmd, random };
enum class Encoding { raw, hex, base64 };

// One -s/--secret NAME=SOURCE.
struct SecretSpec {
  std::string name;
  SourceKind kind = SourceKind::prompt;
  std::string argument;         // prompt text, VAR, PATH, COMMAND (empty when not used)
  int fd = -1;                  // fd:N
  std::size_t random_bytes = 0; // random:BYTES
  Encoding encoding = Encoding::raw;
};

// One --fd N=NAME[:memfd].
struct FdDelivery {
  int fd = -1;
  std::string name;
  bool memfd = false;
};

// One --env VAR=NAME.
struct EnvDelivery {
  std::string variable;
  std::string name;
};

// A command argument after {NAME} substitution: literal text and placeholders in order.
struct ArgPart {
  std::string text; // literal text (braces unescaped), when name is empty
  std::string name; // a secret delivered as /dev/fd/N here
};
using Arg = std::vector<ArgPart>;

// NAME: [A-Za-z_][A-Za-z0-9_]*
bool is_identifier(std::string_view s) noexcept;

// `s` with every control character written as \n, \t, \r or \xNN: a text of the user's that an
// error message shows stays on one line and cannot carry a terminal escape sequence.
std::string printable(std::string_view s);

// Parse one spec; throw RunError (status 125) with a message naming the bad text. Secret values
// never pass through these functions.
SecretSpec parse_secret(std::string_view text);
FdDelivery parse_fd_delivery(std::string_view text);
EnvDelivery parse_env_delivery(std::string_view text);

// Splits `arg` at {NAME} placeholders; `{{` and `}}` are literal braces. `{x}` with an identifier x
// that is not in `defined` is an error (typos must not pass silently); other brace text is literal.
Arg parse_arg(std::string_view arg, const std::vector<std::string>& defined);

// "1048576", "64K", "1M", "2MiB", "1G": bytes. Throws RunError on junk or overflow.
std::size_t parse_size(std::string_view text);

// "30" (seconds), "1.5s", "500ms", "2m", "1h". Throws RunError on junk, zero or negative.
std::chrono::milliseconds parse_duration(std::string_view text);

} // namespace smem::run
