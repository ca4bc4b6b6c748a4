// Layout: how secrets are placed in backend mappings, and the life of one allocation:
//   allocate -> (the caller writes the secret) -> seal -> accesses (gate.hpp) -> release.
#pragma once

#include "core/backend.hpp"
#include "core/guard.hpp"
#include "core/registry.hpp"

#include <smem/options.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace smem::detail {

struct Strategies;

// Protection state of pages that several pooled secrets share, for process-wide guards: a page is
// as open as its most demanding user needs (write > read > at rest). Per-thread guards and
// Guard::none never change a shared page's protection.
struct PageShare {
  struct Use {
    std::uint32_t readers = 0;
    std::uint32_t writers = 0;
    Access current = Access::none;
  };
  std::mutex mutex;
  std::byte* first_page = nullptr;
  std::unique_ptr<Use[]> pages;
};

// Where one secret lives.
struct Allocation {
  std::byte* data = nullptr;  // the secret's first byte
  std::size_t size = 0;       // the secret's length
  std::byte* pages = nullptr; // the page-aligned range a guard protects (holds canary and data)
  std::size_t pages_length = 0;
  Mapping mapping;                // isolated: what the backend gave
  PageShare* share = nullptr;     // pooled: the arena's page protection state (pages is one page)
  void* arena = nullptr;          // pooled: the arena (layout-private)
  std::uint32_t write_ticket = 0; // between allocate and seal: what ends the caller's write access
  RegistrySlot slot;              // isolated: the registry entry (pooled arenas register themselves)
};

class LayoutImpl {
public:
  virtual ~LayoutImpl() = default;

  [[nodiscard]] virtual Layout kind() const noexcept = 0;

  // Room for `size` bytes, zero-filled and writable by the calling thread until seal(). Throws
  // like Backend::map, or Error(too_large).
  [[nodiscard]] virtual Allocation allocate(const Strategies& strategies, std::size_t size) const = 0;

  // Ends the write access: the memory goes to the guard's at-rest protection. Throws
  // Error(out_of_memory) if the kernel refuses; the memory is then still writable, and release()
  // must be called with `writable` = true.
  virtual void seal(const Strategies& strategies, Allocation& allocation) const = 0;

  // Makes the memory writable (unless `writable`), checks the canary (a mismatch aborts the
  // process), wipes it and gives it back. Returns false if a system call failed; the memory is
  // wiped whenever it could be made writable, and never handed out again unwiped.
  virtual bool release(const Strategies& strategies, Allocation& allocation,
                       bool writable) const noexcept = 0;

  // The longest secret the layout accepts, before any system call.
  [[nodiscard]] virtual std::size_t max_size() const noexcept = 0;
};

const LayoutImpl& isolated_layout() noexcept;
// Layout::pooled (also what Layout::automatic resolves to): slots for secrets up to
// k_pooled_max_size bytes, isolated pages above.
const LayoutImpl& pooled_layout() noexcept;
inline constexpr std::size_t k_pooled_max_size = 1024;

// In a forked child: forget the parent's arenas without touching them (fork.cpp).
void pooled_forget_after_fork() noexcept;

// For tests: arenas currently mapped, and slots in use, over all pools. (Locked bytes: memlock.hpp.)
struct PoolStats {
  std::size_t arenas = 0;
  std::size_t slots_in_use = 0;
};
PoolStats pool_stats() noexcept;

// The process-wide random canary value written before every secret.
inline constexpr std::size_t k_canary_size = 16;
const unsigned char* canary() noexcept;

} // namespace smem::detail
