// Guard: how an idle secret is made unreadable, and how a reader gets access.
//
// Two kinds exist. A process-wide guard (mprotect, none) changes the pages' protection for every
// thread, so it is opened for the first concurrent reader and closed after the last one (never one
// system call per access while accesses overlap; see secret_core.hpp), and pages shared by several
// pooled secrets are counted per page (see gate.hpp). A per-thread guard (pkey) tags each mapping
// once and then grants the calling thread access for one access at a time, with no system call.
// This file is the primitive half; gate.hpp applies it to an allocation.
#pragma once

#include <smem/options.hpp>

#include <cstddef>
#include <cstdint>

namespace smem::detail {

// What a thread may do with a secret's pages.
enum class Access : std::uint8_t { none, read, write };

class GuardImpl {
public:
  virtual ~GuardImpl() = default;

  [[nodiscard]] virtual Guard kind() const noexcept = 0;

  // True for pkey: access is granted per thread (grant/restore), page protection never changes
  // after tag(). False for mprotect and none: access is page protection (protect).
  [[nodiscard]] virtual bool per_thread() const noexcept = 0;

  // Process-wide guards: the protection pages have while nobody reads or writes them.
  [[nodiscard]] virtual Access at_rest() const noexcept = 0;

  // Once per fresh mapping, after it was written for the first time: pkey tags it with the
  // process key; the others do nothing. Throws Error(out_of_memory) if the kernel refuses.
  virtual void tag(std::byte* pages, std::size_t length) const = 0;

  // Process-wide guards: set the pages' protection. Returns false (errno set) if the kernel refused;
  // mprotect may then have changed part of the range. Per-thread guards: does nothing.
  [[nodiscard]] virtual bool protect(std::byte* pages, std::size_t length, Access access) const noexcept = 0;

  // Per-thread guards: give the calling thread `access` to every secret of this guard until the
  // matching restore(ticket). Grants nest and may end in any order; ticket 0 means nothing was
  // granted, and restore(0) does nothing. Others: nothing, ticket 0.
  [[nodiscard]] virtual std::uint32_t grant(Access access) const noexcept = 0;
  virtual void restore(std::uint32_t ticket) const noexcept = 0;
};

const GuardImpl& mprotect_guard() noexcept;
const GuardImpl& none_guard() noexcept;
// Guard::pkey; only valid when pkeys_available() (core/pkey.hpp).
const GuardImpl& pkey_guard() noexcept;

} // namespace smem::detail
