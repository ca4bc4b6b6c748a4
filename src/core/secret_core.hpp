// The shared state behind a Secret: one atomic state word and the memory it protects.
//
// State word (32 bits, so close() can futex-wait on it directly):
//   bits 0..28  number of readers inside an access
//   OPEN        the guard is open process-wide (always set for guards that do not toggle)
//   CLOSING     close() has begun: no new reader may enter
//   CLOSED      the memory is wiped and freed
// Readers take the lock-free fast path (one CAS in, one fetch_sub out) while OPEN is set; a
// per-thread guard (pkey) adds its grant and restore for the calling thread, no system call. The
// first reader of an idle toggling guard, and the last one leaving, take m_toggle to change the
// protection; a reader and a closer ordering their mprotect calls the wrong way round is
// impossible because OPEN changes only under m_toggle and readers enter only through a CAS that
// sees OPEN.
#pragma once

#include "core/gate.hpp"
#include "core/layout.hpp"
#include "core/registry.hpp"
#include "core/release.hpp"
#include "core/strategies.hpp"

#include <smem/secret.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace smem::detail {

class SecretCore {
public:
  static constexpr std::uint32_t k_readers_mask = (1u << 29) - 1;
  static constexpr std::uint32_t k_open = 1u << 29;
  static constexpr std::uint32_t k_closing = 1u << 30;
  static constexpr std::uint32_t k_closed = 1u << 31;

  // Seals the pending allocation (its bytes already written) and takes it over. If sealing throws,
  // `pending` still owns the allocation and wipes it.
  SecretCore(std::shared_ptr<const Strategies> strategies, PendingAllocation& pending);
  ~SecretCore();
  SecretCore(const SecretCore&) = delete;
  SecretCore& operator=(const SecretCore&) = delete;

  // Enter/leave an access (ReadAccess calls these). enter throws Error(closed); `ticket` carries a
  // per-thread guard's grant from enter to leave.
  std::span<const std::byte> enter(std::uint32_t& ticket);
  void leave(std::uint32_t ticket) noexcept;

  void close();
  [[nodiscard]] bool is_closed() const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return m_allocation.size; }

  // For tests: the raw state word.
  [[nodiscard]] std::uint32_t state() const noexcept { return m_state.load(std::memory_order_acquire); }
  // For tests: the allocation (do not touch its memory outside an access).
  [[nodiscard]] const Allocation& allocation() const noexcept { return m_allocation; }

private:
  std::span<const std::byte> enter_slow();
  void leave_slow() noexcept;
  // True in the child of a fork: the memory is not ours (not mapped, or zeroed) and is never touched.
  [[nodiscard]] bool forked() const noexcept;

  std::atomic<std::uint32_t> m_state;
  std::mutex m_toggle; // serializes open_shared/close_shared and the final wipe
  std::shared_ptr<const Strategies> m_strategies;
  bool m_toggles;    // the guard is opened for the first reader and closed after the last (mprotect)
  bool m_per_thread; // the guard grants each access to its thread (pkey)
  Allocation m_allocation;
  std::uint64_t m_fork_generation;
};

} // namespace smem::detail
