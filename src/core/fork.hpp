// Fork detection: a generation counter bumped in the child of every fork() (pthread_atfork), so a
// secret made before a fork throws Errc::closed in the child instead of faulting (secretmem pages
// are MADV_DONTFORK) or reading zeros (mlock pages are MADV_WIPEONFORK).
#pragma once

#include <cstdint>

namespace smem::detail {

// Registers the atfork handler once; call before taking a generation.
void fork_tracking_init() noexcept;

// The current fork generation of this process.
std::uint64_t fork_generation() noexcept;

} // namespace smem::detail
