#include "run/io.hpp"

#include <cerrno>
#include <poll.h>
#include <unistd.h>

namespace smem::run {

bool write_all(int fd, std::span<const std::byte> bytes) noexcept
{
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0}; // a non-blocking descriptor that is full: wait, do not spin
      ::poll(&p, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

} // namespace smem::run
