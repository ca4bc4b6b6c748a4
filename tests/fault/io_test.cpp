// Fault injection, descriptors (issue 8 part 3): a command that closes its deliveries and its
// standard streams early, and a reader of smem's stdout that quits (`smem run ... | head -1`).
// SPEC 1.1: smem never hangs and never loses the command's status; smem itself ignores SIGPIPE
// (an EPIPE is handled), so a command writing to a reader that quit dies of SIGPIPE as it would
// without smem, and smem ends with that status (128+13, or by the same signal).
#include "fault/fault_util.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace smem::fault_test;
using namespace smem::cli_test;
namespace fs = std::filesystem;

struct Path {
  std::string name;
  Args flags;
};
const Path k_fast{"fast path (--mask=never)", {"--mask=never"}};
const Path k_supervised{"supervised path (--mask=always)", {"--mask=always"}};
const Path k_supervised_unmasked{"supervised path (--timeout 1h --mask=never)",
                                 {"--mask=never", "--timeout", "1h"}};

// Reads from `fd` until `needle` arrived, the writer closed, or the hang limit passed.
std::string read_until(int fd, std::string_view needle)
{
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + k_hang_limit;
  while (!contains(got, needle)) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    char buffer[4096];
    const ssize_t n = ready == 1 ? ::read(fd, buffer, sizeof buffer) : 0;
    if (n <= 0) {
      break;
    }
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

// Whether `pid` is still running (not ended, not a zombie).
bool running(pid_t pid)
{
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] != 'Z';
}

} // namespace

TEST_SUITE("fault/io")
{
  TEST_CASE("a command that closes its deliveries and standard streams early keeps its status")
  {
    TempDir dir;
    Path path = k_supervised;
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    SUBCASE("supervised path without masking")
    {
      path = k_supervised_unmasked;
    }
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    INFO(path.name);
    // The child closes stdin (a 4 MiB --stdin delivery), stdout, stderr and a 4 MiB --fd 3 before
    // reading a byte, says so through a FIFO of the test, and ends (status 9) when told.
    const std::string closed = dir.str("closed");
    const std::string go = dir.str("go");
    REQUIRE(::mkfifo(closed.c_str(), 0600) == 0);
    REQUIRE(::mkfifo(go.c_str(), 0600) == 0);
    const int closed_fd = ::open(closed.c_str(), O_RDWR | O_CLOEXEC); // read-write: never blocks
    REQUIRE(closed_fd >= 0);
    Command c = smem_command(
        dir, Args{"-s", "a=random:4194304", "-s", "b=random:4194304", "--max-size", "8M", "-q", "--stdin",
                  "a", "--fd", "3=b"} +
                 path.flags +
                 Args{"--", "sh", "-c",
                      R"(exec 7<>"$1"; exec 0<&- 1>&- 2>&- 3<&-; echo closed > "$0"; read x <&7; exit 9)",
                      closed, go});
    Process process(c);
    const std::string said = read_until(closed_fd, "closed\n");
    ::close(closed_fd);
    REQUIRE_MESSAGE(said == "closed\n", "the child never said it had closed its descriptors");
    CHECK_MESSAGE(running(process.pid()), "smem ended while its command was still running");
    const int go_fd = ::open(go.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC); // the child holds it open
    REQUIRE(go_fd >= 0);
    REQUIRE(::write(go_fd, "go\n", 3) == 3);
    ::close(go_fd);
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(9));
    CHECK(r.err.empty());
    CHECK(group_empty(process.pid()));
    CHECK(no_files_left(dir));
  }

  TEST_CASE("a command that closes stdout and writes on stderr keeps its stderr and status")
  {
    TempDir dir;
    for (const Path& path : {k_supervised, k_supervised_unmasked, k_fast}) {
      Process process(smem_command(dir, Args{"-s", "k=random:8", "--fd", "3=k"} + path.flags +
                                            Args{"--", "sh", "-c",
                                                 "exec 1>&-; i=0; while [ $i -lt 1000 ]; do i=$((i+1)); "
                                                 "echo \"after-close $i\" >&2; done; exit 9"}));
      const Result r = process.wait();
      INFO(path.name << ": smem " << r.describe() << ", stderr: " << r.err.substr(0, 200));
      CHECK(r.exited(9));
      CHECK(r.out.empty());
      CHECK(lines(r.err).size() == 1000);
      CHECK(contains(r.err, "after-close 1000\n"));
      CHECK(group_empty(process.pid()));
    }
  }

  TEST_CASE("a reader of smem's stdout that quits ends the run promptly with the command's SIGPIPE")
  {
    TempDir dir;
    Path path = k_supervised;
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    SUBCASE("supervised path without masking")
    {
      path = k_supervised_unmasked;
    }
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    INFO(path.name);
    const auto head_1 = [&](Args command) {
      // `smem run ... -- COMMAND | head -1`, with the pipe and the reader in the test.
      Pipe reader;
      Command c = smem_command(dir, Args{"-s", "k=random:8", "--fd", "3=k"} + path.flags + Args{"--"} +
                                        std::move(command));
      c.fds.emplace_back(reader.write, STDOUT_FILENO);
      Process process(c);
      reader.close_write();
      const std::string first = read_until(reader.read, "\n");
      CHECK(first.rfind("fault-line\n", 0) == 0);
      reader.close_read(); // head quits
      const Result r = process.wait();
      CHECK(group_empty(process.pid()));
      return r;
    };

    const Result r = head_1({"yes", "fault-line"});
    INFO("yes: smem " << r.describe() << ", stderr: " << r.err);
    CHECK((r.signaled(SIGPIPE) || r.exited(128 + SIGPIPE)));
    CHECK_FALSE(contains(r.err, "smem: error"));

    // A command that ignores SIGPIPE sees EPIPE and chooses its own status.
    const Result own = head_1({"sh", "-c", "trap '' PIPE; yes fault-line; exit 3"});
    INFO("SIGPIPE ignored: smem " << own.describe() << ", stderr: " << own.err);
    CHECK(own.exited(3));
    CHECK(contains(own.err, "yes: "));
    CHECK_FALSE(contains(own.err, "smem: error"));
  }
}
