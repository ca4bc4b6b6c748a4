// libFuzzer target: the streaming masker against the naive reference (naive_masker.hpp).
//
// The input is decoded into an alphabet (small ones make secrets overlap, nest and share
// prefixes), a few secrets, a text mixing free bytes with whole or partial patterns, and a chunking
// with occasional flushes and long pieces (the scanner's widest loop needs 128 bytes). The output,
// built the way the supervisor writes it (passed bytes taken from the input itself), must equal
// the reference applied to each stretch between flushes (a flush ends a stream); every feed must
// account for each input byte once (passed or dropped); and after every feed the bytes held back
// must be fewer than the longest pattern and, when any, begin a pattern. Build and run with
// fuzz/run.
#include "fuzz/naive_masker.hpp"
#include "mask/masker.hpp"
#include "mask/patterns.hpp"
#include "mask/table.hpp"

#include <smem/smem.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

namespace {

using Bytes = std::vector<std::byte>;

constexpr std::string_view k_alphabets[] = {
    "ab", "ab\n", "abc\r\n", "aA+/=%\"\\\n\x01 ", "abcdefghijklmnopqrstuvwxyz0123456789+/=",
};

[[noreturn]] void fail(const char* what, std::size_t detail)
{
  // Sizes only: the data is made up, but the habit is not to print secret material.
  std::fprintf(stderr, "mask_fuzz: %s (%zu)\n", what, detail);
  std::abort();
}

std::byte pick(FuzzedDataProvider& in, int alphabet)
{
  const auto raw = in.ConsumeIntegral<std::uint8_t>();
  if (alphabet < 0) {
    return static_cast<std::byte>(raw);
  }
  const std::string_view a = k_alphabets[alphabet];
  return static_cast<std::byte>(a[raw % a.size()]);
}

// Guard::none: the masker's logic is under test, not the guard, and two mprotect calls per
// access would halve the executions per second.
const smem::SecretFactory& factory()
{
  static const smem::SecretFactory f(smem::Options{.guard = smem::Guard::none});
  return f;
}

// Builds the output from the spans of the input the masker passes, like the supervisor does.
class CheckingSink final : public smem::mask::Sink {
public:
  explicit CheckingSink(Bytes& out) : m_out(out) {}
  void start(std::span<const std::byte> in)
  {
    m_in = in;
    m_at = 0;
  }
  void pass(std::size_t n) override
  {
    take(n);
    m_out.insert(m_out.end(), m_in.begin() + static_cast<std::ptrdiff_t>(m_at - n),
                 m_in.begin() + static_cast<std::ptrdiff_t>(m_at));
  }
  void drop(std::size_t n) override { take(n); }
  void put(std::span<const std::byte> bytes) override
  {
    m_out.insert(m_out.end(), bytes.begin(), bytes.end());
  }
  void finish() const
  {
    if (m_at != m_in.size()) {
      fail("a feed left input bytes unaccounted for", m_in.size() - m_at);
    }
  }

private:
  void take(std::size_t n)
  {
    if (n == 0 || n > m_in.size() - m_at) {
      fail("a pass or drop beyond the input (or empty)", n);
    }
    m_at += n;
  }

  Bytes& m_out;
  std::span<const std::byte> m_in;
  std::size_t m_at = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  FuzzedDataProvider in(data, size);
  const int alphabet = in.ConsumeIntegralInRange<int>(-1, std::size(k_alphabets) - 1);

  // Secrets: 1 to 4, of 0 to 24 bytes (some too short to be masked) or, now and then, up to 160
  // (the sampling step is capped at 64).
  std::vector<smem::Secret> secrets;
  std::vector<Bytes> patterns;
  const int count = in.ConsumeIntegralInRange(1, 4);
  const std::size_t longest_secret = in.ConsumeIntegralInRange(0, 7) == 0 ? 160 : 24;
  for (int i = 0; i < count; ++i) {
    Bytes value(in.ConsumeIntegralInRange<std::size_t>(0, longest_secret));
    for (std::byte& b : value) {
      b = pick(in, alphabet);
    }
    for (Bytes& p : smem::mask::patterns_of(value)) {
      patterns.push_back(std::move(p));
    }
    secrets.push_back(factory().create(value)); // wipes `value`
  }
  std::vector<const smem::Secret*> pointers;
  for (const smem::Secret& s : secrets) {
    pointers.push_back(&s);
  }
  const auto table = smem::mask::MaskTable::build(factory(), pointers);
  if (table->pattern_count() > patterns.size()) {
    fail("more patterns in the table than the secrets have", table->pattern_count());
  }

  // Text: free bytes and (partial) patterns, up to 2 KiB.
  Bytes text;
  while (text.size() < 2048 && in.remaining_bytes() > 0) {
    const auto op = in.ConsumeIntegral<std::uint8_t>();
    if (op < 96 && !patterns.empty()) {
      const Bytes& p = patterns[op % patterns.size()];
      const std::size_t take = op % 3 == 0 ? in.ConsumeIntegralInRange<std::size_t>(1, p.size()) : p.size();
      text.insert(text.end(), p.begin(), p.begin() + static_cast<std::ptrdiff_t>(take));
    } else {
      const std::size_t n = 1 + op % 4;
      for (std::size_t i = 0; i < n; ++i) {
        text.push_back(pick(in, alphabet));
      }
    }
  }

  // Chunking: pieces of 0 to 64 bytes, now and then a long one or a flush, from the bytes left
  // (cycled).
  smem::mask::Masker masker(table);
  Bytes out;
  CheckingSink sink(out);
  Bytes expected;
  std::size_t segment = 0; // start of the current stream in `text`
  std::size_t at = 0;
  std::size_t step = 0;
  const auto flush = [&] {
    sink.start({});
    masker.flush(sink);
    const auto reference =
        smem::mask::reference::naive_mask(patterns, std::span(text).subspan(segment, at - segment));
    expected.insert(expected.end(), reference.begin(), reference.end());
    segment = at;
  };
  const auto shape = in.ConsumeRemainingBytes<std::uint8_t>();
  while (at < text.size()) {
    // A shape of only flushes or empty pieces would never end: after enough steps, feed the rest.
    const bool give_up = step > 4 * text.size() + 64;
    const std::uint8_t c = shape.empty() || give_up ? 17 : shape[step % shape.size()];
    ++step;
    if (c == 0xff && at > segment) {
      flush();
      continue;
    }
    // 0xf0 to 0xfe: a long piece, 128 bytes and more; otherwise 0 to 64 bytes.
    const std::size_t want = c >= 0xf0 ? 128 + (c - 0xf0) * 97U : c % 65U;
    const std::size_t n = give_up ? text.size() - at : std::min(want, text.size() - at);
    const auto piece = std::span(text).subspan(at, n);
    sink.start(piece);
    masker.feed(piece, sink);
    sink.finish();
    at += n;
    if (masker.held() > 0) {
      if (masker.held() >= table->longest()) {
        fail("held back as much as the longest pattern", masker.held());
      }
      if (masker.held() > at - segment) {
        fail("held back more than was fed", masker.held());
      }
      if (!smem::mask::reference::begins_a_pattern(
              patterns, std::span(text).subspan(at - masker.held(), masker.held()))) {
        fail("held back bytes that cannot begin a pattern", masker.held());
      }
    }
  }
  flush();
  if (out != expected) {
    fail("output differs from the reference at a length of", out.size());
  }
  return 0;
}
