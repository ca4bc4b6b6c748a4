#include "bench/json.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace smem::bench {
namespace {

constexpr int k_max_depth = 64;

class Parser {
public:
  explicit Parser(std::string_view text) : m_text(text) {}

  Json document()
  {
    skip_space();
    Json value = parse_value(0);
    skip_space();
    if (m_at < m_text.size()) {
      fail("unexpected data after the JSON value");
    }
    return value;
  }

private:
  [[noreturn]] void fail(const std::string& reason) const
  {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < m_at && i < m_text.size(); ++i) {
      if (m_text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw JsonError(line, column, reason);
  }

  [[nodiscard]] bool at_end() const noexcept { return m_at >= m_text.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : m_text[m_at]; }

  void skip_space() noexcept
  {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++m_at;
    }
  }

  void expect(char c, const char* what)
  {
    if (peek() != c || at_end()) {
      fail(std::string("expected ") + what);
    }
    ++m_at;
  }

  void literal(std::string_view word)
  {
    if (m_text.substr(m_at, word.size()) != word) {
      fail("invalid literal (expected a value)");
    }
    m_at += word.size();
  }

  Json parse_value(int depth)
  {
    if (at_end()) {
      fail("unexpected end of input (expected a value)");
    }
    switch (peek()) {
    case '{':
      return parse_object(depth + 1);
    case '[':
      return parse_array(depth + 1);
    case '"':
      return Json(parse_string());
    case 't':
      literal("true");
      return Json(true);
    case 'f':
      literal("false");
      return Json(false);
    case 'n':
      literal("null");
      return Json(nullptr);
    default:
      if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
        return Json(parse_number());
      }
      fail(std::string("unexpected character '") + peek() + "' (expected a value)");
    }
  }

  Json parse_object(int depth)
  {
    if (depth > k_max_depth) {
      fail("nesting deeper than 64");
    }
    ++m_at; // {
    Json::Object members;
    skip_space();
    if (peek() == '}') {
      ++m_at;
      return Json(std::move(members));
    }
    for (;;) {
      skip_space();
      if (peek() != '"') {
        fail("expected a string key");
      }
      std::string key = parse_string();
      skip_space();
      expect(':', "':' after a key");
      skip_space();
      members.emplace_back(std::move(key), parse_value(depth));
      skip_space();
      if (peek() == ',') {
        ++m_at;
        continue;
      }
      expect('}', "',' or '}' in an object");
      return Json(std::move(members));
    }
  }

  Json parse_array(int depth)
  {
    if (depth > k_max_depth) {
      fail("nesting deeper than 64");
    }
    ++m_at; // [
    Json::Array elements;
    skip_space();
    if (peek() == ']') {
      ++m_at;
      return Json(std::move(elements));
    }
    for (;;) {
      skip_space();
      elements.push_back(parse_value(depth));
      skip_space();
      if (peek() == ',') {
        ++m_at;
        continue;
      }
      expect(']', "',' or ']' in an array");
      return Json(std::move(elements));
    }
  }

  double parse_number()
  {
    // Check the JSON grammar first (from_chars alone would accept "01", "1." or "inf").
    const std::size_t start = m_at;
    if (peek() == '-') {
      ++m_at;
    }
    if (peek() == '0') {
      ++m_at;
    } else if (peek() >= '1' && peek() <= '9') {
      digits();
    } else {
      fail("invalid number");
    }
    if (peek() == '.') {
      ++m_at;
      if (!(peek() >= '0' && peek() <= '9')) {
        fail("invalid number (a digit must follow '.')");
      }
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      ++m_at;
      if (peek() == '+' || peek() == '-') {
        ++m_at;
      }
      if (!(peek() >= '0' && peek() <= '9')) {
        fail("invalid number (a digit must follow the exponent)");
      }
      digits();
    }
    double value = 0;
    const char* first = m_text.data() + start;
    const char* last = m_text.data() + m_at;
    const auto [end, error] = std::from_chars(first, last, value);
    if (error == std::errc::result_out_of_range) {
      m_at = start;
      fail("number out of range");
    }
    if (error != std::errc() || end != last) {
      m_at = start;
      fail("invalid number");
    }
    return value;
  }

  void digits() noexcept
  {
    while (peek() >= '0' && peek() <= '9' && !at_end()) {
      ++m_at;
    }
  }

  unsigned hex4()
  {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = peek();
      unsigned digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("invalid \\u escape (expected 4 hex digits)");
      }
      value = value * 16 + digit;
      ++m_at;
    }
    return value;
  }

  static void append_utf8(std::string& out, std::uint32_t code)
  {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  std::string parse_string()
  {
    ++m_at; // "
    std::string out;
    for (;;) {
      if (at_end()) {
        fail("unterminated string");
      }
      const char c = m_text[m_at];
      if (c == '"') {
        ++m_at;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        fail("control character in a string (it must be escaped)");
      }
      if (c != '\\') {
        out += c;
        ++m_at;
        continue;
      }
      ++m_at;
      if (at_end()) {
        fail("unterminated string");
      }
      const char e = m_text[m_at++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t code = hex4();
        if (code >= 0xdc00 && code <= 0xdfff) {
          fail("invalid \\u escape (a lone low surrogate)");
        }
        if (code >= 0xd800 && code <= 0xdbff) {
          if (m_text.substr(m_at, 2) != "\\u") {
            fail("invalid \\u escape (a high surrogate without its low half)");
          }
          m_at += 2;
          const std::uint32_t low = hex4();
          if (low < 0xdc00 || low > 0xdfff) {
            fail("invalid \\u escape (a high surrogate without its low half)");
          }
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out, code);
        break;
      }
      default:
        --m_at;
        fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  std::string_view m_text;
  std::size_t m_at = 0;
};

void write_string(std::string& out, std::string_view text)
{
  out += '"';
  for (const char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') {
        static constexpr char k_hex[] = "0123456789abcdef";
        out += "\\u00";
        out += k_hex[(static_cast<unsigned char>(c) >> 4) & 0xf];
        out += k_hex[static_cast<unsigned char>(c) & 0xf];
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

void write_number(std::string& out, double value)
{
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  std::array<char, 32> buffer{};
  const auto [end, error] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::general, 10);
  if (error != std::errc()) {
    out += "null"; // cannot happen with 32 bytes for 10 digits
    return;
  }
  out.append(buffer.data(), end);
}

void write(std::string& out, const Json& value, int depth, int break_depth)
{
  const bool breaks = depth < break_depth;
  const std::string indent(static_cast<std::size_t>(2 * (depth + 1)), ' ');
  const std::string closing_indent(static_cast<std::size_t>(2 * depth), ' ');
  if (value.is_null()) {
    out += "null";
  } else if (value.is_bool()) {
    out += value.as_bool() ? "true" : "false";
  } else if (value.is_number()) {
    write_number(out, value.as_number());
  } else if (value.is_string()) {
    write_string(out, value.as_string());
  } else if (value.is_array()) {
    const Json::Array& elements = value.as_array();
    out += '[';
    for (std::size_t i = 0; i < elements.size(); ++i) {
      out += i == 0 ? "" : ",";
      out += breaks ? "\n" + indent : (i == 0 ? "" : " ");
      write(out, elements[i], depth + 1, break_depth);
    }
    out += breaks && !elements.empty() ? "\n" + closing_indent + "]" : "]";
  } else {
    const Json::Object& members = value.as_object();
    out += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      out += i == 0 ? "" : ",";
      out += breaks ? "\n" + indent : (i == 0 ? "" : " ");
      write_string(out, members[i].first);
      out += ": ";
      write(out, members[i].second, depth + 1, break_depth);
    }
    out += breaks && !members.empty() ? "\n" + closing_indent + "}" : "}";
  }
}

} // namespace

const Json* Json::find(std::string_view key) const noexcept
{
  const auto* members = std::get_if<Object>(&m_value);
  if (members == nullptr) {
    return nullptr;
  }
  for (const auto& [name, value] : *members) {
    if (name == key) {
      return &value;
    }
  }
  return nullptr;
}

void Json::set(std::string_view key, Json value)
{
  Object& members = std::get<Object>(m_value);
  for (auto& [name, existing] : members) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  members.emplace_back(std::string(key), std::move(value));
}

JsonError::JsonError(std::size_t line, std::size_t column, const std::string& reason)
    : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         reason),
      m_line(line), m_column(column)
{
}

Json parse_json(std::string_view text)
{
  return Parser(text).document();
}

std::string to_json(const Json& value, int break_depth)
{
  std::string out;
  write(out, value, 0, break_depth);
  return out;
}

} // namespace smem::bench
