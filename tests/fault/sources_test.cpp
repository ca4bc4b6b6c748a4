// Fault injection, sources (issue 8 part 3): no controlling terminal, a cmd: provider that hangs
// and one that floods. SPEC 1.1 has no provider timeout (--timeout is the command's), so a hanging
// provider must end with smem when smem is told to end, and never outlive it.
#include "cli/pty.hpp"
#include "fault/fault_util.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace smem::fault_test;
using namespace smem::cli_test;
namespace fs = std::filesystem;

const std::string k_secret = "f4ult-source-secret";

} // namespace

TEST_SUITE("fault/sources")
{
  TEST_CASE("without a controlling terminal a prompt is 125 naming the other sources, and the rest works")
  {
    TempDir dir;
    const std::string ran = dir.str("ran");
    const auto no_terminal = [&](Args args, std::string stdin_data) {
      Command c = smem_command(dir, std::move(args), std::move(stdin_data));
      c.session = Session::new_session; // setsid: /dev/tty cannot be opened
      c.env.push_back("SMEM_FAULT_SECRET=" + k_secret);
      c.env.push_back(child_env("digest"));
      Process process(c);
      const pid_t pid = process.pid();
      const Result r = process.wait();
      CHECK_FALSE(contains(r.out + r.err, k_secret));
      CHECK(group_empty(pid));
      CHECK(no_files_left(dir));
      return r;
    };
    for (const char* mask : {"--mask=never", "--mask=always"}) {
      INFO(mask);
      // A secret read before the prompt must not leak into its message either.
      const Result prompt =
          no_terminal(Args{"-s", "t=env:SMEM_FAULT_SECRET", "-s", "pw=prompt:Password: ", "--fd", "3=t",
                           "--fd", "4=pw", mask, "--", "touch", ran},
                      "stdin is a pipe, not a terminal\n");
      INFO("prompt: smem " << prompt.describe() << ", stderr: " << prompt.err);
      CHECK(prompt.exited(125));
      CHECK(one_error_line(prompt));
      CHECK(contains(prompt.err, "'pw'"));
      CHECK(contains(prompt.err, "terminal"));
      for (const char* alternative : {"stdin", "env:VAR", "file:PATH", "fd:N", "cmd:COMMAND"}) {
        CHECK_MESSAGE(contains(prompt.err, alternative), "the message does not offer " << alternative);
      }
      CHECK_FALSE(contains(prompt.err, "Password: ")); // asked nowhere: there is no terminal
      CHECK_FALSE(fs::exists(ran));

      // Every other source works without a terminal.
      const std::string piped = "from stdin";
      const Result others = no_terminal(Args{"-s", "t=env:SMEM_FAULT_SECRET", "-s", "i=stdin", "-s",
                                             "c=cmd:printf provided", "--fd", "3=t", "--fd", "4=i", mask} +
                                            child_program({"3", "4", "{c}"}),
                                        piped);
      INFO("other sources: smem " << others.describe() << ", stderr: " << others.err);
      CHECK(others.exited(digest_status(k_secret + piped + "provided")));
      CHECK(others.err.empty());
    }
  }

  TEST_CASE("a hanging cmd: provider ends with smem when smem is signalled, and never outlives it")
  {
    TempDir dir;
    int sig = SIGTERM;
    SUBCASE("SIGTERM")
    {
      sig = SIGTERM;
    }
    SUBCASE("SIGINT")
    {
      sig = SIGINT;
    }
    SUBCASE("SIGHUP")
    {
      sig = SIGHUP;
    }
    SUBCASE("SIGKILL")
    {
      sig = SIGKILL;
    }
    INFO("signal " << sig);
    const std::string pid_file = dir.str("provider.pid");
    const std::string ran = dir.str("ran");
    Command c =
        smem_command(dir, Args{"-s", "t=env:SMEM_FAULT_SECRET", "-s",
                               "x=cmd:echo $$ > " + pid_file + "; echo provider-started >&2; exec sleep 1000",
                               "--fd", "3=t", "--fd", "4=x", "--", "touch", ran});
    c.env.push_back("SMEM_FAULT_SECRET=" + k_secret);
    Process process(c);
    const pid_t smem_pid = process.pid();
    REQUIRE(process.wait_for_stderr("provider-started\n"));
    const pid_t provider = read_pid(pid_file);
    REQUIRE(provider > 0);
    REQUIRE(::kill(smem_pid, sig) == 0);
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK((r.exited(128 + sig) || r.signaled(sig)));
    if (sig != SIGKILL) {
      // Told to end, smem ends the provider, wipes, and says why.
      CHECK(r.exited(128 + sig));
      CHECK(one_error_line(r));
      CHECK(contains(r.err, "provider"));
      CHECK_MESSAGE(::kill(provider, 0) != 0, "the provider was still running when smem had ended");
    }
    CHECK_MESSAGE(ends(provider), "the provider outlived smem");
    if (::kill(provider, 0) == 0) {
      ::kill(provider, SIGKILL);
    }
    CHECK(group_empty(smem_pid));
    CHECK_FALSE(fs::exists(ran));
    CHECK_FALSE(contains(r.out + r.err, k_secret));
    CHECK(no_files_left(dir));
  }

  TEST_CASE("a provider that ignores the first TERM is killed by the second")
  {
    TempDir dir;
    const std::string pid_file = dir.str("provider.pid");
    const std::string fifo = dir.str("never");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Says when it got TERM; waits on a FIFO nobody writes (opened read-write: never EOF).
    Command c =
        smem_command(dir, Args{"-s",
                               "x=cmd:echo $$ > " + pid_file + "; exec 7<>" + fifo +
                                   "; trap 'echo provider-got-TERM >&2' TERM; echo provider-started >&2; "
                                   "while :; do read x <&7; done",
                               "--fd", "3=x", "--", "true"});
    Process process(c);
    REQUIRE(process.wait_for_stderr("provider-started\n"));
    const pid_t provider = read_pid(pid_file);
    REQUIRE(provider > 0);
    REQUIRE(::kill(process.pid(), SIGTERM) == 0);
    REQUIRE(process.wait_for_stderr("provider-got-TERM\n"));
    REQUIRE(::kill(process.pid(), SIGTERM) == 0);
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(128 + SIGTERM));
    CHECK(one_error_line(r));
    CHECK(ends(provider));
    CHECK(group_empty(process.pid()));
  }

  TEST_CASE("a terminal Ctrl-C during a hanging provider reaches it once, and a second one ends it")
  {
    // The terminal signals its whole foreground group, the provider included: smem must not pass
    // that SIGINT on again. The provider survives the first (it traps INT), then tells the test
    // after a round trip through a FIFO, by which time a duplicate would have arrived.
    TempDir dir;
    Pty pty;
    const std::string pid_file = dir.str("provider.pid");
    const std::string log = dir.str("provider.log");
    const std::string fifo = dir.str("provider.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    Command c = smem_command(dir, Args{"-s",
                                       "x=cmd:echo $$ > " + pid_file + "; exec 7<>" + fifo +
                                           "; trap 'echo INT >> " + log +
                                           "; echo provider-got-INT >&2' INT; echo provider-started >&2; "
                                           "while :; do read x <&7 && echo \"provider-read $x\" >&2; done",
                                       "--fd", "3=x", "--", "true"});
    c.controlling_tty = pty.slave;
    Process process(c);
    REQUIRE(process.wait_for_stderr("provider-started\n"));
    const pid_t provider = read_pid(pid_file);
    REQUIRE(provider > 0);
    pty.type("\x03");
    REQUIRE(process.wait_for_stderr("provider-got-INT\n"));
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "sync\n", 5) == 5);
    ::close(fd);
    REQUIRE(process.wait_for_stderr("provider-read sync\n"));
    CHECK(read_file(log) == "INT\n");
    pty.type("\x03"); // the second: smem stops waiting (SIGKILL for the provider)
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(128 + SIGINT));
    CHECK(contains(r.err, "smem: error: interrupted while waiting for provider"));
    CHECK(ends(provider));
    CHECK(group_empty(process.pid()));
  }

  TEST_CASE("a provider that writes 10 MiB is 125 too large, killed and reaped, and nothing of it shows")
  {
    TempDir dir;
    const std::string pid_file = dir.str("provider.pid");
    const std::string ran = dir.str("ran");
    // One process (exec), so the pid it writes is the provider's: 10 MiB of zeros.
    Command c =
        smem_command(dir, Args{"-s", "x=cmd:echo $$ > " + pid_file + "; exec head -c 10485760 /dev/zero",
                               "--fd", "3=x", "--", "touch", ran});
    Process process(c);
    const pid_t smem_pid = process.pid();
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(125));
    CHECK(one_error_line(r));
    CHECK(contains(r.err, "secret 'x'"));
    CHECK(contains(r.err, "--max-size"));
    CHECK(r.out.empty()); // and stderr is the one error line: nothing of the provider's output
    CHECK_FALSE(fs::exists(ran));
    const pid_t provider = read_pid(pid_file);
    REQUIRE(provider > 0);
    CHECK_MESSAGE(::kill(provider, 0) != 0,
                  "the provider was still running (or not reaped) when smem had ended");
    CHECK(ends(provider));
    CHECK(group_empty(smem_pid));
    CHECK(no_files_left(dir));
  }
}
