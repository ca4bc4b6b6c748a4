// Errors of the run pipeline, each with the exit status SPEC 1.1 gives it.
#pragma once

#include <stdexcept>
#include <string>

namespace smem::run {

// SPEC 1.1 exit statuses of smem itself.
enum class Exit : int {
  failure = 125,        // usage error, a source failed, no terminal, limits
  not_executable = 126, // COMMAND found but not executable
  not_found = 127,      // COMMAND not found
};

// A failure that ends `smem run` with `status`; the message never contains a secret value.
class RunError : public std::runtime_error {
public:
  RunError(Exit status, const std::string& message) : RunError(static_cast<int>(status), message) {}
  RunError(int status, const std::string& message) : std::runtime_error(message), m_status(status) {}
  explicit RunError(const std::string& message) : RunError(Exit::failure, message) {}
  [[nodiscard]] int status() const noexcept { return m_status; }

private:
  int m_status;
};

} // namespace smem::run
