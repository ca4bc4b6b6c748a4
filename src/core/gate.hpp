// Gate: giving the calling thread access to one allocation and taking it back, whatever the guard
// and layout. Process-wide guards change page protection, counted per page when pooled secrets
// share it (core/layout.hpp, PageShare); per-thread guards change only the thread's PKRU.
#pragma once

#include "core/guard.hpp"
#include "core/layout.hpp"

#include <cstdint>

namespace smem::detail {

// Whether accesses must open and close the guard around the first and last concurrent reader
// (process-wide guards that hide secrets at rest: mprotect).
inline bool toggles(const GuardImpl& guard) noexcept
{
  return !guard.per_thread() && guard.at_rest() == Access::none;
}

// Gives the calling thread (per-thread guards) or every thread (process-wide guards) `access` to
// the allocation. Returns the ticket gate_close needs. Throws Error(out_of_memory), protection
// unchanged, if the kernel refuses.
std::uint32_t gate_open(const GuardImpl& guard, const Allocation& allocation, Access access);

// Takes `access` back. Returns false, having changed nothing, if the kernel refused (the pages
// then stay as open as before and the caller must keep treating them as open).
[[nodiscard]] bool gate_close(const GuardImpl& guard, const Allocation& allocation, Access access,
                              std::uint32_t ticket) noexcept;

// Takes `access` back for good, as a secret being released must: the count drops even if the
// kernel refuses to change the protection (the page then stays as open as it was until its next
// change, which applies the right protection again).
// Returns false if the kernel refused.
bool gate_forget(const GuardImpl& guard, const Allocation& allocation, Access access) noexcept;

} // namespace smem::detail
