// What to do when the kernel refuses to lock memory (RLIMIT_MEMLOCK).
#pragma once

#include <cstddef>
#include <string>

namespace smem::detail {

// Raises the soft RLIMIT_MEMLOCK to the hard limit; true if it was raised (worth retrying).
bool raise_memlock_soft_limit() noexcept;

// The Errc::memlock_limit message: the limit, what was asked, what is locked, and the fixes.
std::string memlock_message(std::size_t requested_bytes, const char* what);

// Under LockFailure::warn: prints one warning per process to stderr.
void warn_unlocked_once(std::size_t requested_bytes) noexcept;

} // namespace smem::detail
