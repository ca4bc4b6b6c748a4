// libsmem: error type. Every failure of the library is an smem::Error carrying one Errc.
#pragma once

#include <stdexcept>
#include <string>

namespace smem {

// What went wrong; stable values, so callers can map them to exit statuses.
enum class Errc {
  closed = 1,       // the secret is closed, being closed, or was created before a fork()
  would_deadlock,   // close() called from inside a callback on the same secret
  memlock_limit,    // RLIMIT_MEMLOCK refused the memory; the message names the limit and fixes
  out_of_memory,    // the kernel refused a mapping (ENOMEM, vm.max_map_count)
  too_large,        // a source held more bytes than the caller's limit
  io,               // a read(2) or similar failed; the message names errno
  unsupported,      // the requested strategy does not exist on this machine or in this build
  invalid_argument, // a bad argument (e.g. a negative fd)
};

// The exception type of libsmem. Its message never contains secret bytes.
class Error : public std::runtime_error {
public:
  // Builds an error with code `code` and a human-readable `message`.
  Error(Errc code, const std::string& message) : std::runtime_error(message), m_code(code) {}

  // The machine-readable reason.
  [[nodiscard]] Errc code() const noexcept { return m_code; }

private:
  Errc m_code;
};

} // namespace smem
