// Backend: where a secret's pages come from. A backend hands out guarded mappings:
//   | guard page (PROT_NONE) | data pages (read-write, locked, never dumped) | guard page |
// and takes them back. Layouts decide what to put in the data pages; guards decide who may read
// them. Each backend is one small class behind this interface (ninja's subprocess-posix idea).
#pragma once

#include <smem/options.hpp>

#include <cstddef>
#include <string>

namespace smem::detail {

// One guarded mapping as returned by Backend::map.
struct Mapping {
  std::byte* base = nullptr;    // first byte of the leading guard page
  std::size_t length = 0;       // the whole mapping, both guard pages included
  std::byte* data = nullptr;    // first byte of the data pages
  std::size_t data_length = 0;  // whole pages
  bool locked = false;          // false only under LockFailure::warn after the kernel refused
  void* group = nullptr;        // backend-private (secretmem: the fd group the pages belong to)
  std::size_t group_offset = 0; // backend-private (secretmem: page offset in the group's file)
};

class BackendImpl {
public:
  virtual ~BackendImpl() = default;

  // Which backend this is.
  [[nodiscard]] virtual Backend kind() const noexcept = 0;

  // A new guarded mapping with `data_pages` data pages, read-write and zero-filled. Throws
  // Error(memlock_limit) / Error(out_of_memory); leaves nothing mapped when it throws.
  [[nodiscard]] virtual Mapping map(std::size_t data_pages, LockFailure on_lock_failure) = 0;

  // Gives a mapping back. The caller has wiped the data pages. Never throws; returns false if a
  // system call failed (the memory may then stay mapped, but it is wiped).
  virtual bool unmap(const Mapping& mapping) noexcept = 0;
};

// The backend singletons; secretmem() exists even where memfd_secret does not work (map throws).
BackendImpl& mlock_backend() noexcept;
BackendImpl& secretmem_backend() noexcept;

// Whether memfd_secret(2) works for this process (probed once, result cached).
bool secretmem_available() noexcept;

} // namespace smem::detail

namespace smem::detail {
// Called in the child of a fork (see fork.cpp): drop the parent's memfd_secret groups.
void secretmem_forget_after_fork() noexcept;
} // namespace smem::detail
