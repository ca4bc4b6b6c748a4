// Owning an allocation while a secret is being made: shared by SecretFactory and SecretCore.
#pragma once

#include "core/layout.hpp"
#include "core/strategies.hpp"

#include <span>

namespace smem::detail {

// Owns an allocation until release(): a creation that throws midway wipes and frees it.
class PendingAllocation {
public:
  PendingAllocation(const Strategies& strategies, std::size_t size)
      : m_strategies(strategies), m_allocation(strategies.layout->allocate(strategies, size))
  {
  }
  ~PendingAllocation()
  {
    if (m_owned) {
      (void)m_strategies.layout->release(m_strategies, m_allocation, !m_sealed);
    }
  }
  PendingAllocation(const PendingAllocation&) = delete;
  PendingAllocation& operator=(const PendingAllocation&) = delete;

  [[nodiscard]] const Allocation& allocation() const noexcept { return m_allocation; }
  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {m_allocation.data, m_allocation.size}; }

  // The bytes are written: protect them as the guard keeps them at rest. Throws like
  // LayoutImpl::seal (the allocation then stays owned here and is wiped).
  void seal()
  {
    m_strategies.layout->seal(m_strategies, m_allocation);
    m_sealed = true;
  }

  // Ownership passed on (to a SecretCore).
  void release() noexcept { m_owned = false; }

private:
  const Strategies& m_strategies;
  Allocation m_allocation;
  bool m_sealed = false;
  bool m_owned = true;
};

} // namespace smem::detail
