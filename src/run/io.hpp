// Small I/O helpers shared by the run pipeline.
#pragma once

#include <cstddef>
#include <span>

namespace smem::run {

// Writes all of `bytes` to `fd`, retrying EINTR and waiting (poll) when the descriptor is
// non-blocking and full. False when the descriptor refuses (EPIPE and the like; errno says why).
bool write_all(int fd, std::span<const std::byte> bytes) noexcept;

} // namespace smem::run
