// Unit tests of src/mask/patterns.hpp: which patterns a secret yields, and each encoded form
// checked against known values or against an independent encoder.
#include "mask/mask_test_util.hpp"

#include "mask/patterns.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace smem::mask;
using smem::mask::test::base64;
using smem::mask::test::bytes_of;
using smem::mask::test::text_of;

namespace {

constexpr Form k_all_forms[] = {
    Form::raw,         Form::base64,    Form::base64_unpadded, Form::base64_at_0,   Form::base64_at_1,
    Form::base64_at_2, Form::url_upper, Form::url_lower,       Form::url_component, Form::url_path,
    Form::url_form,    Form::json,      Form::json_slash,      Form::json_html};

// `form`'s encoding of `secret`.
std::string form_of(std::string_view secret, Form form)
{
  const std::vector<std::byte> bytes = bytes_of(secret);
  std::vector<std::byte> out(encoded_size(form, bytes));
  encode(form, bytes, out);
  return text_of(out);
}

std::vector<std::string> lines_of(std::string_view secret)
{
  std::vector<std::string> lines;
  const std::vector<std::byte> bytes = bytes_of(secret);
  for (const PatternSpec& spec : describe_patterns(bytes, SIZE_MAX)) {
    if (spec.form == Form::line) {
      std::vector<std::byte> out(spec.length);
      write_pattern(spec, bytes, out);
      lines.push_back(text_of(out));
    }
  }
  return lines;
}

std::string random_bytes(std::mt19937& rng, std::size_t n)
{
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng());
  }
  return s;
}

} // namespace

TEST_SUITE("mask/patterns")
{
  TEST_CASE("secrets shorter than 4 bytes yield no pattern and those of 4 and 5 bytes only themselves")
  {
    CHECK(describe_patterns(bytes_of(""), SIZE_MAX).empty());
    CHECK(describe_patterns(bytes_of("abc"), SIZE_MAX).empty());
    for (const std::string_view s : {"abcd", "ab\"d/", "a b+c"}) {
      const auto specs = describe_patterns(bytes_of(s), SIZE_MAX);
      REQUIRE(specs.size() == 1);
      CHECK(specs[0].form == Form::raw);
      CHECK(patterns_of(bytes_of(s)) == std::vector<std::vector<std::byte>>{bytes_of(s)});
    }
  }

  TEST_CASE("from 6 bytes on every encoded form is described unless it equals an earlier one")
  {
    // Each form differs from all others for this secret: 8 bytes (padding), '/' (hex letters,
    // path, JSON slash), ' ' and '*' (form, component), '"' (JSON), '<' (Go's JSON).
    CHECK(describe_patterns(bytes_of("a/b c*\"<"), SIZE_MAX).size() == 14);
    // Letters and digits: raw is every URL and JSON form; 6 bytes: base64 needs no padding.
    const auto specs = describe_patterns(bytes_of("abcdef"), SIZE_MAX);
    REQUIRE(specs.size() == 4);
    CHECK(specs[0].form == Form::raw);
    CHECK(specs[1].form == Form::base64);
    CHECK(specs[2].form == Form::base64_at_1);
    CHECK(specs[3].form == Form::base64_at_2);
  }

  TEST_CASE("a form left out always equals one described")
  {
    std::mt19937 rng(5);
    const std::string_view alphabets[] = {"abc", "ab/+=", "a b*~!'()", "a\"\\<>&\n\x01", "a%/\x7f\xff\xc3"};
    for (int trial = 0; trial < 2000; ++trial) {
      const std::string_view alphabet = alphabets[trial % std::size(alphabets)];
      std::string secret(6 + rng() % 10, ' ');
      for (char& c : secret) {
        c = alphabet[rng() % alphabet.size()];
      }
      const std::vector<std::byte> bytes = bytes_of(secret);
      std::vector<std::string> described;
      std::vector<Form> forms;
      for (const PatternSpec& spec : describe_patterns(bytes, SIZE_MAX)) {
        if (spec.form != Form::line) {
          described.push_back(form_of(secret, spec.form));
          forms.push_back(spec.form);
          CHECK(spec.length == described.back().size());
        }
      }
      for (const Form form : k_all_forms) {
        if (std::find(forms.begin(), forms.end(), form) == forms.end()) {
          CHECK(std::find(described.begin(), described.end(), form_of(secret, form)) != described.end());
        }
      }
    }
  }

  TEST_CASE("a secret longer than the encode limit keeps only its bytes and lines")
  {
    const auto specs = describe_patterns(bytes_of("line one\nline two"), 8);
    REQUIRE(specs.size() == 3);
    CHECK(specs[0].form == Form::raw);
    CHECK(specs[1].form == Form::line);
    CHECK(specs[2].form == Form::line);
  }

  TEST_CASE("duplicates are dropped: an alphanumeric secret is its own URL and JSON form")
  {
    const auto patterns = patterns_of(bytes_of("abc123XYZ"));
    // raw (= URL and JSON forms), base64 padded, base64 at alignments 1 and 2 (the unpadded
    // form and alignment 0 equal the padded one for 9 = 3 * 3 bytes).
    CHECK(patterns.size() == 4);
  }

  TEST_CASE("standard base64 with and without padding (RFC 4648 test vectors)")
  {
    CHECK(form_of("foobar", Form::base64) == "Zm9vYmFy");
    CHECK(form_of("foobar", Form::base64_unpadded) == "Zm9vYmFy");
    CHECK(form_of("foobarx", Form::base64) == "Zm9vYmFyeA==");
    CHECK(form_of("foobarx", Form::base64_unpadded) == "Zm9vYmFyeA");
    CHECK(form_of("foobarxy", Form::base64) == "Zm9vYmFyeHk=");
    CHECK(form_of("foobarxy", Form::base64_unpadded) == "Zm9vYmFyeHk");
    CHECK(form_of(std::string("\0\xff\xfe\x01\x02\x03", 6), Form::base64) ==
          base64(std::string("\0\xff\xfe\x01\x02\x03", 6)));
  }

  TEST_CASE("base64 inside a longer string: the pattern of alignment r occurs in base64(x + secret + y) "
            "whenever |x| = r mod 3")
  {
    std::mt19937 rng(7);
    const Form forms[] = {Form::base64_at_0, Form::base64_at_1, Form::base64_at_2};
    for (std::size_t n = 6; n <= 40; ++n) {
      const std::string secret = random_bytes(rng, n);
      for (std::size_t r = 0; r < 3; ++r) {
        const std::string pattern = form_of(secret, forms[r]);
        // Every character whose 6 bits lie inside the secret's bits, none other.
        const std::size_t first = (8 * r + 5) / 6;
        const std::size_t last = (8 * (r + n)) / 6; // one past
        CHECK(pattern.size() == last - first);
        for (int trial = 0; trial < 8; ++trial) {
          const std::string x = random_bytes(rng, r + 3 * (rng() % 3));
          const std::string y = random_bytes(rng, rng() % 5);
          const std::string encoded = base64(x + secret + y);
          CHECK(encoded.find(pattern) != std::string::npos);
        }
      }
    }
  }

  TEST_CASE("alignment 0 is a prefix of the standalone form")
  {
    CHECK(form_of("foobarx", Form::base64_at_0) ==
          "Zm9vYmFye"); // "Zm9vYmFyeA==" alone: A mixes in what follows
  }

  TEST_CASE("URL encodings")
  {
    const std::string_view s = "a b/c+d~e!f*(g)'h=é";
    CHECK(form_of(s, Form::url_upper) == "a%20b%2Fc%2Bd~e%21f%2A%28g%29%27h%3D%C3%A9");
    CHECK(form_of(s, Form::url_lower) == "a%20b%2fc%2bd~e%21f%2a%28g%29%27h%3d%c3%a9");
    CHECK(form_of(s, Form::url_component) == "a%20b%2Fc%2Bd~e!f*(g)'h%3D%C3%A9");
    CHECK(form_of(s, Form::url_path) == "a%20b/c%2Bd~e%21f%2A%28g%29%27h%3D%C3%A9");
    CHECK(form_of(s, Form::url_form) == "a+b%2Fc%2Bd%7Ee%21f*%28g%29%27h%3D%C3%A9");
    CHECK(form_of(std::string("ab\0cd-_.", 8), Form::url_upper) == "ab%00cd-_.");
  }

  TEST_CASE("JSON string escapes")
  {
    const std::string s("q\"b\\s\b\f\n\r\t\x01\x1f\x7f/<>&é", 19);
    CHECK(form_of(s, Form::json) == "q\\\"b\\\\s\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/<>&é");
    CHECK(form_of(s, Form::json_slash) == "q\\\"b\\\\s\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\\/<>&é");
    CHECK(form_of(s, Form::json_html) ==
          "q\\\"b\\\\s\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/\\u003c\\u003e\\u0026é");
    CHECK(form_of(std::string("ab\0cdef", 7), Form::json) == "ab\\u0000cdef");
  }

  TEST_CASE("a multi-line text secret yields each line of 4 bytes or more without its trailing CR")
  {
    CHECK(lines_of("first line\r\nsecond\nab\n\nlast") ==
          std::vector<std::string>{"first line", "second", "last"});
    CHECK(lines_of("password\n") == std::vector<std::string>{"password"});
    CHECK(lines_of("no newline here").empty());
  }

  TEST_CASE("a binary secret is not split into lines")
  {
    CHECK(lines_of(std::string("\x01\x02\x03\x04\x05\n\x06\x07\x08\x09\x0a", 11)).empty());
    CHECK(lines_of(std::string("abcd\0efg\nhijk", 13)).empty());
  }

  TEST_CASE("every described length is the length written")
  {
    std::mt19937 rng(11);
    for (int trial = 0; trial < 200; ++trial) {
      std::string secret = random_bytes(rng, 4 + rng() % 60);
      if (trial % 2 == 0) {
        for (char& c : secret) { // mostly printable with newlines: exercises lines and escapes
          c = static_cast<char>(rng() % 8 == 0 ? '\n' : 0x20 + rng() % 95);
        }
      }
      const std::vector<std::byte> bytes = bytes_of(secret);
      for (const PatternSpec& spec : describe_patterns(bytes, SIZE_MAX)) {
        std::vector<std::byte> out(spec.length + 16, std::byte{0xa5});
        write_pattern(spec, bytes, std::span(out).first(spec.length)); // throws on a mismatch
        CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(spec.length), out.end(),
                          [](std::byte b) { return b == std::byte{0xa5}; }));
        CHECK(spec.length >= k_min_masked);
      }
    }
  }
}
