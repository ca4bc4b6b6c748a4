// A small JSON value with a writer and a strict parser: enough for `smem bench --json`, `--save`
// and `--compare` (SPEC 1.2), without a third-party library for one fixed schema.
//
// Numbers are doubles. Objects keep their keys in insertion order (the output reads like the
// SPEC's schema). The parser accepts RFC 8259 JSON (one value, optional whitespace around it;
// string bytes above 0x7f are taken as they are, not checked as UTF-8) and reports the first
// error with its line and column.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace smem::bench {

class Json {
public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default; // null
  Json(std::nullptr_t) {}
  Json(bool value) : m_value(value) {}
  Json(double value) : m_value(value) {}
  Json(int value) : m_value(static_cast<double>(value)) {}
  Json(long value) : m_value(static_cast<double>(value)) {}
  Json(long long value) : m_value(static_cast<double>(value)) {}
  Json(unsigned value) : m_value(static_cast<double>(value)) {}
  Json(unsigned long value) : m_value(static_cast<double>(value)) {}
  Json(unsigned long long value) : m_value(static_cast<double>(value)) {}
  Json(const char* value) : m_value(std::string(value)) {}
  Json(std::string_view value) : m_value(std::string(value)) {}
  Json(std::string value) : m_value(std::move(value)) {}
  Json(Array value) : m_value(std::move(value)) {}
  Json(Object value) : m_value(std::move(value)) {}

  [[nodiscard]] bool is_null() const noexcept { return std::holds_alternative<std::nullptr_t>(m_value); }
  [[nodiscard]] bool is_bool() const noexcept { return std::holds_alternative<bool>(m_value); }
  [[nodiscard]] bool is_number() const noexcept { return std::holds_alternative<double>(m_value); }
  [[nodiscard]] bool is_string() const noexcept { return std::holds_alternative<std::string>(m_value); }
  [[nodiscard]] bool is_array() const noexcept { return std::holds_alternative<Array>(m_value); }
  [[nodiscard]] bool is_object() const noexcept { return std::holds_alternative<Object>(m_value); }

  // The value as that type; std::bad_variant_access when it is another type.
  [[nodiscard]] bool as_bool() const { return std::get<bool>(m_value); }
  [[nodiscard]] double as_number() const { return std::get<double>(m_value); }
  [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(m_value); }
  [[nodiscard]] const Array& as_array() const { return std::get<Array>(m_value); }
  [[nodiscard]] Array& as_array() { return std::get<Array>(m_value); }
  [[nodiscard]] const Object& as_object() const { return std::get<Object>(m_value); }
  [[nodiscard]] Object& as_object() { return std::get<Object>(m_value); }

  // The member `key` of an object, or nullptr (also when this is not an object).
  [[nodiscard]] const Json* find(std::string_view key) const noexcept;
  // Sets the member `key` of an object (appended, or replaced where it already is).
  void set(std::string_view key, Json value);

private:
  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> m_value;
};

// Where and why parsing failed; what() reads "line L, column C: <reason>".
class JsonError : public std::runtime_error {
public:
  JsonError(std::size_t line, std::size_t column, const std::string& reason);
  [[nodiscard]] std::size_t line() const noexcept { return m_line; }
  [[nodiscard]] std::size_t column() const noexcept { return m_column; }

private:
  std::size_t m_line;
  std::size_t m_column;
};

// Parses one JSON text; throws JsonError on anything that is not valid JSON (including trailing
// data, nesting deeper than 64 and numbers beyond a double's range).
Json parse_json(std::string_view text);

// Writes `value` as JSON. Containers nested deeper than `break_depth` are written on one line;
// shallower ones put each element on its own line, indented by two spaces per level. Numbers get
// up to 10 significant digits (a NaN or an infinity is written as null); strings are escaped
// (", \, control characters) and otherwise passed through as UTF-8.
std::string to_json(const Json& value, int break_depth = 2);

} // namespace smem::bench
