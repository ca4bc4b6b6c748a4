// bench/json.hpp: the writer's escaping and number format, and the strict parser.
#include "bench/json.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

using smem::bench::Json;
using smem::bench::JsonError;
using smem::bench::parse_json;
using smem::bench::to_json;

namespace {

// The error message of parsing `text`, or "" when it parses.
std::string parse_error(const std::string& text)
{
  try {
    (void)parse_json(text);
  } catch (const JsonError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_SUITE("bench/json")
{
  TEST_CASE("writing: strings escaped and numbers compact and objects in insertion order")
  {
    CHECK(to_json(Json("a\"b\\c\n\t\x01\x7f/é"), 0) == R"("a\"b\\c\n\t\u0001\u007f/é")");
    CHECK(to_json(Json(1000), 0) == "1000");
    CHECK(to_json(Json(-1), 0) == "-1");
    CHECK(to_json(Json(0.5), 0) == "0.5");
    CHECK(to_json(Json(1234.567891234), 0) == "1234.567891");
    CHECK(to_json(Json(std::nan("")), 0) == "null");
    CHECK(to_json(Json(std::numeric_limits<double>::infinity()), 0) == "null");
    CHECK(to_json(Json(true), 0) == "true");
    CHECK(to_json(Json(), 0) == "null");
    const Json object = Json::Object{{"z", 1}, {"a", Json::Array{1, "x", nullptr}}, {"m", Json::Object{}}};
    CHECK(to_json(object, 0) == R"({"z": 1, "a": [1, "x", null], "m": {}})");
    CHECK(to_json(object, 1) == "{\n  \"z\": 1,\n  \"a\": [1, \"x\", null],\n  \"m\": {}\n}");
  }

  TEST_CASE("parsing what the writer writes gives the same value back")
  {
    const Json object = Json::Object{{"name", "a \"quoted\"\nline"},
                                     {"values", Json::Array{0.25, -3, 1e-7, 6.02e23}},
                                     {"flags", Json::Array{true, false, nullptr}},
                                     {"nested", Json::Object{{"k", Json::Object{{"deep", "yes"}}}}}};
    for (int depth : {0, 1, 2, 5}) {
      const Json back = parse_json(to_json(object, depth));
      CHECK(to_json(back, 0) == to_json(object, 0));
    }
    CHECK(parse_json(R"("\u00e9\ud83d\ude00\/")").as_string() == "é\xF0\x9F\x98\x80/");
    CHECK(parse_json(" \t\r\n[ ]\n").as_array().empty());
    CHECK(parse_json("-0.5e+2").as_number() == -50);
    const Json parsed = parse_json(R"({"a": 1, "b": [2]})");
    REQUIRE(parsed.find("b") != nullptr);
    CHECK(parsed.find("b")->as_array().size() == 1);
    CHECK(parsed.find("c") == nullptr);
  }

  TEST_CASE("malformed input is rejected with its line and column")
  {
    CHECK(parse_error("") == "line 1, column 1: unexpected end of input (expected a value)");
    CHECK(parse_error("{\"a\": 1,}") == "line 1, column 9: expected a string key");
    CHECK(parse_error("[1, 2,]").find("column 7") != std::string::npos);
    CHECK(parse_error("{\n  \"a\" 1\n}") == "line 2, column 7: expected ':' after a key");
    CHECK(parse_error("[1] x") == "line 1, column 5: unexpected data after the JSON value");
    CHECK(parse_error("\"abc") == "line 1, column 5: unterminated string");
    CHECK(parse_error("\"a\nb\"").find("control character") != std::string::npos);
    CHECK(parse_error(R"("\x")").find("invalid escape") != std::string::npos);
    CHECK(parse_error(R"("\ud800")").find("surrogate") != std::string::npos);
    CHECK(parse_error(R"("\udc00")").find("surrogate") != std::string::npos);
    CHECK(parse_error("01").find("unexpected data") != std::string::npos);
    CHECK(parse_error("1.").find("invalid number") != std::string::npos);
    CHECK(parse_error("-").find("invalid number") != std::string::npos);
    CHECK(parse_error("1e").find("invalid number") != std::string::npos);
    CHECK(parse_error("1e999").find("out of range") != std::string::npos);
    CHECK(parse_error("NaN").find("unexpected character") != std::string::npos);
    CHECK(parse_error("tru").find("invalid literal") != std::string::npos);
    CHECK(parse_error("{\"a\": 1 \"b\": 2}").find("',' or '}'") != std::string::npos);
    CHECK(parse_error(std::string(65, '[') + std::string(65, ']')).find("nesting") != std::string::npos);
    CHECK(parse_error(std::string(64, '[') + std::string(64, ']')).empty());
  }
}
