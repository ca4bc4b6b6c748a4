// What to do when the kernel refuses to lock memory (RLIMIT_MEMLOCK).
#pragma once

#include <cstddef>
#include <string>

namespace smem::detail {

// libsmem's own count of the bytes it has locked, checked against the soft RLIMIT_MEMLOCK (raised
// to the hard limit first when needed) before memory is locked. The kernel enforces the limit as
// well, but not always when memory is mapped: Linux 6.1 maps memfd_secret pages past the limit and
// then kills the process with SIGBUS when they are first touched. Processes with CAP_IPC_LOCK are
// counted but never refused. Returns false if `bytes` more would exceed the limit.
bool account_locked(std::size_t bytes) noexcept;
void unaccount_locked(std::size_t bytes) noexcept;
std::size_t accounted_locked() noexcept;
// In a forked child: the parent's locked mappings are not inherited (MADV_DONTFORK).
void forget_accounted_after_fork() noexcept;

// Raises the soft RLIMIT_MEMLOCK to the hard limit; true if it was raised (worth retrying).
bool raise_memlock_soft_limit() noexcept;

// The Errc::memlock_limit message: the limit, what was asked, what is locked, and the fixes.
std::string memlock_message(std::size_t requested_bytes, const char* what);

// Under LockFailure::warn: prints one warning per process to stderr.
void warn_unlocked_once(std::size_t requested_bytes) noexcept;

} // namespace smem::detail
