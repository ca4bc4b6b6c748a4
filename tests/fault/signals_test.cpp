// Fault injection, signals (issue 8 part 3): a signal every millisecond during a whole run. The
// signals are the harmless ones an unlucky environment sends (SIGWINCH from a resizing terminal,
// SIGURG, a stray SIGCHLD, SIGCONT, and a SIGSTOP + SIGCONT pair as job control does): smem must
// finish with the right output and status however often a system call is interrupted or a
// spurious wake-up arrives (EINTR and stray events handled everywhere).
//
// The run is gated at each phase so the signals provably overlap it: smem waiting for a cmd:
// provider, reading its stdin, filling the deliveries, relaying and masking the command's output.
#include "fault/fault_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace smem::fault_test;
using namespace smem::cli_test;

const std::string k_secret = "f4ult-signal-secret";

// Sends a signal to `pid` every millisecond until stopped; counts them.
class Spammer {
public:
  explicit Spammer(pid_t pid) : m_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)))
  {
    REQUIRE(m_pidfd >= 0);
    m_thread = std::thread([this] { spam(); });
  }
  ~Spammer()
  {
    stop();
    ::close(m_pidfd);
  }
  Spammer(const Spammer&) = delete;
  Spammer& operator=(const Spammer&) = delete;

  void stop()
  {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }

  // Waits (bounded by the hang limit) until `more` further signals have been sent.
  bool wait_for(int more)
  {
    std::unique_lock lock(m_mutex);
    const int target = m_sent + more;
    return m_changed.wait_for(lock, k_hang_limit, [&] { return m_sent >= target; });
  }

  [[nodiscard]] int sent()
  {
    const std::lock_guard lock(m_mutex);
    return m_sent;
  }

private:
  void send(int sig) const { ::syscall(SYS_pidfd_send_signal, m_pidfd, sig, nullptr, 0); }

  void spam()
  {
    constexpr int k_rotation[] = {SIGWINCH, SIGURG,  SIGCHLD,  SIGCONT, SIGWINCH,
                                  SIGURG,   SIGCHLD, SIGWINCH, SIGURG};
    for (std::size_t i = 0; !m_stop; ++i) {
      if (i % 10 == 9) {
        send(SIGSTOP); // job control: stopped and continued at once
        send(SIGCONT);
      } else {
        send(k_rotation[i % std::size(k_rotation)]);
      }
      {
        const std::lock_guard lock(m_mutex);
        ++m_sent;
      }
      m_changed.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(1)); // the pace, not a synchronisation
    }
  }

  int m_pidfd;
  std::atomic<bool> m_stop{false};
  std::mutex m_mutex;
  std::condition_variable m_changed;
  int m_sent = 0;
  std::thread m_thread;
};

// Writes `text` to a FIFO the reader holds open read-write (so this never blocks).
bool release(const std::string& fifo)
{
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  const bool ok = fd >= 0 && ::write(fd, "go\n", 3) == 3;
  if (fd >= 0) {
    ::close(fd);
  }
  return ok;
}

struct Path {
  std::string name;
  Args flags;
  bool masked;
  bool supervised;
};

} // namespace

TEST_SUITE("fault/signals")
{
  TEST_CASE("a signal every millisecond during a whole run changes nothing")
  {
    TempDir dir;
    Path path{"supervised path (--mask=always)", {"--mask=always"}, true, true};
    SUBCASE("supervised path")
    {
      path = Path{"supervised path (--mask=always)", {"--mask=always"}, true, true};
    }
    SUBCASE("supervised path without masking")
    {
      path = Path{
          "supervised path (--timeout 1h --mask=never)", {"--mask=never", "--timeout", "1h"}, false, true};
    }
    SUBCASE("fast path")
    {
      path = Path{"fast path (--mask=never)", {"--mask=never"}, false, false};
    }
    INFO(path.name);
    const std::string provider_go = dir.str("provider-go");
    const std::string child_go = dir.str("child-go");
    REQUIRE(::mkfifo(provider_go.c_str(), 0600) == 0);
    REQUIRE(::mkfifo(child_go.c_str(), 0600) == 0);
    std::string piped;
    for (int i = 0; piped.size() < 512 * 1024; ++i) {
      piped += "stdin line " + std::to_string(i) + "\n";
    }
    constexpr int k_lines = 5000;
    const std::string got = dir.str("got");
    Command c = smem_command(
        dir,
        Args{"-s",
             "p=cmd:exec 7<>" + provider_go +
                 "; echo provider-ready >&2; read x <&7; head -c 200000 /dev/zero | tr '\\0' p",
             "-s", "i=stdin", "-s", "t=env:SMEM_FAULT_SECRET", "--fd", "3=p", "--fd", "4=i", "--fd", "5=t",
             "-q"} +
            path.flags +
            Args{
                "--", "sh", "-c",
                R"(exec 7<>"$1"; wc -c <&3 > "$0.p"; cat <&4 > "$0.i"; t=$(cat <&5); echo ready; read x <&7; )"
                R"(i=0; while [ $i -lt )" +
                    std::to_string(k_lines) + R"( ]; do i=$((i+1)); echo "$t $i"; done; exit 42)",
                got, child_go},
        std::nullopt);
    c.env.push_back("SMEM_FAULT_SECRET=" + k_secret);
    Process process(c);
    Spammer spammer(process.pid());

    // smem waits for the provider.
    REQUIRE(process.wait_for_stderr("provider-ready\n"));
    REQUIRE(spammer.wait_for(200));
    REQUIRE(release(provider_go));
    // smem reads its stdin.
    REQUIRE(spammer.wait_for(200));
    process.write_stdin(piped);
    process.close_stdin();
    // The command has everything; on the supervised path smem now waits in its loop.
    REQUIRE(process.wait_for_stdout("ready\n"));
    if (path.supervised) {
      REQUIRE(spammer.wait_for(300));
    } else {
      spammer.stop(); // smem became the command: the rest is the command's business
    }
    REQUIRE(release(child_go));
    const Result r = process.wait();
    spammer.stop();
    MESSAGE(path.name << ": " << spammer.sent() << " signals sent to smem");
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(42));
    CHECK(r.err == "provider-ready\n");
    CHECK(read_file(got + ".p") == "200000\n");
    CHECK_MESSAGE(read_file(got + ".i") == piped, "the stdin secret did not arrive intact");
    std::string expected = "ready\n";
    for (int i = 1; i <= k_lines; ++i) {
      expected += (path.masked ? "***" : k_secret) + " " + std::to_string(i) + "\n";
    }
    const auto first_difference = std::mismatch(r.out.begin(), r.out.end(), expected.begin(), expected.end());
    CHECK_MESSAGE(r.out == expected, "stdout differs from byte "
                                         << (first_difference.first - r.out.begin()) << " of "
                                         << expected.size() << " on: "
                                         << std::string(first_difference.first,
                                                        std::min(first_difference.first + 40, r.out.end())));
    CHECK(group_empty(process.pid()));
    CHECK(no_files_left(dir));
  }
}
