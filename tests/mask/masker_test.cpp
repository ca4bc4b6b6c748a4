// Unit tests of src/mask/masker.hpp: what users see in the output of `smem run --mask` (SPEC 1.1):
// every occurrence replaced, whatever the reads, nothing held back that cannot be a secret.
#include "mask/mask_test_util.hpp"

#include "mask/masker.hpp"

#include <doctest/doctest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace smem::mask;
using namespace smem::mask::test;

namespace {

// Every split of `text` into two and into three pieces, and every piece size, gives `expected`.
void check_every_chunking(const std::shared_ptr<MaskTable>& table, const std::string& text,
                          const std::string& expected)
{
  for (std::size_t i = 0; i <= text.size(); ++i) {
    CAPTURE(i);
    check_masked(mask_chunked(table, text, {i}), expected);
    for (std::size_t j = i; j <= text.size(); ++j) {
      CAPTURE(j);
      check_masked(mask_chunked(table, text, {i, j - i}), expected);
    }
  }
  for (std::size_t size = 1; size <= text.size(); ++size) {
    CAPTURE(size);
    check_masked(mask_chunked(table, text, std::vector<std::size_t>(text.size() / size + 1, size)), expected);
  }
}

// Builds the output the way the supervisor writes it: passed bytes taken from the input itself.
class RecordingSink final : public Sink {
public:
  explicit RecordingSink(std::string& out) : m_out(out) {}
  void start(std::span<const std::byte> in)
  {
    m_in = in;
    m_at = 0;
  }
  void pass(std::size_t n) override
  {
    REQUIRE(m_at + n <= m_in.size());
    m_out += text_of(m_in.subspan(m_at, n));
    m_at += n;
  }
  void drop(std::size_t n) override
  {
    REQUIRE(m_at + n <= m_in.size());
    m_at += n;
  }
  void put(std::span<const std::byte> bytes) override { m_out += text_of(bytes); }
  // How much of the input the masker has accounted for.
  [[nodiscard]] std::size_t consumed() const noexcept { return m_at; }

private:
  std::string& m_out;
  std::span<const std::byte> m_in;
  std::size_t m_at = 0;
};

} // namespace

TEST_SUITE("mask/masker")
{
  TEST_CASE("every occurrence becomes ***")
  {
    const Secrets s{"hunter22"};
    check_masked(mask_whole(s.table(), "pw=hunter22, again hunter22."), "pw=***, again ***.");
    check_masked(mask_whole(s.table(), "hunter22hunter22"), "******");
    check_masked(mask_whole(s.table(), "hunter2 hunter222"), "hunter2 ***2");
    check_masked(mask_whole(s.table(), ""), "");
  }

  TEST_CASE("a secret spanning reads is masked at every split")
  {
    const Secrets s{"correct horse battery"};
    check_every_chunking(s.table(), "say: correct horse battery staple", "say: *** staple");
  }

  TEST_CASE("a 1-byte-at-a-time feed equals the one-shot result")
  {
    const Secrets s{"s3cr3t-token", "another-one", "abcd"};
    const std::string text = "s3cr3t-tokenanother-one s3cr3t-toke abcabcd another-on s3cr3t-token";
    const std::string expected = "****** s3cr3t-toke abc*** another-on ***";
    check_masked(mask_whole(s.table(), text), expected);
    check_masked(mask_bytewise(s.table(), text), expected);
  }

  TEST_CASE("overlapping secrets: the leftmost occurrence wins")
  {
    const Secrets s{"abcdef12", "ef12gh34"};
    check_every_chunking(s.table(), "xxabcdef12gh34yy", "xx***gh34yy");
    check_every_chunking(s.table(), "xxabcdef1ef12gh34yy", "xxabcdef1***yy");
  }

  TEST_CASE("one secret a prefix of another: the longest wins")
  {
    const Secrets s{"password", "password123"};
    check_every_chunking(s.table(), "a password123 b", "a *** b");
    check_every_chunking(s.table(), "a password12 b", "a ***12 b");
    check_every_chunking(s.table(), "password1234", "***4");
    // At the end of the stream the shorter one is all there is.
    check_masked(mask_whole(s.table(), "end: password12"), "end: ***12");
  }

  TEST_CASE("a multi-line secret is masked whole and each of its lines alone")
  {
    const std::string key =
        "-----BEGIN KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\n-----END KEY-----\r\n";
    const Secrets s{key};
    check_masked(mask_whole(s.table(), "key:\n" + key + "done\n"), "key:\n***done\n");
    check_masked(mask_whole(s.table(), "line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"), "line: ***\n");
    check_masked(mask_whole(s.table(), "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"),
                 "***\n***\n");
  }

  TEST_CASE("NUL bytes in secrets and text")
  {
    const Secrets s{std::string("ab\0\0cd\0e", 8)};
    check_every_chunking(s.table(), std::string("\0\0ab\0\0cd\0e\0ab\0\0cd", 17),
                         std::string("\0\0***\0ab\0\0cd", 12));
  }

  TEST_CASE("encoded forms: base64 standalone and inside a longer base64 string")
  {
    const std::string secret = "Sup3r$ecret!Value";
    const Secrets s{secret};
    check_masked(mask_whole(s.table(), "b64=" + base64(secret) + ";"), "b64=***;");
    const std::string unpadded = base64(secret).substr(0, base64(secret).find('='));
    check_masked(mask_whole(s.table(), "jwt." + unpadded + ".sig"), "jwt.***.sig");
    for (const std::string prefix : {"", "{", "{\"", "{\"k", "{\"ke", "{\"key"}) {
      CAPTURE(prefix.size());
      const std::string encoded = base64(prefix + secret + "\"}");
      const std::string masked = mask_whole(s.table(), encoded);
      // The secret's characters are gone: only the few that mix it with its neighbours remain.
      CHECK(masked.find("***") != std::string::npos);
      CHECK(masked.size() <= encoded.size() - base64(secret).size() + 3 + 8);
    }
  }

  TEST_CASE("encoded forms: URL and JSON")
  {
    const Secrets s{"p@ss/w0rd+\"x\"\n"};
    check_masked(mask_whole(s.table(), "url=https://h/?pw=p%40ss%2Fw0rd%2B%22x%22%0A&x=1"),
                 "url=https://h/?pw=***&x=1");
    check_masked(mask_whole(s.table(), "url=p%40ss%2fw0rd%2b%22x%22%0a"), "url=***");
    check_masked(mask_whole(s.table(), "{\"pw\":\"p@ss/w0rd+\\\"x\\\"\\n\"}"), "{\"pw\":\"***\"}");
    check_masked(mask_whole(s.table(), "{\"pw\":\"p@ss\\/w0rd+\\\"x\\\"\\n\"}"), "{\"pw\":\"***\"}");
  }

  TEST_CASE("secrets under 4 bytes are not masked and encoded forms start at 6 bytes")
  {
    const Secrets s{"abc", "wxyz", "12345"};
    check_masked(mask_whole(s.table(), "abc wxyz 12345 " + base64("12345")),
                 "abc *** *** " + base64("12345"));
    CHECK(s.table()->skipped() == std::vector<std::size_t>{0});
  }

  TEST_CASE("an empty table passes everything through and holds nothing")
  {
    const Secrets s{"abc"};
    std::vector<std::byte> out;
    Masker masker(s.table());
    masker.feed(bytes_of("abc and more"), out);
    CHECK(masker.held() == 0);
    CHECK(text_of(out) == "abc and more");
  }

  TEST_CASE("only bytes that could begin a secret are held back and they are released once they cannot")
  {
    const Secrets s{"hunter22", "zebra-crossing"};
    Masker masker(s.table());
    std::vector<std::byte> out;
    masker.feed(bytes_of("Password: "), out);
    CHECK(masker.held() == 0); // a prompt reaches the user at once
    CHECK(text_of(out) == "Password: ");
    masker.feed(bytes_of("hunt"), out);
    CHECK(masker.held() == 4);
    masker.feed(bytes_of("ed"), out);
    CHECK(masker.held() == 0);
    CHECK(text_of(out) == "Password: hunted");
    masker.feed(bytes_of("xx zebra-cr"), out);
    CHECK(masker.held() == 8);
    masker.feed(bytes_of("ossing!"), out);
    CHECK(masker.held() == 0);
    CHECK(text_of(out) == "Password: huntedxx ***!");
  }

  TEST_CASE("flush releases what is held and the next feed starts a new stream")
  {
    const Secrets s{"hunter22"};
    Masker masker(s.table());
    std::vector<std::byte> out;
    masker.feed(bytes_of("> hunte"), out);
    CHECK(text_of(out) == "> ");
    masker.flush(out);
    CHECK(masker.held() == 0);
    CHECK(text_of(out) == "> hunte");
    masker.feed(bytes_of("r22 hunter22"), out);
    masker.flush(out);
    CHECK(text_of(out) == "> hunter22 ***");
  }

  TEST_CASE("the hold-back never reaches the longest pattern")
  {
    const Secrets s{"aaaaaaab", "aaaab"};
    Masker masker(s.table());
    std::vector<std::byte> out;
    for (int i = 0; i < 100; ++i) {
      masker.feed(bytes_of("a"), out);
      CHECK(masker.held() <= s.table()->longest() - 1);
    }
    masker.feed(bytes_of("b"), out);
    masker.flush(out);
    check_masked(text_of(out), std::string(93, 'a') + "***");
  }

  TEST_CASE("a moved masker keeps its held bytes and the moved-from one refuses to pass bytes through")
  {
    const Secrets s{"moved-secret"};
    Masker first(s.table());
    std::vector<std::byte> out;
    first.feed(bytes_of("a moved-se"), out);
    Masker second(std::move(first));
    CHECK(second.held() == 8);
    second.feed(bytes_of("cret b"), out);
    second.flush(out);
    CHECK(text_of(out) == "a *** b");
    CHECK_THROWS_AS(first.feed(bytes_of("moved-secret"), out),
                    std::logic_error); // NOLINT(bugprone-use-after-move)
  }

  TEST_CASE("two maskers share one table and keep their own state")
  {
    const Secrets s{"shared-secret"};
    Masker out_masker(s.table());
    Masker err_masker(s.table());
    std::vector<std::byte> out;
    std::vector<std::byte> err;
    out_masker.feed(bytes_of("1 shared-"), out);
    err_masker.feed(bytes_of("2 shared-sec"), err);
    out_masker.feed(bytes_of("secret"), out);
    err_masker.feed(bytes_of("ret"), err);
    out_masker.flush(out);
    err_masker.flush(err);
    CHECK(text_of(out) == "1 ***");
    CHECK(text_of(err) == "2 ***");
  }

  TEST_CASE("the output of random chunkings equals the naive reference on the whole text")
  {
    std::mt19937 rng(2024);
    for (int trial = 0; trial < 300; ++trial) {
      // Secrets over a small alphabet, so they overlap, nest and share prefixes.
      std::vector<std::string> values;
      const std::size_t count = 1 + rng() % 4;
      for (std::size_t i = 0; i < count; ++i) {
        std::string v(2 + rng() % 10, 'a');
        for (char& c : v) {
          c = "ab\n/+"[rng() % (trial % 2 == 0 ? 2 : 5)];
        }
        values.push_back(v);
      }
      const Secrets s(values);
      std::string text;
      while (text.size() < 200) {
        if (rng() % 3 == 0) {
          const auto patterns = s.patterns();
          if (!patterns.empty()) {
            const auto& p = patterns[rng() % patterns.size()];
            text += text_of(p).substr(0, 1 + rng() % p.size());
            continue;
          }
        }
        text += "ab\n/+x"[rng() % 6];
      }
      std::vector<std::size_t> sizes;
      for (std::size_t at = 0; at < text.size();) {
        sizes.push_back(rng() % 4 == 0 ? 1 : rng() % 40);
        at += sizes.back();
      }
      CAPTURE(trial);
      check_masked(mask_chunked(s.table(), text, sizes), reference_mask(s, text));
    }
  }

  TEST_CASE("long secrets: the sampling step is capped and every match is still found")
  {
    std::mt19937 rng(31);
    std::vector<std::string> values;
    for (int i = 0; i < 3; ++i) {
      std::string v(150 + rng() % 200, 'a');
      for (char& c : v) {
        c = "abcdefgh/+\""[rng() % 11];
      }
      values.push_back(v);
    }
    const Secrets s(values);
    const auto patterns = s.patterns();
    for (int trial = 0; trial < 30; ++trial) {
      std::string text;
      while (text.size() < 3000) {
        const std::string p = text_of(patterns[rng() % patterns.size()]);
        text += rng() % 2 == 0 ? p : p.substr(0, rng() % p.size());
        text += "abcdefgh"[rng() % 8];
      }
      std::vector<std::size_t> sizes;
      for (std::size_t at = 0; at < text.size(); at += sizes.back()) {
        sizes.push_back(rng() % 300);
      }
      CAPTURE(trial);
      check_masked(mask_chunked(s.table(), text, sizes), reference_mask(s, text));
    }
  }

  TEST_CASE("held-back bytes always begin a pattern")
  {
    std::mt19937 rng(99);
    const Secrets s{"abab", "abbaab", "bbbbba", "a\nbab\nb"};
    const auto patterns = s.patterns();
    Masker masker(s.table());
    std::vector<std::byte> out;
    std::string fed;
    for (int i = 0; i < 2000; ++i) {
      const std::string piece(1 + rng() % 3, "ab\n"[rng() % 3]);
      fed += piece;
      masker.feed(bytes_of(piece), out);
      const std::string held = fed.substr(fed.size() - masker.held());
      CHECK((held.empty() || reference::begins_a_pattern(patterns, bytes_of(held))));
    }
  }

  TEST_CASE("a sink is told which input bytes pass, and they make the same output")
  {
    std::mt19937 rng(7);
    const Secrets s{"hunter22", "zebra-crossing", "abab"};
    const auto patterns = s.patterns();
    for (int trial = 0; trial < 200; ++trial) {
      std::string text;
      while (text.size() < 600) {
        if (rng() % 4 == 0) {
          const std::string p = text_of(patterns[rng() % patterns.size()]);
          text += p.substr(0, 1 + rng() % p.size());
        } else {
          text += "ab-hunter zebra"[rng() % 15];
        }
      }
      Masker masker(s.table());
      std::string out;
      RecordingSink sink(out);
      const std::vector<std::byte> in = bytes_of(text);
      for (std::size_t at = 0; at < in.size();) {
        const std::size_t n = std::min<std::size_t>(rng() % 3 == 0 ? rng() % 4 : rng() % 300, in.size() - at);
        const auto piece = std::span(in).subspan(at, n);
        sink.start(piece);
        masker.feed(piece, sink);
        CHECK(sink.consumed() == n); // every input byte passed or dropped, none twice
        at += n;
      }
      masker.flush(sink);
      CAPTURE(trial);
      check_masked(out, reference_mask(s, text));
    }
  }

  TEST_CASE("a long feed finds a secret at every offset, whatever the sampling step")
  {
    // Long feeds take the scanner's widest loop (16 samples at a time where the CPU has one) and
    // then its tail; shortest patterns of 4 to 12 bytes give sampling steps 1 to 9.
    std::mt19937 rng(5);
    for (std::size_t length = 4; length <= 12; ++length) {
      std::string secret(length, 'a');
      for (char& c : secret) {
        c = "QWERTYUIOPqwertyuiop0123456789"[rng() % 30];
      }
      const Secrets s{secret};
      std::string filler(700, ' ');
      for (char& c : filler) {
        c = "ASDFGHJKLasdfghjkl.:- "[rng() % 22];
      }
      for (std::size_t at = 0; at + length <= filler.size(); at += 1 + at / 200) {
        std::string text = filler;
        text.replace(at, length, secret);
        CAPTURE(length);
        CAPTURE(at);
        const std::string expected = reference_mask(s, text);
        check_masked(mask_whole(s.table(), text), expected);
        check_masked(mask_chunked(s.table(), text, {at / 2, 300}), expected);
      }
    }
  }
}
