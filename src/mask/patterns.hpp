// The byte strings the masker looks for, derived from one secret (SPEC 1.1 "Masking"): the secret
// itself, each line of a multi-line text secret, and, for secrets of 6 bytes or more, its base64
// (standalone and at the three alignments it takes inside a longer base64 string), URL-encoded
// and JSON-escaped forms.
//
// Patterns are described first (form and length only, nothing copied), then written in place, so
// the masker's table can be sized and then filled inside protected memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace smem::mask {

// Secrets shorter than this are not masked at all (SPEC 1.1: too many false positives).
inline constexpr std::size_t k_min_masked = 4;
// Secrets shorter than this get no encoded forms.
inline constexpr std::size_t k_min_encoded = 6;

// One way of deriving a pattern from a secret.
enum class Form : std::uint8_t {
  raw,             // the secret's bytes
  line,            // one line of a multi-line text secret (split at \n, a trailing \r dropped)
  base64,          // standard base64 with '=' padding
  base64_unpadded, // standard base64 without padding
  base64_at_0,     // the characters fully determined by the secret inside a longer base64 string
  base64_at_1,     //   whose bytes before the secret number 0, 1 or 2 modulo 3
  base64_at_2,     //
  url_upper,       // percent-encoding, RFC 3986 unreserved kept, upper-case hex (%2F)
  url_lower,       // the same with lower-case hex (%2f)
  url_component,   // JavaScript encodeURIComponent: also keeps ! ' ( ) *
  url_path,        // Python's urllib.parse.quote default: also keeps /
  url_form,        // application/x-www-form-urlencoded: keeps * - . _, space becomes +
  json,            // the inside of a JSON string: \" \\ \b \f \n \r \t, \u00xx for other controls
  json_slash,      // the same with / escaped as \/ (PHP's json_encode)
  json_html,       // the same with < > & as \u003c \u003e \u0026 (Go's encoding/json)
};

// One pattern of a secret: its form, the byte range of the secret it derives from, its length.
struct PatternSpec {
  Form form = Form::raw;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t length = 0;
};

// The length of `form`'s encoding of `input` (Form::line counts as raw).
std::size_t encoded_size(Form form, std::span<const std::byte> input);

// Writes `form`'s encoding of `input` into `out`, which holds exactly encoded_size(form, input) bytes.
void encode(Form form, std::span<const std::byte> input, std::span<std::byte> out);

// The patterns of `secret`, described without copying any byte: none when it is shorter than
// k_min_masked; encoded forms only when it has k_min_encoded to `encode_limit` bytes; lines only
// for a text secret (no control bytes except \t \r \n) that contains \n. An encoded form is
// left out when it is certainly equal to an earlier one (a token of letters and digits is its own
// URL and JSON form); other duplicates, rarer, are left to the table.
std::vector<PatternSpec> describe_patterns(std::span<const std::byte> secret, std::size_t encode_limit);

// Writes the pattern `spec` of `secret` into `out`, which holds exactly spec.length bytes.
void write_pattern(const PatternSpec& spec, std::span<const std::byte> secret, std::span<std::byte> out);

// Every pattern of `secret` in ordinary, unprotected memory, duplicates removed. For tests and
// the fuzzer's reference implementation only; the masker itself never copies patterns out of
// protected memory.
std::vector<std::vector<std::byte>> patterns_of(std::span<const std::byte> secret,
                                                std::size_t encode_limit = SIZE_MAX);

} // namespace smem::mask
