// Page arithmetic shared by backends and layouts.
#pragma once

#include <cstddef>

namespace smem::detail {

// The system page size, read once.
std::size_t page_size() noexcept;

// `n` rounded up to whole pages.
inline std::size_t round_to_pages(std::size_t n) noexcept
{
  const std::size_t p = page_size();
  return (n + p - 1) / p * p;
}

} // namespace smem::detail
