// Child programs of the fault and load suites. When the test binary starts with
// SMEM_FAULT_CHILD=<program> in its environment it runs that program and exits before doctest's
// main, as cli/child_programs.cpp does for SMEM_TEST_CHILD (a variable of its own, because that
// dispatcher exits 99 for a name it does not know and the order of static initialisation between
// files is unspecified). Only libc is used here.
//
// Programs:
//   digest [SOURCE...]: reads every SOURCE to its end (a descriptor number, or a path such as
//          /dev/fd/5; descriptor 3 when none is given) and exits with digest_status() of all the
//          bytes, so the status proves which bytes arrived; 120 when a read fails.
#include "fault/fault_util.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace smem::fault_test {
namespace {

bool append_all(int fd, std::string& bytes)
{
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n == 0;
    }
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
}

// This process's arguments after argv[0], from /proc (a static initialiser has no argv).
std::vector<std::string> arguments()
{
  std::string all;
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    append_all(fd, all);
    ::close(fd);
  }
  std::vector<std::string> args;
  std::size_t start = all.find('\0');
  while (start != std::string::npos && start + 1 < all.size()) {
    const std::size_t end = all.find('\0', start + 1);
    args.push_back(all.substr(start + 1, end - start - 1));
    start = end;
  }
  return args;
}

int digest_program()
{
  std::vector<std::string> sources = arguments();
  if (sources.empty()) {
    sources.emplace_back("3");
  }
  std::string bytes;
  for (const std::string& source : sources) {
    const bool is_number = source.find_first_not_of("0123456789") == std::string::npos;
    const int fd = is_number ? std::atoi(source.c_str()) : ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !append_all(fd, bytes)) {
      return 120;
    }
    if (!is_number) {
      ::close(fd);
    }
  }
  return digest_status(bytes);
}

int dispatch(const char* program)
{
  if (std::strcmp(program, "digest") == 0) {
    return digest_program();
  }
  return 121;
}

[[maybe_unused]] const int k_fault_child = [] {
  if (const char* program = std::getenv(k_child_variable.data()); program != nullptr) {
    ::_exit(dispatch(program));
  }
  return 0;
}();

} // namespace
} // namespace smem::fault_test
