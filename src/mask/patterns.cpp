#include "mask/patterns.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string_view>

namespace smem::mask {
namespace {

constexpr char k_base64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char k_hex_upper[] = "0123456789ABCDEF";
constexpr char k_hex_lower[] = "0123456789abcdef";

constexpr std::array k_encoded_forms{
    Form::base64,    Form::base64_unpadded, Form::base64_at_0,   Form::base64_at_1, Form::base64_at_2,
    Form::url_upper, Form::url_lower,       Form::url_component, Form::url_path,    Form::url_form,
    Form::json,      Form::json_slash,      Form::json_html};

// Appends bytes to `out`, or only counts them when `out` is empty (the describe pass).
class Writer {
public:
  Writer() = default;
  explicit Writer(std::span<std::byte> out) : m_out(out) {}
  void put(char c)
  {
    if (!m_out.empty()) {
      if (m_count == m_out.size()) {
        throw std::logic_error("smem mask: an encoded pattern is longer than described");
      }
      m_out[m_count] = static_cast<std::byte>(c);
    }
    ++m_count;
  }
  void put(std::byte b) { put(static_cast<char>(b)); }
  void put(const char* text)
  {
    for (; *text != '\0'; ++text) {
      put(*text);
    }
  }
  [[nodiscard]] std::size_t count() const noexcept { return m_count; }

private:
  std::span<std::byte> m_out;
  std::size_t m_count = 0;
};

bool is_alnum(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void base64_standalone(std::span<const std::byte> in, bool pad, Writer& w)
{
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const auto v = (std::to_integer<unsigned>(in[i]) << 16) | (std::to_integer<unsigned>(in[i + 1]) << 8) |
                   std::to_integer<unsigned>(in[i + 2]);
    w.put(k_base64[(v >> 18) & 63]);
    w.put(k_base64[(v >> 12) & 63]);
    w.put(k_base64[(v >> 6) & 63]);
    w.put(k_base64[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest == 0) {
    return;
  }
  auto v = std::to_integer<unsigned>(in[i]) << 16;
  if (rest == 2) {
    v |= std::to_integer<unsigned>(in[i + 1]) << 8;
  }
  w.put(k_base64[(v >> 18) & 63]);
  w.put(k_base64[(v >> 12) & 63]);
  if (rest == 2) {
    w.put(k_base64[(v >> 6) & 63]);
  }
  if (pad) {
    w.put(rest == 1 ? "==" : "=");
  }
}

// The base64 characters that depend on the secret's bytes only, when `lead` bytes (0, 1 or 2) of
// unknown content precede it in the encoded stream's current 3-byte group and unknown bytes follow.
void base64_inside(std::span<const std::byte> in, std::size_t lead, Writer& w)
{
  const auto byte_at = [&](std::size_t x) -> unsigned {
    return x >= lead && x - lead < in.size() ? std::to_integer<unsigned>(in[x - lead]) : 0U;
  };
  const std::size_t first_bit = 8 * lead;
  const std::size_t end_bit = 8 * (lead + in.size());
  for (std::size_t t = (first_bit + 5) / 6; 6 * t + 6 <= end_bit; ++t) {
    const std::size_t bit = 6 * t;
    const unsigned window = (byte_at(bit / 8) << 8) | byte_at(bit / 8 + 1);
    w.put(k_base64[(window >> (10 - bit % 8)) & 63]);
  }
}

enum class Hex { upper, lower };

void percent_encode(std::span<const std::byte> in, const char* keep, bool plus_for_space, Hex hex, Writer& w)
{
  const char* digits = hex == Hex::upper ? k_hex_upper : k_hex_lower;
  for (const std::byte b : in) {
    const auto c = std::to_integer<unsigned char>(b);
    if (is_alnum(c) ||
        (c != 0 && std::string_view(keep).find(static_cast<char>(c)) != std::string_view::npos)) {
      w.put(b);
    } else if (plus_for_space && c == ' ') {
      w.put('+');
    } else {
      w.put('%');
      w.put(digits[c >> 4]);
      w.put(digits[c & 15]);
    }
  }
}

enum class JsonStyle { minimal, slash, html };

void json_escape(std::span<const std::byte> in, JsonStyle style, Writer& w)
{
  for (const std::byte b : in) {
    const auto c = std::to_integer<unsigned char>(b);
    switch (c) {
    case '"':
      w.put("\\\"");
      continue;
    case '\\':
      w.put("\\\\");
      continue;
    case '\b':
      w.put("\\b");
      continue;
    case '\f':
      w.put("\\f");
      continue;
    case '\n':
      w.put("\\n");
      continue;
    case '\r':
      w.put("\\r");
      continue;
    case '\t':
      w.put("\\t");
      continue;
    default:
      break;
    }
    const bool escape = c < 0x20 || (style == JsonStyle::slash && c == '/') ||
                        (style == JsonStyle::html && (c == '<' || c == '>' || c == '&'));
    if (!escape) {
      w.put(b);
    } else if (c == '/') {
      w.put("\\/");
    } else {
      w.put("\\u00");
      w.put(k_hex_lower[c >> 4]);
      w.put(k_hex_lower[c & 15]);
    }
  }
}

void encode_into(Form form, std::span<const std::byte> in, Writer& w)
{
  switch (form) {
  case Form::raw:
  case Form::line:
    for (const std::byte b : in) {
      w.put(b);
    }
    return;
  case Form::base64:
    base64_standalone(in, true, w);
    return;
  case Form::base64_unpadded:
    base64_standalone(in, false, w);
    return;
  case Form::base64_at_0:
    base64_inside(in, 0, w);
    return;
  case Form::base64_at_1:
    base64_inside(in, 1, w);
    return;
  case Form::base64_at_2:
    base64_inside(in, 2, w);
    return;
  case Form::url_upper:
    percent_encode(in, "-._~", false, Hex::upper, w);
    return;
  case Form::url_lower:
    percent_encode(in, "-._~", false, Hex::lower, w);
    return;
  case Form::url_component:
    percent_encode(in, "-._~!'()*", false, Hex::upper, w);
    return;
  case Form::url_path:
    percent_encode(in, "-._~/", false, Hex::upper, w);
    return;
  case Form::url_form:
    percent_encode(in, "*-._", true, Hex::upper, w);
    return;
  case Form::json:
    json_escape(in, JsonStyle::minimal, w);
    return;
  case Form::json_slash:
    json_escape(in, JsonStyle::slash, w);
    return;
  case Form::json_html:
    json_escape(in, JsonStyle::html, w);
    return;
  }
}

// Text: no control byte other than tab, CR and LF (bytes >= 0x80 allowed: UTF-8). Only text is
// split into lines; a binary key's 0x0a bytes do not make lines anyone would print.
bool is_text(std::span<const std::byte> secret)
{
  return std::all_of(secret.begin(), secret.end(), [](std::byte b) {
    const auto c = std::to_integer<unsigned char>(b);
    return (c >= 0x20 && c != 0x7f) || c == '\t' || c == '\r' || c == '\n';
  });
}

bool contains_any(std::span<const std::byte> in, std::string_view set)
{
  return std::any_of(in.begin(), in.end(),
                     [&](std::byte b) { return set.find(static_cast<char>(b)) != std::string_view::npos; });
}

bool is_unreserved(unsigned char c)
{
  return is_alnum(c) || std::string_view("-._~").find(static_cast<char>(c)) != std::string_view::npos;
}

// True only when `form` certainly encodes `in` exactly as an earlier form of k_encoded_forms (or
// the raw bytes) does; false says nothing. Each case names the form it equals and why.
bool equals_earlier_form(Form form, std::span<const std::byte> in)
{
  const auto all = [&](auto&& predicate) {
    return std::all_of(in.begin(), in.end(),
                       [&](std::byte b) { return predicate(std::to_integer<unsigned char>(b)); });
  };
  switch (form) {
  case Form::base64_unpadded: // = base64: no padding for whole groups
  case Form::base64_at_0:     // = base64_unpadded: every character is the secret's alone
    return in.size() % 3 == 0;
  case Form::url_upper: // = raw: nothing to escape
    return all(is_unreserved);
  case Form::url_lower: // = url_upper: no escape has a letter among its hex digits
    return all([](unsigned char c) { return is_unreserved(c) || ((c >> 4) < 10 && (c & 15) < 10); });
  case Form::url_component:
    return !contains_any(in, "!'()*"); // = url_upper
  case Form::url_path:
    return !contains_any(in, "/"); // = url_upper
  case Form::url_form:
    return !contains_any(in, " ~*"); // = url_upper
  case Form::json:                   // = raw: nothing to escape
    return all([](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; });
  case Form::json_slash:
    return !contains_any(in, "/"); // = json
  case Form::json_html:
    return !contains_any(in, "<>&"); // = json
  default:
    return false;
  }
}

} // namespace

std::size_t encoded_size(Form form, std::span<const std::byte> input)
{
  Writer counter;
  encode_into(form, input, counter);
  return counter.count();
}

void encode(Form form, std::span<const std::byte> input, std::span<std::byte> out)
{
  Writer w(out); // an empty `out` only counts, and the check below catches any mismatch
  encode_into(form, input, w);
  if (w.count() != out.size()) {
    throw std::logic_error("smem mask: an encoded pattern differs in length from its description");
  }
}

std::vector<PatternSpec> describe_patterns(std::span<const std::byte> secret, std::size_t encode_limit)
{
  std::vector<PatternSpec> specs;
  const std::size_t n = secret.size();
  if (n < k_min_masked) {
    return specs;
  }
  specs.push_back({Form::raw, 0, n, n});
  const auto newline = std::find(secret.begin(), secret.end(), std::byte{'\n'});
  if (newline != secret.end() && is_text(secret)) {
    std::size_t begin = 0;
    while (begin <= n) {
      const auto found =
          std::find(secret.begin() + static_cast<std::ptrdiff_t>(begin), secret.end(), std::byte{'\n'});
      const auto stop = static_cast<std::size_t>(found - secret.begin());
      std::size_t end = stop;
      if (end > begin && secret[end - 1] == std::byte{'\r'}) {
        --end;
      }
      if (end - begin >= k_min_masked) {
        specs.push_back({Form::line, begin, end, end - begin});
      }
      begin = stop + 1;
    }
  }
  if (n >= k_min_encoded && n <= encode_limit) {
    for (const Form form : k_encoded_forms) {
      if (!equals_earlier_form(form, secret)) {
        specs.push_back({form, 0, n, encoded_size(form, secret)});
      }
    }
  }
  return specs;
}

void write_pattern(const PatternSpec& spec, std::span<const std::byte> secret, std::span<std::byte> out)
{
  encode(spec.form, secret.subspan(spec.begin, spec.end - spec.begin), out);
}

std::vector<std::vector<std::byte>> patterns_of(std::span<const std::byte> secret, std::size_t encode_limit)
{
  std::vector<std::vector<std::byte>> result;
  for (const PatternSpec& spec : describe_patterns(secret, encode_limit)) {
    std::vector<std::byte> pattern(spec.length);
    write_pattern(spec, secret, pattern);
    if (std::find(result.begin(), result.end(), pattern) == result.end()) {
      result.push_back(std::move(pattern));
    }
  }
  return result;
}

} // namespace smem::mask
