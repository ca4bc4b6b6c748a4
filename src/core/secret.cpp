// Secret, Reader and the state machine behind them (see secret_core.hpp for the state word).
#include "core/fork.hpp"
#include "core/release.hpp"
#include "core/secret_core.hpp"

#include <smem/secret.hpp>

#include <algorithm>
#include <cstring>

namespace smem {
namespace detail {
namespace {

// The innermost access of this thread; accesses nest strictly (RAII), so they form a stack.
thread_local ReadAccess* t_innermost = nullptr;

[[noreturn]] void throw_closed()
{
  throw Error(Errc::closed, "the secret is closed");
}

} // namespace

// --- release helpers -------------------------------------------------------------------------

bool release_allocation(const Strategies& strategies, const Allocation& allocation,
                        RegistrySlot& slot) noexcept
{
  if (!strategies.guard->open_for_wipe(allocation.pages, allocation.pages_length)) {
    // Cannot write it, so cannot wipe it: unmap at least (the kernel zeroes pages before reuse).
    registry_remove(slot);
    strategies.backend->unmap(allocation.mapping);
    return false;
  }
  registry_remove(slot);
  return strategies.layout->release(*strategies.backend, allocation);
}

PendingAllocation::PendingAllocation(const Strategies& strategies, std::size_t size)
    : m_strategies(strategies),
      m_allocation(strategies.layout->allocate(*strategies.backend, size, strategies.lock_failure)),
      m_slot(registry_add(m_allocation.pages, m_allocation.pages_length))
{
}

PendingAllocation::~PendingAllocation()
{
  if (m_owned) {
    release_allocation(m_strategies, m_allocation, m_slot);
  }
}

// --- SecretCore ------------------------------------------------------------------------------

SecretCore::SecretCore(std::shared_ptr<const Strategies> strategies, PendingAllocation& pending)
    : m_state(0), m_strategies(std::move(strategies)), m_allocation(pending.allocation()),
      m_fork_generation(fork_generation())
{
  m_strategies->guard->seal(m_allocation.pages, m_allocation.pages_length); // throws: pending cleans up
  if (!m_strategies->guard->toggles()) {
    m_state.store(k_open, std::memory_order_release);
  }
  m_slot = pending.slot();
  pending.slot() = RegistrySlot{};
  pending.release();
}

SecretCore::~SecretCore()
{
  try {
    close();
  } catch (...) { // NOLINT(bugprone-empty-catch): cleanup failures were already recorded as closed
  }
}

bool SecretCore::forked() const noexcept
{
  return m_fork_generation != fork_generation();
}

std::span<const std::byte> SecretCore::enter()
{
  if (forked()) {
    throw_closed();
  }
  std::uint32_t s = m_state.load(std::memory_order_acquire);
  for (;;) {
    if ((s & (k_closing | k_closed)) != 0) {
      throw_closed();
    }
    if ((s & k_open) == 0) {
      return enter_slow();
    }
    if ((s & k_readers_mask) == k_readers_mask) {
      throw Error(Errc::out_of_memory, "too many concurrent readers of one secret");
    }
    if (m_state.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_acquire)) {
      return {m_allocation.data, m_allocation.size};
    }
  }
}

std::span<const std::byte> SecretCore::enter_slow()
{
  std::lock_guard lock(m_toggle);
  std::uint32_t s = m_state.load(std::memory_order_acquire);
  if ((s & (k_closing | k_closed)) != 0) {
    throw_closed();
  }
  const bool opened_here = (s & k_open) == 0;
  if (opened_here) {
    m_strategies->guard->open_shared(m_allocation.pages,
                                     m_allocation.pages_length); // throws, state unchanged
  }
  // OPEN changes only under m_toggle, which we hold; the CAS loop only races other readers
  // (fast path, possible once OPEN is set) and a closer setting CLOSING.
  while (!m_state.compare_exchange_weak(s, (s | k_open) + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    if ((s & (k_closing | k_closed)) != 0) {
      if (opened_here) {
        (void)m_strategies->guard->close_shared(m_allocation.pages, m_allocation.pages_length);
      }
      throw_closed();
    }
  }
  return {m_allocation.data, m_allocation.size};
}

void SecretCore::leave() noexcept
{
  const std::uint32_t s = m_state.fetch_sub(1, std::memory_order_release) - 1;
  if ((s & k_readers_mask) != 0) {
    return;
  }
  if ((s & k_closing) != 0) {
    m_state.notify_all(); // the closer waits for the last reader
  } else if ((s & k_open) != 0 && m_strategies->guard->toggles()) {
    leave_slow();
  }
}

void SecretCore::leave_slow() noexcept
{
  std::lock_guard lock(m_toggle);
  std::uint32_t s = m_state.load(std::memory_order_acquire);
  // Close only if still idle and open; a reader that arrived meanwhile keeps it open.
  while ((s & k_readers_mask) == 0 && (s & k_open) != 0 && (s & (k_closing | k_closed)) == 0) {
    if (m_state.compare_exchange_weak(s, s & ~k_open, std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (!m_strategies->guard->close_shared(m_allocation.pages, m_allocation.pages_length)) {
        // Still readable: say so, so the next reader skips opening and the next leave retries.
        m_state.fetch_or(k_open, std::memory_order_release);
      }
      return;
    }
  }
}

void SecretCore::close()
{
  for (const ReadAccess* a = t_innermost; a != nullptr; a = a->m_outer) {
    if (a->m_core == this) {
      throw Error(
          Errc::would_deadlock,
          "close() called from inside an access to the same secret; close it after the callback returns");
    }
  }
  std::uint32_t s = m_state.fetch_or(k_closing, std::memory_order_acq_rel);
  if ((s & k_closing) != 0) {
    // Another thread owns the close: return once it has wiped.
    while (((s = m_state.load(std::memory_order_acquire)) & k_closed) == 0) {
      m_state.wait(s, std::memory_order_acquire);
    }
    return;
  }
  s |= k_closing;
  while ((s & k_readers_mask) != 0) {
    m_state.wait(s, std::memory_order_acquire);
    s = m_state.load(std::memory_order_acquire);
  }
  if (forked()) {
    registry_remove(m_slot); // the memory is not ours in a forked child: never touch it
  } else {
    // A refused munmap leaves wiped pages mapped; a refused mprotect leaves them unwiped but
    // unmapped. Neither is something the caller could act on, so close() still just closes.
    std::lock_guard lock(m_toggle);
    (void)release_allocation(*m_strategies, m_allocation, m_slot);
  }
  m_state.fetch_or(k_closed, std::memory_order_release);
  m_state.notify_all();
}

bool SecretCore::is_closed() const noexcept
{
  return (m_state.load(std::memory_order_acquire) & (k_closing | k_closed)) != 0 || forked();
}

// --- ReadAccess ------------------------------------------------------------------------------

ReadAccess::ReadAccess(SecretCore* core) : m_core(core), m_outer(t_innermost)
{
  if (core == nullptr) {
    throw_closed();
  }
  m_bytes = core->enter();
  t_innermost = this;
}

ReadAccess::~ReadAccess()
{
  t_innermost = m_outer;
  m_core->leave();
}

} // namespace detail

// --- Secret, Reader --------------------------------------------------------------------------

Secret& Secret::operator=(Secret&& other) noexcept
{
  if (this != &other) {
    if (m_core) {
      try {
        m_core->close();
      } catch (...) { // NOLINT(bugprone-empty-catch): closed regardless, see SecretCore::close
      }
    }
    m_core = std::move(other.m_core);
  }
  return *this;
}

Secret::~Secret()
{
  if (m_core) {
    try {
      m_core->close();
    } catch (...) { // NOLINT(bugprone-empty-catch): closed regardless, see SecretCore::close
    }
  }
}

void Secret::close()
{
  if (m_core) {
    m_core->close();
  }
}

bool Secret::is_closed() const noexcept
{
  return !m_core || m_core->is_closed();
}

std::size_t Secret::size() const noexcept
{
  return m_core ? m_core->size() : 0;
}

std::size_t Reader::read(std::span<std::byte> out)
{
  detail::ReadAccess access(m_core.get());
  const std::span<const std::byte> bytes = access.bytes();
  if (m_offset >= bytes.size()) {
    return 0;
  }
  const std::size_t n = std::min(out.size(), bytes.size() - m_offset);
  std::memcpy(out.data(), bytes.data() + m_offset, n);
  m_offset += n;
  return n;
}

} // namespace smem
