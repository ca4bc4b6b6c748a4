// Helpers shared by the masker's tests: secrets from test strings, a table over them, masking a
// text under a given chunking, and the naive reference of fuzz/naive_masker.hpp.
//
// Test secrets are made up, but the habit holds (STYLE.md): failure output shows the expected
// (masked) text and where the actual output departs from it, never the actual output.
#pragma once

#include "fuzz/naive_masker.hpp"
#include "mask/masker.hpp"
#include "mask/patterns.hpp"
#include "mask/table.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smem::mask::test {

inline std::vector<std::byte> bytes_of(std::string_view s)
{
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

inline std::string text_of(std::span<const std::byte> b)
{
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// An independent, bit-by-bit base64 encoder (RFC 4648 with padding).
inline std::string base64(std::string_view in)
{
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bits;
  for (const char c : in) {
    for (int b = 7; b >= 0; --b) {
      bits += ((static_cast<unsigned char>(c) >> b) & 1U) != 0 ? '1' : '0';
    }
  }
  while (bits.size() % 6 != 0) {
    bits += '0';
  }
  std::string out;
  for (std::size_t i = 0; i < bits.size(); i += 6) {
    out += alphabet[std::stoi(bits.substr(i, 6), nullptr, 2)];
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

// Some secrets and the table over them.
class Secrets {
public:
  explicit Secrets(std::initializer_list<std::string_view> values, const TableOptions& options = {})
      : Secrets(std::vector<std::string>(values.begin(), values.end()), options)
  {
  }
  explicit Secrets(const std::vector<std::string>& values, const TableOptions& options = {})
  {
    for (const std::string& v : values) {
      std::vector<std::byte> copy = bytes_of(v);
      m_secrets.push_back(m_factory.create(copy));
      m_values.push_back(v);
    }
    std::vector<const Secret*> pointers;
    for (const Secret& s : m_secrets) {
      pointers.push_back(&s);
    }
    m_table = MaskTable::build(m_factory, pointers, options);
  }

  [[nodiscard]] const std::shared_ptr<MaskTable>& table() const { return m_table; }

  // Every pattern of every secret, in ordinary memory (for the reference).
  [[nodiscard]] std::vector<std::vector<std::byte>> patterns(std::size_t encode_limit = SIZE_MAX) const
  {
    std::vector<std::vector<std::byte>> all;
    for (const std::string& v : m_values) {
      for (auto& p : patterns_of(bytes_of(v), encode_limit)) {
        all.push_back(std::move(p));
      }
    }
    return all;
  }

private:
  SecretFactory m_factory;
  std::vector<Secret> m_secrets;
  std::vector<std::string> m_values;
  std::shared_ptr<MaskTable> m_table;
};

// `text` fed in pieces of the given sizes (the rest in one last piece), then flushed.
inline std::string mask_chunked(const std::shared_ptr<MaskTable>& table, std::string_view text,
                                const std::vector<std::size_t>& sizes)
{
  Masker masker(table);
  std::vector<std::byte> out;
  const std::vector<std::byte> in = bytes_of(text);
  std::size_t at = 0;
  for (const std::size_t n : sizes) {
    const std::size_t take = std::min(n, in.size() - at);
    masker.feed(std::span(in).subspan(at, take), out);
    REQUIRE(masker.held() < std::max<std::size_t>(table->longest(), 1));
    at += take;
  }
  masker.feed(std::span(in).subspan(at), out);
  masker.flush(out);
  REQUIRE(masker.held() == 0);
  return text_of(out);
}

inline std::string mask_whole(const std::shared_ptr<MaskTable>& table, std::string_view text)
{
  return mask_chunked(table, text, {});
}

inline std::string mask_bytewise(const std::shared_ptr<MaskTable>& table, std::string_view text)
{
  return mask_chunked(table, text, std::vector<std::size_t>(text.size(), 1));
}

// The naive reference's output for `text`.
inline std::string reference_mask(const Secrets& secrets, std::string_view text)
{
  return text_of(reference::naive_mask(secrets.patterns(), bytes_of(text)));
}

// Checks actual == expected without printing `actual` (it may hold what failed to be masked).
inline void check_masked(const std::string& actual, const std::string& expected)
{
  const auto diff = std::mismatch(actual.begin(), actual.end(), expected.begin(), expected.end());
  const auto at = static_cast<std::size_t>(diff.first - actual.begin());
  INFO("expected (" << expected.size() << " bytes): " << expected);
  INFO("actual output: " << actual.size() << " bytes, first difference at byte " << at);
  CHECK(actual == expected);
}

} // namespace smem::mask::test
