// Layout: how secrets are placed in backend mappings.
#pragma once

#include "core/backend.hpp"

#include <smem/options.hpp>

#include <cstddef>

namespace smem::detail {

// Where one secret lives.
struct Allocation {
  std::byte* data = nullptr;  // the secret's first byte
  std::size_t size = 0;       // the secret's length
  std::byte* pages = nullptr; // the page-aligned range a guard protects (holds canary and data)
  std::size_t pages_length = 0;
  Mapping mapping; // what the backend gave
};

class LayoutImpl {
public:
  virtual ~LayoutImpl() = default;

  [[nodiscard]] virtual Layout kind() const noexcept = 0;

  // Room for `size` bytes, read-write, zero-filled, canary written. Throws like Backend::map.
  [[nodiscard]] virtual Allocation allocate(BackendImpl& backend, std::size_t size,
                                            LockFailure on_lock_failure) const = 0;

  // Checks the canary (a mismatch aborts the process), wipes and gives the memory back. The pages
  // must be writable. Returns false if giving back failed (the memory is wiped regardless).
  virtual bool release(BackendImpl& backend, const Allocation& allocation) const noexcept = 0;

  // The longest secret the layout accepts, before any system call.
  [[nodiscard]] virtual std::size_t max_size() const noexcept = 0;
};

const LayoutImpl& isolated_layout() noexcept;

// The process-wide random canary value written before every secret.
inline constexpr std::size_t k_canary_size = 16;
const unsigned char* canary() noexcept;

} // namespace smem::detail
