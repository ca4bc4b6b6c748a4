// The reference the masker is checked against (by fuzz/mask_fuzz.cpp and tests/mask/): masking
// as SPEC 1.1 words it, in the most obvious way. At each position of the whole text, the longest
// pattern that occurs there is replaced by "***" and the scan resumes after it; with none, one
// byte is copied. Quadratic and unprotected: for tests only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace smem::mask::reference {

inline std::vector<std::byte> naive_mask(const std::vector<std::vector<std::byte>>& patterns,
                                         std::span<const std::byte> text)
{
  std::vector<std::byte> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t best = 0;
    for (const std::vector<std::byte>& p : patterns) {
      if (!p.empty() && p.size() > best && p.size() <= text.size() - i &&
          std::equal(p.begin(), p.end(), text.begin() + static_cast<std::ptrdiff_t>(i))) {
        best = p.size();
      }
    }
    if (best > 0) {
      for (const char c : {'*', '*', '*'}) {
        out.push_back(static_cast<std::byte>(c));
      }
      i += best;
    } else {
      out.push_back(text[i]);
      ++i;
    }
  }
  return out;
}

// Whether `tail` is a proper prefix of some pattern: the only reason a streaming masker may hold
// bytes back (it holds back from the first position where this is true).
inline bool begins_a_pattern(const std::vector<std::vector<std::byte>>& patterns,
                             std::span<const std::byte> tail)
{
  for (const std::vector<std::byte>& p : patterns) {
    if (p.size() > tail.size() && std::equal(tail.begin(), tail.end(), p.begin())) {
      return true;
    }
  }
  return false;
}

} // namespace smem::mask::reference
