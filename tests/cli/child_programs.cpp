// Small child programs for the black-box tests, where a shell cannot do the job (lseek, fcntl).
// When the test binary is started with SMEM_TEST_CHILD=<program> in its environment it runs that
// program and exits before doctest's main, the way multi-process test suites reuse their own
// binary. Only libc is used, so the order of static initialisation does not matter.
//
// Programs (results go to files, never to stdout, so a masker cannot change them):
//   memfd: inspects descriptor 3; writes its bytes to $SMEM_TEST_OUT and one "key=0|1" line per
//          property to $SMEM_TEST_REPORT.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace smem::cli_test {
namespace {

std::string read_all(int fd, bool& ok)
{
  std::string bytes;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ok = false;
      return bytes;
    }
    if (n == 0) {
      return bytes;
    }
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
}

bool write_file(const char* path, const std::string& bytes)
{
  if (path == nullptr) {
    return false;
  }
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  return ok;
}

int memfd_program()
{
  constexpr int fd = 3;
  std::string report;
  const auto note = [&](const char* key, bool value) {
    report += std::string(key) + "=" + (value ? "1" : "0") + "\n";
  };
  bool read_ok = true;
  const std::string first = read_all(fd, read_ok);
  const bool rewound = ::lseek(fd, 0, SEEK_SET) == 0;
  const std::string second = read_all(fd, read_ok);
  note("read", read_ok);
  note("rewound", rewound);
  note("second_read_equal", read_ok && rewound && first == second && !first.empty());
  note("read_only_descriptor", (::fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  note("write_refused", ::write(fd, "x", 1) < 0);
  const int seals = ::fcntl(fd, F_GET_SEALS);
  note("sealed", seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) ==
                                   (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK));
  // Reopening for writing must not give a way around the seals either.
  const int again = ::open("/proc/self/fd/3", O_RDWR | O_CLOEXEC);
  note("reopened_write_refused", again < 0 || ::write(again, "x", 1) < 0);
  if (again >= 0) {
    ::close(again);
  }
  const bool saved = write_file(std::getenv("SMEM_TEST_OUT"), first);
  return write_file(std::getenv("SMEM_TEST_REPORT"), report) && saved ? 0 : 3;
}

int dispatch(const char* program)
{
  if (std::strcmp(program, "memfd") == 0) {
    return memfd_program();
  }
  return 99;
}

// Runs before main when the binary is started as a child program.
[[maybe_unused]] const int k_child_program = [] {
  if (const char* program = std::getenv("SMEM_TEST_CHILD"); program != nullptr) {
    ::_exit(dispatch(program));
  }
  return 0;
}();

} // namespace
} // namespace smem::cli_test
