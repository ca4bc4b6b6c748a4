// Giving a secret's memory back: shared by SecretCore and the factory's error paths.
#pragma once

#include "core/layout.hpp"
#include "core/registry.hpp"
#include "core/strategies.hpp"

#include <span>

namespace smem::detail {

// Makes the pages writable, unregisters them, checks the canary, wipes and unmaps. Returns false if
// a system call failed; the memory is wiped whenever it could be made writable, and unregistered
// in every case.
bool release_allocation(const Strategies& strategies, const Allocation& allocation,
                        RegistrySlot& slot) noexcept;

// Owns an allocation until release(): a creation that throws midway wipes and frees it.
class PendingAllocation {
public:
  PendingAllocation(const Strategies& strategies, std::size_t size);
  ~PendingAllocation();
  PendingAllocation(const PendingAllocation&) = delete;
  PendingAllocation& operator=(const PendingAllocation&) = delete;

  [[nodiscard]] const Allocation& allocation() const noexcept { return m_allocation; }
  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {m_allocation.data, m_allocation.size}; }
  [[nodiscard]] RegistrySlot& slot() noexcept { return m_slot; }

  // Ownership passed on (to a SecretCore).
  void release() noexcept { m_owned = false; }

private:
  const Strategies& m_strategies;
  Allocation m_allocation;
  RegistrySlot m_slot;
  bool m_owned = true;
};

} // namespace smem::detail
