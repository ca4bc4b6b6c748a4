// Secret, Reader and the state machine behind them (see secret_core.hpp for the state word).
#include "core/fork.hpp"
#include "core/gate.hpp"
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

// --- SecretCore ------------------------------------------------------------------------------

SecretCore::SecretCore(std::shared_ptr<const Strategies> strategies, PendingAllocation& pending)
    : m_state(0), m_strategies(std::move(strategies)), m_toggles(toggles(*m_strategies->guard)),
      m_per_thread(m_strategies->guard->per_thread()), m_fork_generation(fork_generation())
{
  pending.seal(); // throws: pending still owns the allocation and wipes it
  m_allocation = pending.allocation();
  if (!m_toggles) {
    m_state.store(k_open, std::memory_order_release);
  }
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

std::span<const std::byte> SecretCore::enter(std::uint32_t& ticket)
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
      if (m_per_thread) {
        ticket = m_strategies->guard->grant(Access::read);
      }
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
  std::uint32_t ticket = 0;
  if (opened_here) {
    ticket = gate_open(*m_strategies->guard, m_allocation, Access::read); // throws, state unchanged
  }
  // OPEN changes only under m_toggle, which we hold; the CAS loop only races other readers
  // (fast path, possible once OPEN is set) and a closer setting CLOSING.
  while (!m_state.compare_exchange_weak(s, (s | k_open) + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    if ((s & (k_closing | k_closed)) != 0) {
      if (opened_here) {
        (void)gate_close(*m_strategies->guard, m_allocation, Access::read, ticket);
      }
      throw_closed();
    }
  }
  return {m_allocation.data, m_allocation.size};
}

void SecretCore::leave(std::uint32_t ticket) noexcept
{
  if (m_per_thread) {
    m_strategies->guard->restore(ticket);
  }
  const std::uint32_t s = m_state.fetch_sub(1, std::memory_order_release) - 1;
  if ((s & k_readers_mask) != 0) {
    return;
  }
  if ((s & k_closing) != 0) {
    m_state.notify_all(); // the closer waits for the last reader
  } else if ((s & k_open) != 0 && m_toggles) {
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
      if (!gate_close(*m_strategies->guard, m_allocation, Access::read, 0)) {
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
    registry_remove(m_allocation.slot); // the memory is not ours in a forked child: never touch it
  } else {
    // A refused munmap leaves wiped pages mapped; a refused mprotect leaves them unwiped but
    // unmapped. Neither is something the caller could act on, so close() still just closes.
    std::lock_guard lock(m_toggle);
    // Read again under the lock: a last reader's leave_slow may have been closing the guard, and
    // puts OPEN back if the kernel refused.
    s = m_state.load(std::memory_order_acquire);
    if (m_toggles && (s & k_open) != 0) {
      // The last reader left while we were closing: its opening is still counted (or a refused
      // close left the pages open). Drop it; the release below sets the protection again.
      (void)gate_forget(*m_strategies->guard, m_allocation, Access::read);
    }
    (void)m_strategies->layout->release(*m_strategies, m_allocation, false);
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
  m_bytes = core->enter(m_ticket);
  t_innermost = this;
}

ReadAccess::~ReadAccess()
{
  t_innermost = m_outer;
  m_core->leave(m_ticket);
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
