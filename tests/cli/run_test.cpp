// Black-box tests of `smem run` (SPEC 1.1, issue 3): the real binary, started with fork/exec, with
// its sources, deliveries, exit statuses and process semantics checked from the outside.
//
// Rules: a temporary directory per test; no sleeps and no timing assertions (a child prints a
// marker, the test reads it, bounded by the hang detector of process.hpp); children write what
// they received to files in the test's directory, never to stdout, so a masker cannot change what
// the test sees; secrets here are test-only dummies.
#include "cli/process.hpp"
#include "cli/pty.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <iterator>
#include <map>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <set>
#include <string>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace smem::cli_test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string k_secret = "s3cr3t-value";
const std::string k_token = "t0ken-from-env-0123";

using Args = std::vector<std::string>;

Args operator+(Args a, const Args& b)
{
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// `smem run ARGS` in `dir`, with the tests' environment and `stdin_data` on stdin.
Command smem_command(const TempDir& dir, Args args, std::optional<std::string> stdin_data = std::string())
{
  Command c;
  c.argv = smem_run(std::move(args));
  c.env = base_env(dir);
  c.stdin_data = std::move(stdin_data);
  c.cwd = dir.str();
  return c;
}

Result run_smem(const TempDir& dir, Args args, std::string stdin_data = {})
{
  return run(smem_command(dir, std::move(args), std::move(stdin_data)));
}

// The two launch paths of SPEC/issue 3: the fast path replaces smem with the command, the
// supervised path runs it as a child behind one poll loop.
struct LaunchPath {
  std::string name;
  Args flags;
};
const LaunchPath k_fast{"fast path (--mask=never)", {"--mask=never"}};
const LaunchPath k_supervised{"supervised path (--mask=always)", {"--mask=always"}};
const LaunchPath k_supervised_unmasked{"supervised path (--timeout 1h --mask=never)",
                                       {"--mask=never", "--timeout", "1h"}};

// `sh -c SCRIPT OUT ARGS...`: the script sees the output path as "$0".
Args sh(const std::string& script, const std::string& out, Args args = {})
{
  return Args{"--", "sh", "-c", script, out} + args;
}

bool is_usage_error(const Result& r)
{
  return r.exited(125) && r.err.rfind("smem: error: ", 0) == 0;
}

bool all_of_chars(const std::string& s, std::string_view alphabet)
{
  return !s.empty() && s.find_first_not_of(alphabet) == std::string::npos;
}

enum class Depth { flat, recursive };

// The names under `dir` (relative paths when recursive).
std::set<std::string> listing(const fs::path& dir, Depth depth)
{
  std::set<std::string> names;
  std::error_code ec;
  if (depth == Depth::recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      names.insert(fs::relative(it->path(), dir).string());
    }
  } else {
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      names.insert(it->path().filename().string());
    }
  }
  return names;
}

std::set<int> fd_numbers(const std::string& ls_output)
{
  std::set<int> fds;
  for (const std::string& line : lines(ls_output)) {
    if (!line.empty()) {
      fds.insert(std::stoi(line));
    }
  }
  return fds;
}

std::string join(const std::set<int>& numbers)
{
  std::string text;
  for (const int n : numbers) {
    text += (text.empty() ? "" : " ") + std::to_string(n);
  }
  return text;
}

// The number N of a "/dev/fd/N" argument, or -1.
int dev_fd_number(std::string_view arg)
{
  constexpr std::string_view prefix = "/dev/fd/";
  if (arg.substr(0, prefix.size()) != prefix || arg.size() == prefix.size() ||
      arg.find_first_not_of("0123456789", prefix.size()) != std::string_view::npos) {
    return -1;
  }
  return std::stoi(std::string(arg.substr(prefix.size())));
}

// ----- pseudo-terminal helpers: cli/pty.hpp ---------------------------------------------------

// SPEC: "echo off" for the prompt. Typing is safe only once echo is off (and the TCSAFLUSH that
// turns it off has run, or it would discard the typed line). A correct smem turns echo off BEFORE
// showing the prompt, so the prompt being visible is the sync point and this check passes at
// once. If it does not, the check fails (the bug is reported) and the test waits, yielding, for
// echo to go off so the rest of the test still runs deterministically.
void check_echo_off_when_prompt_visible(const Pty& pty, Clock::time_point deadline)
{
  const bool off_at_once = !pty.echo_on();
  CHECK_MESSAGE(off_at_once, "the prompt became visible while the terminal still echoed: a user (or expect) "
                             "typing right after the prompt may see the secret echoed, or lose it to the "
                             "TCSAFLUSH that turns echo off afterwards");
  while (pty.echo_on() && Clock::now() < deadline) {
    ::sched_yield();
  }
  REQUIRE_FALSE(pty.echo_on());
}

// The signal-forwarding child: records every `sig` it receives in "$0" (one line each) and says
// "got-signal" on stdout; exits 0 when it reads "stop" on stdin. `read` is interrupted by the
// trap, which is told apart from EOF by the trap counter (EOF without a trap: exit 8).
std::string recording_child(const std::string& sig)
{
  return "t=0; s=0; trap 't=$((t+1)); echo " + sig + " >> \"$0\"; echo got-signal' " + sig +
         "; echo ready; while :; do if read x; then [ \"$x\" = stop ] && exit 0; "
         "elif [ $t = $s ]; then exit 8; else s=$t; fi; done";
}

// Whether this process may use a private mount namespace (root, and unshare allowed here).
bool private_mounts_available()
{
  if (::geteuid() != 0) {
    return false;
  }
  return run_probe(-1, [] {
           return ::unshare(CLONE_NEWNS) == 0 &&
                          ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0
                      ? 0
                      : 1;
         }) == 0;
}

// The smem binary, where `uid` can execute it (copied into `dir` with 0755 if needed).
std::string binary_for(int uid, const TempDir& dir)
{
  const std::string binary = smem_binary();
  if (uid < 0 || run_probe(uid, [&] { return ::access(binary.c_str(), X_OK) == 0 ? 0 : 1; }) == 0) {
    return binary;
  }
  const fs::path copy = dir.path() / "bin" / "smem";
  fs::create_directories(copy.parent_path());
  fs::copy_file(binary, copy);
  for (const fs::path& p : {dir.path(), copy.parent_path(), copy}) {
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  }
  return copy.string();
}

std::string as_user(int uid)
{
  if (uid < 0) {
    return {};
  }
  const auto id = static_cast<uid_t>(uid);
  if (::setgroups(0, nullptr) != 0 || ::setgid(id) != 0 || ::setuid(id) != 0) {
    return "cannot become uid " + std::to_string(uid);
  }
  return {};
}

} // namespace

TEST_SUITE("cli/run")
{
  // ----- sources ---------------------------------------------------------------------------------

  TEST_CASE("stdin source is byte-exact")
  {
    TempDir dir;
    const std::string value("a\0b\r\n\xff\x01 end\n\n", 13);
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    const Result r = run_smem(
        dir, Args{"-s", "x=stdin", "--fd", "3=x"} + path.flags + sh(R"(cat <&3 > "$0")", dir.str("got")),
        value);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == value);
  }

  TEST_CASE("env source gives the value and removes VAR from the child's environment")
  {
    TempDir dir;
    Command c = smem_command(
        dir,
        Args{"-s", "t=env:SMEM_TEST_TOKEN", "--fd", "3=t", "--mask=never"} +
            sh(R"(cat <&3 > "$0"; cat /proc/$$/environ > "$0.environ"; )"
               R"(if [ -n "${SMEM_TEST_TOKEN+set}" ]; then echo present; else echo absent; fi > "$0.var")",
               dir.str("got")));
    c.env.push_back("SMEM_TEST_TOKEN=" + k_token);
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == k_token);
    CHECK(read_file(dir.path() / "got.var") == "absent\n");
    CHECK_FALSE(contains(read_file(dir.path() / "got.environ"), k_token));

    SUBCASE("an unset VAR is a failure of smem, 125, naming it")
    {
      const Result unset =
          run_smem(dir, Args{"-s", "t=env:SMEM_TEST_UNSET_VAR", "--fd", "3=t", "--", "true"});
      CHECK(is_usage_error(unset));
      CHECK(contains(unset.err, "SMEM_TEST_UNSET_VAR"));
    }
  }

  TEST_CASE("file source is byte-exact")
  {
    TempDir dir;
    const std::string value("key\0with NUL\n\n", 15);
    write_file(dir.path() / "key", value);
    const Result r = run_smem(dir, Args{"-s", "k=file:" + dir.str("key"), "--fd", "3=k", "--mask=never"} +
                                       sh(R"(cat <&3 > "$0")", dir.str("got")));
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == value);

    SUBCASE("a missing file is 125 naming the path, and no other secret leaks into the message")
    {
      Command c = smem_command(dir, Args{"-s", "a=env:SMEM_TEST_TOKEN", "-s", "b=file:" + dir.str("missing"),
                                         "--fd", "3=a", "--fd", "4=b", "--", "touch", dir.str("ran")});
      c.env.push_back("SMEM_TEST_TOKEN=" + k_token);
      const Result missing = run(c);
      CHECK(is_usage_error(missing));
      CHECK(contains(missing.err, dir.str("missing")));
      CHECK_FALSE(contains(missing.err, k_token));
      CHECK_FALSE(fs::exists(dir.path() / "ran"));
    }
  }

  TEST_CASE("fd source reads everything from an inherited descriptor")
  {
    TempDir dir;
    const std::string value("from\0a pipe\n", 12);
    Pipe pipe;
    REQUIRE(::write(pipe.write, value.data(), value.size()) == static_cast<ssize_t>(value.size()));
    pipe.close_write();
    Command c = smem_command(
        dir,
        Args{"-s", "k=fd:5", "--fd", "3=k", "--mask=never"} +
            sh(R"(cat <&3 > "$0"; if [ -e /proc/$$/fd/5 ]; then echo open; else echo closed; fi > "$0.fd5")",
               dir.str("got")));
    c.fds.emplace_back(pipe.read, 5);
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == value);
    CHECK(read_file(dir.path() / "got.fd5") == "closed\n"); // consumed, not passed on

    SUBCASE("a descriptor that is not open is 125 naming it")
    {
      const Result closed = run_smem(dir, Args{"-s", "k=fd:9", "--fd", "3=k", "--", "true"});
      CHECK(is_usage_error(closed));
      CHECK(contains(closed.err, "9"));
    }
  }

  TEST_CASE("cmd source captures the provider's stdout and passes its stderr through")
  {
    TempDir dir;
    const Result r = run_smem(dir, Args{"-s", "k=cmd:printf %s " + k_secret + "; echo provider-note >&2",
                                        "--fd", "3=k", "--mask=never"} +
                                       sh(R"(cat <&3 > "$0")", dir.str("got")));
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == k_secret);
    CHECK(contains(r.err, "provider-note"));
  }

  TEST_CASE("cmd source with a failing provider is 125 naming it and the command never runs")
  {
    TempDir dir;
    write_file(dir.path() / "fake-vault",
               "#!/bin/sh\nprintf %s " + k_secret + "\necho 'fake-vault: permission denied' >&2\nexit 3\n");
    fs::permissions(dir.path() / "fake-vault", fs::perms::owner_all);
    const Result r =
        run_smem(dir, Args{"-s", "k=cmd:" + dir.str("fake-vault") + " kv get -field=pw secret/db", "--fd",
                           "3=k", "--", "touch", dir.str("ran")});
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(125));
    CHECK(contains(r.err, "fake-vault: permission denied")); // the provider's own message
    CHECK(contains(r.err, "smem: error: "));
    CHECK(contains(r.err, "fake-vault"));
    CHECK_FALSE(contains(r.err, k_secret)); // what it printed before failing stays secret
    CHECK_FALSE(fs::exists(dir.path() / "ran"));
  }

  TEST_CASE("random source in raw and hex and base64 forms")
  {
    TempDir dir;
    const auto random = [&](const std::string& source) {
      const Result r = run_smem(dir, Args{"-s", "r=" + source, "--fd", "3=r", "--mask=never"} +
                                         sh(R"(cat <&3 > "$0")", dir.str("got")));
      INFO(source << ": smem " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(0));
      return read_file(dir.path() / "got");
    };
    SUBCASE("raw: BYTES bytes, different each time")
    {
      const std::string a = random("random:32");
      const std::string b = random("random:32");
      CHECK(a.size() == 32);
      CHECK(b.size() == 32);
      CHECK_FALSE(a == b);
      CHECK(random("random:1").size() == 1);
    }
    SUBCASE(":hex is 2*BYTES lower-case hex digits")
    {
      const std::string hex = random("random:16:hex");
      CHECK(hex.size() == 32);
      CHECK(all_of_chars(hex, "0123456789abcdef"));
    }
    SUBCASE(":base64 is standard padded base64 of BYTES bytes")
    {
      constexpr std::string_view alphabet =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
      const std::string b16 = random("random:16:base64");
      CHECK(b16.size() == 24);
      CHECK(all_of_chars(b16, alphabet));
      CHECK(b16.substr(22) == "==");
      const std::string b30 = random("random:30:base64");
      CHECK(b30.size() == 40);
      CHECK(all_of_chars(b30, alphabet));
      CHECK(b30.find('=') == std::string::npos);
    }
  }

  TEST_CASE("prompt source asks on the terminal with echo off even with stdin piped and restores it")
  {
    TempDir dir;
    Pty pty;
    const termios before = pty.attributes();
    REQUIRE((before.c_lflag & ECHO) != 0);
    std::string spec;
    std::string prompt_text;
    SUBCASE("prompt:TEXT")
    {
      spec = "pw=prompt:Password for db: ";
      prompt_text = "Password for db: ";
    }
    SUBCASE("-s NAME alone is a prompt naming the secret")
    {
      spec = "pw";
      prompt_text = "pw";
    }
    Command c = smem_command(
        dir, Args{"-s", spec, "--fd", "3=pw", "--mask=never"} + sh(R"(cat <&3 > "$0")", dir.str("got")),
        std::string("stdin is not the terminal\n"));
    c.controlling_tty = pty.slave;
    Process process(c);
    const auto deadline = Clock::now() + k_hang_limit;
    REQUIRE_MESSAGE(pty.read_until(prompt_text, deadline), "the prompt text never appeared on the terminal");
    check_echo_off_when_prompt_visible(pty, deadline);
    pty.type(k_secret + "\n");
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == k_secret); // the newline is not part of the secret
    REQUIRE(pty.drain(deadline));
    CHECK_MESSAGE(!contains(pty.shown, k_secret), "the typed secret was echoed on the terminal");
    const termios after = pty.attributes();
    CHECK((after.c_lflag & ECHO) != 0);
    CHECK(after.c_lflag == before.c_lflag);
    CHECK(after.c_iflag == before.c_iflag);
  }

  TEST_CASE("prompt source interrupted by Ctrl-C or a signal exits 128+N with the terminal restored")
  {
    TempDir dir;
    Pty pty;
    const termios before = pty.attributes();
    Command c = smem_command(dir, Args{"-s", "pw=prompt:Password: ", "--fd", "3=pw", "--mask=never", "--",
                                       "touch", dir.str("ran")});
    c.controlling_tty = pty.slave;
    Process process(c);
    const auto deadline = Clock::now() + k_hang_limit;
    REQUIRE(pty.read_until("Password: ", deadline));
    check_echo_off_when_prompt_visible(pty, deadline);
    int sig = SIGINT;
    SUBCASE("Ctrl-C on the terminal")
    {
      pty.type("s3cr\x03");
    }
    SUBCASE("SIGTERM sent to smem")
    {
      pty.type("s3cr");
      sig = SIGTERM;
      REQUIRE(::kill(process.pid(), SIGTERM) == 0);
    }
    SUBCASE("SIGHUP sent to smem")
    {
      sig = SIGHUP;
      REQUIRE(::kill(process.pid(), SIGHUP) == 0);
    }
    const Result r = process.wait();
    INFO("signal " << sig << ": smem " << r.describe() << ", stderr: " << r.err);
    CHECK((r.exited(128 + sig) || r.signaled(sig)));
    CHECK_FALSE(fs::exists(dir.path() / "ran"));
    const termios after = pty.attributes();
    CHECK((after.c_lflag & ECHO) != 0);
    CHECK(after.c_lflag == before.c_lflag);
  }

  TEST_CASE("prompt source without a terminal is 125 with a message")
  {
    TempDir dir;
    Command c = smem_command(dir, Args{"-s", "pw=prompt", "--fd", "3=pw", "--", "touch", dir.str("ran")},
                             std::string("piped, not a terminal\n"));
    c.session = Session::new_session; // no controlling terminal: /dev/tty cannot be opened
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(is_usage_error(r));
    CHECK(contains(r.err, "terminal"));
    CHECK_FALSE(fs::exists(dir.path() / "ran"));
  }

  TEST_CASE("--trim strips one trailing newline or CRLF and nothing else")
  {
    TempDir dir;
    const std::map<std::string, std::string> cases{{"value\n", "value"},
                                                   {"value\r\n", "value"},
                                                   {"value\n\n", "value\n"},
                                                   {"value", "value"},
                                                   {"va\nlue", "va\nlue"},
                                                   {"value\r", "value\r"},
                                                   {"\n", ""}};
    for (const auto& entry : cases) {
      const std::string& input = entry.first;
      const std::string& expected = entry.second;
      write_file(dir.path() / "key", input);
      const Result r =
          run_smem(dir, Args{"-s", "k=file:" + dir.str("key"), "--trim", "--fd", "3=k", "--mask=never"} +
                            sh(R"(cat <&3 > "$0")", dir.str("got")));
      INFO("input of " << input.size() << " bytes: smem " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(0));
      CHECK(read_file(dir.path() / "got") == expected);
    }
    SUBCASE("from stdin too")
    {
      const Result r = run_smem(dir,
                                Args{"-s", "k=stdin", "--trim", "--fd", "3=k", "--mask=never"} +
                                    sh(R"(cat <&3 > "$0")", dir.str("got")),
                                "line\n");
      CHECK(r.exited(0));
      CHECK(read_file(dir.path() / "got") == "line");
    }
  }

  TEST_CASE("--max-size refuses a larger secret with 125 and defaults to 1 MiB")
  {
    TempDir dir;
    const Args child = sh(R"(wc -c <&3 > "$0")", dir.str("count"));
    SUBCASE("--max-size 1K")
    {
      const Result over = run_smem(dir, Args{"-s", "k=stdin", "--fd", "3=k", "--max-size", "1K"} + child,
                                   std::string(1025, 'x'));
      CHECK(is_usage_error(over));
      CHECK(contains(over.err, "--max-size"));
      const Result at = run_smem(dir, Args{"-s", "k=stdin", "--fd", "3=k", "--max-size", "1K"} + child,
                                 std::string(1024, 'x'));
      CHECK(at.exited(0));
      CHECK(read_file(dir.path() / "count") == "1024\n");
      const Result random =
          run_smem(dir, Args{"-s", "k=random:2048", "--fd", "3=k", "--max-size", "1K"} + child);
      CHECK(is_usage_error(random));
    }
    SUBCASE("default 1 MiB")
    {
      write_file(dir.path() / "big", std::string((1 << 20) + 1, 'x'));
      const Result over = run_smem(dir, Args{"-s", "k=file:" + dir.str("big"), "--fd", "3=k"} + child);
      CHECK(is_usage_error(over));
      CHECK(contains(over.err, "--max-size"));
      const Result at =
          run_smem(dir, Args{"-s", "k=stdin", "--fd", "3=k"} + child, std::string(1 << 20, 'x'));
      INFO("smem: " << at.describe() << ", stderr: " << at.err);
      CHECK(at.exited(0));
      CHECK(read_file(dir.path() / "count") == "1048576\n");
    }
  }

  // ----- deliveries ------------------------------------------------------------------------------

  TEST_CASE("--fd N=NAME is a pipe yielding the exact secret on both launch paths")
  {
    TempDir dir;
    const std::string value("exact\0bytes\r\n\n", 14);
    write_file(dir.path() / "key", value);
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    SUBCASE("supervised path without masking")
    {
      path = k_supervised_unmasked;
    }
    INFO(path.name);
    const Result r = run_smem(
        dir, Args{"-s", "k=file:" + dir.str("key"), "--fd", "3=k", "--fd", "6=k"} + path.flags +
                 sh(R"(cat <&3 > "$0"; cat <&6 > "$0.6"; [ -p /proc/$$/fd/3 ] && echo pipe > "$0.kind")",
                    dir.str("got")));
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == value);
    CHECK(read_file(dir.path() / "got.6") == value);
    CHECK(read_file(dir.path() / "got.kind") == "pipe\n");
  }

  TEST_CASE("--fd N=NAME:memfd is sealed and read-only and re-readable after lseek")
  {
    TempDir dir;
    const std::string value("memfd\0value\n", 12);
    write_file(dir.path() / "key", value);
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    Command c = smem_command(dir, Args{"-s", "k=file:" + dir.str("key"), "--fd", "3=k:memfd"} + path.flags +
                                      Args{"--", self_binary()});
    c.env.push_back("SMEM_TEST_CHILD=memfd");
    c.env.push_back("SMEM_TEST_OUT=" + dir.str("got"));
    c.env.push_back("SMEM_TEST_REPORT=" + dir.str("report"));
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == value);
    const auto report = lines(read_file(dir.path() / "report"));
    CHECK(report.size() == 7);
    for (const std::string& line : report) {
      INFO(line);
      CHECK(line.substr(line.size() - 2) == "=1");
    }
  }

  TEST_CASE("--stdin NAME gives the child a standard input yielding the secret then EOF")
  {
    TempDir dir;
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    write_file(dir.path() / "key", k_secret + "\n");
    const Result r = run_smem(dir,
                              Args{"-s", "k=file:" + dir.str("key"), "--stdin", "k"} + path.flags +
                                  sh(R"(cat > "$0")", dir.str("got")),
                              "smem's own stdin, not for the child\n");
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(dir.path() / "got") == k_secret + "\n");
  }

  TEST_CASE("--env VAR=NAME sets the variable and warns on stderr unless --quiet")
  {
    TempDir dir;
    write_file(dir.path() / "key", k_secret);
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    const Args child = sh(R"(printf %s "$SMEM_TEST_V" > "$0")", dir.str("got"));
    const Result loud =
        run_smem(dir, Args{"-s", "k=file:" + dir.str("key"), "--env", "SMEM_TEST_V=k"} + path.flags + child);
    INFO("smem: " << loud.describe() << ", stderr: " << loud.err);
    CHECK(loud.exited(0));
    CHECK(read_file(dir.path() / "got") == k_secret);
    CHECK(contains(loud.err, "warning"));
    CHECK(contains(loud.err, "SMEM_TEST_V"));
    CHECK_FALSE(contains(loud.err, k_secret));

    fs::remove(dir.path() / "got");
    const Result quiet =
        run_smem(dir, Args{"-s", "k=file:" + dir.str("key"), "--env", "SMEM_TEST_V=k", "--quiet"} +
                          path.flags + child);
    CHECK(quiet.exited(0));
    CHECK(read_file(dir.path() / "got") == k_secret);
    CHECK(quiet.err.empty());
  }

  TEST_CASE("placeholders in arguments become /dev/fd/N pipes with brace escapes and other braces kept")
  {
    TempDir dir;
    write_file(dir.path() / "key", k_secret);
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    const std::string script = R"(printf '%s\n' "$@" > "$0"; cat "$1" > "$0.first"; )"
                               R"(m=${3#pre-}; m=${m%-post}; cat "$m" > "$0.second"; cat <&3 > "$0.fd3")";
    const Result r =
        run_smem(dir, Args{"-s", "x=file:" + dir.str("key"), "--fd", "3=x"} + path.flags +
                          sh(script, dir.str("args"),
                             {"{x}", "a{{b}}c", "pre-{x}-post", R"({"a":1})", "awk '{print $1}'", "{{x}}"}));
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    REQUIRE(r.exited(0));
    const auto args = lines(read_file(dir.path() / "args"));
    REQUIRE(args.size() == 6);
    const int first = dev_fd_number(args[0]);
    const int second = dev_fd_number(args[2].substr(4, args[2].size() - 9));
    INFO("arguments: " << args[0] << " | " << args[2]);
    CHECK(first >= 3);
    CHECK(second >= 3);
    CHECK(first != 3); // --fd 3 is taken
    CHECK(second != 3);
    CHECK(first != second);
    CHECK(args[2].substr(0, 4) == "pre-");
    CHECK(args[2].substr(args[2].size() - 5) == "-post");
    CHECK(args[1] == "a{b}c");
    CHECK(args[3] == R"({"a":1})");
    CHECK(args[4] == "awk '{print $1}'");
    CHECK(args[5] == "{x}");
    CHECK(read_file(dir.path() / "args.first") == k_secret);
    CHECK(read_file(dir.path() / "args.second") == k_secret);
    CHECK(read_file(dir.path() / "args.fd3") == k_secret);
  }

  // ----- usage errors ----------------------------------------------------------------------------

  TEST_CASE("usage errors are 125 with smem: error: before any source is read")
  {
    TempDir dir;
    // A source with a visible side effect: a usage error must not cost the user a prompt or a
    // provider call.
    const std::string probe = "x=cmd:touch " + dir.str("source-ran");
    const Args child{"--", "touch", dir.str("ran")};
    Args args;
    std::string mentions;
    SUBCASE("undefined {name} in an argument")
    {
      args = Args{"-s", probe, "--fd", "3=x", "--", "touch", dir.str("ran"), "--key={nope}"};
      mentions = "nope";
    }
    SUBCASE("a defined but undelivered secret")
    {
      args = Args{"-s", probe, "-s", "unused=random:8", "--fd", "3=x"} + child;
      mentions = "unused";
    }
    SUBCASE("a delivery of an undefined secret")
    {
      args = Args{"-s", probe, "--fd", "3=x", "--fd", "4=other"} + child;
      mentions = "other";
    }
    SUBCASE("a duplicate name")
    {
      args = Args{"-s", probe, "-s", "x=random:8", "--fd", "3=x"} + child;
      mentions = "x";
    }
    SUBCASE("the same --fd twice")
    {
      args = Args{"-s", probe, "-s", "y=random:8", "--fd", "3=x", "--fd", "3=y"} + child;
      mentions = "3";
    }
    SUBCASE("a missing --")
    {
      args = Args{"-s", probe, "--fd", "3=x", "touch", dir.str("ran")};
      mentions = "--";
    }
    SUBCASE("no command after --")
    {
      args = Args{"-s", probe, "--fd", "3=x", "--"};
      mentions = "command";
    }
    SUBCASE("--fd below 3")
    {
      args = Args{"-s", probe, "--fd", "2=x"} + child;
      mentions = "3";
    }
    SUBCASE("an unknown source")
    {
      args = Args{"-s", probe, "-s", "y=vault:db", "--fd", "3=x", "--fd", "4=y"} + child;
      mentions = "unknown source";
    }
    SUBCASE("a bad --mask")
    {
      args = Args{"-s", probe, "--fd", "3=x", "--mask=sometimes"} + child;
      mentions = "mask";
    }
    const Result r = run_smem(dir, args);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(is_usage_error(r));
    CHECK(contains(r.err, mentions));
    CHECK_FALSE(fs::exists(dir.path() / "source-ran"));
    CHECK_FALSE(fs::exists(dir.path() / "ran"));
  }

  // ----- process semantics -----------------------------------------------------------------------

  TEST_CASE("exit status is the command's: 0 42 126 127 and 143 or SIGTERM")
  {
    TempDir dir;
    write_file(dir.path() / "not-executable", "#!/bin/sh\nexit 0\n");
    fs::permissions(dir.path() / "not-executable", fs::perms::owner_read | fs::perms::owner_write);
    fs::create_directories(dir.path() / "a-directory");
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    SUBCASE("supervised path without masking")
    {
      path = k_supervised_unmasked;
    }
    INFO(path.name);
    const auto status = [&](Args command) {
      return run_smem(dir,
                      Args{"-s", "k=random:8", "--fd", "3=k"} + path.flags + Args{"--"} + std::move(command));
    };
    CHECK(status({"true"}).exited(0));
    CHECK(status({"sh", "-c", "exit 42"}).exited(42));
    const Result not_executable = status({dir.str("not-executable")});
    INFO("126: " << not_executable.describe() << ", stderr: " << not_executable.err);
    CHECK(not_executable.exited(126));
    CHECK(contains(not_executable.err, "smem: error: "));
    CHECK(status({dir.str("a-directory")}).exited(126));
    const Result not_found = status({"smem-test-no-such-command"});
    INFO("127: " << not_found.describe() << ", stderr: " << not_found.err);
    CHECK(not_found.exited(127));
    CHECK(contains(not_found.err, "smem-test-no-such-command"));
    CHECK(status({dir.str("no/such/path")}).exited(127));
    const Result killed = status({"sh", "-c", "kill -TERM $$"});
    INFO("TERM: " << killed.describe());
    CHECK((killed.signaled(SIGTERM) || killed.exited(143)));
    const Result killed_by_kill = status({"sh", "-c", "kill -KILL $$"});
    CHECK((killed_by_kill.signaled(SIGKILL) || killed_by_kill.exited(137)));
  }

  TEST_CASE("a 4 MiB delivery never makes smem hang whatever the child does with it")
  {
    TempDir dir;
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    const Args secret{"-s", "big=random:4194304", "--max-size", "8M", "--fd", "3=big"};
    const Result never_reads = run_smem(dir, secret + path.flags + Args{"--", "true"});
    INFO("never reads: " << never_reads.describe() << ", stderr: " << never_reads.err);
    CHECK(never_reads.exited(0));
    const Result reads_ten =
        run_smem(dir, secret + path.flags + sh(R"(head -c 10 <&3 | wc -c > "$0")", dir.str("ten")));
    INFO("reads 10 bytes: " << reads_ten.describe() << ", stderr: " << reads_ten.err);
    CHECK(reads_ten.exited(0));
    CHECK(read_file(dir.path() / "ten") == "10\n");
    const Result closes = run_smem(dir, secret + path.flags + sh("exec 3<&-; exit 0", dir.str("unused")));
    INFO("closes fd 3: " << closes.describe() << ", stderr: " << closes.err);
    CHECK(closes.exited(0));
    const Result status_kept =
        run_smem(dir, secret + path.flags + sh("exec 3<&-; exit 7", dir.str("unused")));
    CHECK(status_kept.exited(7));
    const Result reads_all = run_smem(dir, secret + path.flags + sh(R"(wc -c <&3 > "$0")", dir.str("all")));
    INFO("reads all: " << reads_all.describe() << ", stderr: " << reads_all.err);
    CHECK(reads_all.exited(0));
    CHECK(read_file(dir.path() / "all") == "4194304\n");
  }

  TEST_CASE("a signal sent to smem reaches the child exactly once")
  {
    TempDir dir;
    LaunchPath path = k_supervised;
    std::string name = "TERM";
    int sig = SIGTERM;
    SUBCASE("TERM, supervised (--mask=always)") {}
    SUBCASE("TERM, supervised (--timeout 1h)")
    {
      path = k_supervised_unmasked;
    }
    SUBCASE("INT")
    {
      name = "INT";
      sig = SIGINT;
    }
    SUBCASE("HUP")
    {
      name = "HUP";
      sig = SIGHUP;
    }
    SUBCASE("USR1")
    {
      name = "USR1";
      sig = SIGUSR1;
    }
    SUBCASE("USR2")
    {
      name = "USR2";
      sig = SIGUSR2;
    }
    INFO(path.name << ", SIG" << name);
    const std::string log = dir.str("signals");
    Process process(smem_command(
        dir, Args{"-s", "k=random:8", "--fd", "3=k"} + path.flags + sh(recording_child(name), log),
        std::nullopt));
    REQUIRE(process.wait_for_stdout("ready\n"));
    REQUIRE(::kill(process.pid(), sig) == 0);
    REQUIRE(process.wait_for_stdout("got-signal"));
    process.write_stdin("stop\n");
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0)); // the child survived the signal and exited 0: smem's status is the child's
    CHECK(read_file(log) == name + "\n");
  }

  TEST_CASE("a terminal Ctrl-C reaches the supervised child once and not twice")
  {
    // The terminal signals the whole foreground process group, the child included: smem must not
    // forward that SIGINT again.
    TempDir dir;
    Pty pty;
    const std::string log = dir.str("signals");
    Command c = smem_command(
        dir, Args{"-s", "k=random:8", "--fd", "3=k", "--mask=always"} + sh(recording_child("INT"), log),
        std::nullopt);
    c.controlling_tty = pty.slave;
    Process process(c);
    REQUIRE(process.wait_for_stdout("ready\n"));
    pty.type("\x03");
    REQUIRE(process.wait_for_stdout("got-signal"));
    process.write_stdin("stop\n");
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(read_file(log) == "INT\n");
  }

  TEST_CASE("--timeout sends TERM after the duration and smem ends with the TERM status")
  {
    TempDir dir;
    LaunchPath path = k_fast;
    SUBCASE("without masking")
    {
      path = k_fast;
    }
    SUBCASE("with masking")
    {
      path = k_supervised;
    }
    INFO(path.name);
    const Result r = run_smem(dir, Args{"--timeout", "300ms"} + path.flags +
                                       Args{"-s", "k=random:8", "--fd", "3=k", "--", "sleep", "30"});
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK((r.signaled(SIGTERM) || r.exited(143)));
  }

  TEST_CASE("--mask=auto takes the fast path on a terminal and supervises otherwise")
  {
    // Observable through the command's pid: the fast path replaces smem with the command (same
    // pid, so status and signals are exactly the command's), the supervised path runs a child.
    TempDir dir;
    const Args child = sh(R"(echo $$ > "$0")", dir.str("pid"));
    const auto command_pid_is_smems = [&](Command c) {
      Process process(std::move(c));
      const pid_t smem_pid = process.pid();
      const Result r = process.wait();
      INFO("smem: " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(0));
      return read_file(dir.path() / "pid") == std::to_string(smem_pid) + "\n";
    };
    const Args secret{"-s", "k=random:8", "--fd", "3=k"};
    CHECK(command_pid_is_smems(smem_command(dir, secret + Args{"--mask=never"} + child)));
    CHECK_FALSE(command_pid_is_smems(smem_command(dir, secret + Args{"--mask=always"} + child)));
    CHECK_FALSE(
        command_pid_is_smems(smem_command(dir, secret + Args{"--mask=never", "--timeout", "1h"} + child)));
    SUBCASE("stdout and stderr are pipes: masking, supervised")
    {
      CHECK_FALSE(command_pid_is_smems(smem_command(dir, secret + child)));
    }
    SUBCASE("stdout and stderr are a terminal: no masking, fast path")
    {
      Pty pty;
      Command c = smem_command(dir, secret + child);
      c.fds = {{pty.slave, STDOUT_FILENO}, {pty.slave, STDERR_FILENO}};
      CHECK(command_pid_is_smems(std::move(c)));
    }
  }

  TEST_CASE("a child never outlives a killed smem")
  {
    TempDir dir;
    Process process(smem_command(dir,
                                 Args{"-s", "k=random:8", "--fd", "3=k", "--mask=always"} +
                                     sh("echo \"ready $$\"; exec sleep 30", dir.str("unused")),
                                 std::nullopt));
    REQUIRE(process.wait_for_stdout("\n"));
    const std::string& out = process.out();
    REQUIRE(out.rfind("ready ", 0) == 0);
    const pid_t child = std::stoi(out.substr(6));
    const int child_fd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
    REQUIRE(child_fd >= 0);
    REQUIRE(::kill(process.pid(), SIGKILL) == 0);
    pollfd p{child_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(k_hang_limit).count()));
    ::close(child_fd);
    CHECK_MESSAGE(ready == 1,
                  "the child was still running " << k_hang_limit.count() << " s after smem was killed");
    if (ready != 1) {
      ::kill(child, SIGKILL);
    }
    const Result r = process.wait();
    CHECK(r.signaled(SIGKILL));
  }

  TEST_CASE("only the planned descriptors reach the child even with an inherited fd 7")
  {
    TempDir dir;
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    INFO(path.name);
    Pipe inherited;
    Command c =
        smem_command(dir, Args{"-s", "a=random:8", "-s", "b=random:8", "--fd", "3=a", "--fd", "5=b:memfd"} +
                              path.flags + sh(R"(exec > "$0"; ls /proc/$$/fd; :)", dir.str("fds")));
    c.fds.emplace_back(inherited.read, 7);
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    const std::set<int> fds = fd_numbers(read_file(dir.path() / "fds"));
    CHECK(join(fds) == "0 1 2 3 5");
  }

  TEST_CASE("the secret never appears in the child's argv or environment unless --env asks")
  {
    TempDir dir;
    write_file(dir.path() / "key", k_secret);
    LaunchPath path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised_unmasked;
    }
    INFO(path.name);
    const std::string script =
        R"(cat /proc/$$/cmdline > "$0.cmdline"; cat /proc/$$/environ > "$0.environ"; cat "$1" > /dev/null)";
    Command c = smem_command(
        dir, Args{"-s", "x=file:" + dir.str("key"), "-s", "t=env:SMEM_TEST_TOKEN", "--fd", "3=x"} +
                 path.flags + sh(script, dir.str("child"), {"{t}"}));
    c.env.push_back("SMEM_TEST_TOKEN=" + k_token);
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    const std::string cmdline = read_file(dir.path() / "child.cmdline");
    const std::string environ_text = read_file(dir.path() / "child.environ");
    CHECK(contains(cmdline, "/dev/fd/"));
    CHECK_FALSE(contains(cmdline, k_secret));
    CHECK_FALSE(contains(cmdline, k_token));
    CHECK_FALSE(contains(environ_text, k_secret));
    CHECK_FALSE(contains(environ_text, k_token));

    SUBCASE("with --env it is there, as asked")
    {
      const Result with_env =
          run_smem(dir, Args{"-s", "x=file:" + dir.str("key"), "--env", "SMEM_TEST_V=x", "-q"} + path.flags +
                            sh(R"(cat /proc/$$/environ > "$0.environ")", dir.str("env")));
      CHECK(with_env.exited(0));
      CHECK(contains(read_file(dir.path() / "env.environ"), "SMEM_TEST_V=" + k_secret));
    }
  }

  TEST_CASE("--pristine keeps only PATH HOME USER LANG TERM and the deliveries")
  {
    TempDir dir;
    write_file(dir.path() / "key", k_secret);
    Command c = smem_command(
        dir,
        Args{"-s", "x=file:" + dir.str("key"), "--env", "SMEM_TEST_V=x", "-q", "--pristine", "--mask=never"} +
            sh(R"(cat /proc/$$/environ | tr '\0' '\n' | cut -d= -f1 | sort > "$0")", dir.str("names")));
    c.env.push_back("SMEM_TEST_OTHER=1");
    c.env.push_back("USER=someone");
    c.env.push_back("TERM=dumb");
    const Result r = run(c);
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK(lines(read_file(dir.path() / "names")) ==
          std::vector<std::string>{"HOME", "LANG", "PATH", "SMEM_TEST_V", "TERM", "USER"});
  }

  TEST_CASE("no file appears in /tmp or /dev/shm or HOME across runs")
  {
    TempDir dir;
    // With root and mount namespaces, smem runs with private, empty directories bound over /tmp
    // and /dev/shm (HOME and TMPDIR inside the private /tmp), so whatever appears there is smem's
    // alone. Otherwise the real /tmp and /dev/shm are compared (other activity on the machine
    // could then disturb the test).
    const bool private_mounts = private_mounts_available();
    MESSAGE(std::string(private_mounts ? "private /tmp and /dev/shm (mount namespace)"
                                       : "the real /tmp and /dev/shm"));
    const fs::path tmp = dir.path() / "tmp";
    const fs::path shm = dir.path() / "shm";
    const fs::path home = tmp / "home";
    fs::create_directories(home);
    fs::create_directories(shm);
    const std::string visible_tmp = private_mounts ? "/tmp" : tmp.string();
    const std::string visible_home = visible_tmp + "/home";
    write_file(home / "key", k_secret + "\n");

    const std::set<std::string> tmp_before = listing(tmp, Depth::recursive);
    const std::set<std::string> shm_before = listing(shm, Depth::recursive);
    const std::set<std::string> real_tmp_before = listing("/tmp", Depth::flat);
    const std::set<std::string> real_shm_before = listing("/dev/shm", Depth::flat);
    const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    REQUIRE(watch >= 0);
    for (const fs::path& p : {tmp, home, shm}) {
      REQUIRE(::inotify_add_watch(watch, p.c_str(), IN_CREATE | IN_MOVED_TO) >= 0);
    }

    const auto run_private = [&](Args args, std::string stdin_data) {
      Command c = smem_command(dir, std::move(args), std::move(stdin_data));
      c.cwd = "/";
      c.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + visible_home, "TMPDIR=" + visible_tmp, "LANG=C",
               "SMEM_TEST_TOKEN=" + k_token};
      if (private_mounts) {
        // smem is executed through a descriptor opened before the binds: its build directory
        // may itself be under /tmp.
        constexpr int k_binary_fd = 900;
        c.exec_path = "/proc/self/fd/" + std::to_string(k_binary_fd);
        c.before_exec = [tmp, shm, binary = smem_binary()]() -> std::string {
          const int b = ::open(binary.c_str(), O_RDONLY | O_CLOEXEC);
          if (b < 0 || ::dup3(b, k_binary_fd, O_CLOEXEC) < 0) {
            return "cannot open the smem binary";
          }
          if (::unshare(CLONE_NEWNS) != 0 ||
              ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            return "cannot make a private mount namespace";
          }
          // Opened inside the new namespace (a bind source must be a mount of it), before either
          // bind hides the other's path.
          const int t = ::open(tmp.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
          const int s = ::open(shm.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
          if (t < 0 || s < 0) {
            return "cannot open the private /tmp and /dev/shm";
          }
          const std::string t_path = "/proc/self/fd/" + std::to_string(t);
          const std::string s_path = "/proc/self/fd/" + std::to_string(s);
          if (::mount(t_path.c_str(), "/tmp", nullptr, MS_BIND, nullptr) != 0 ||
              (::access("/dev/shm", F_OK) == 0 &&
               ::mount(s_path.c_str(), "/dev/shm", nullptr, MS_BIND, nullptr) != 0)) {
            return "cannot bind the private /tmp and /dev/shm";
          }
          return {};
        };
      }
      return run(c);
    };
    const Args every_source{"-s",    "a=file:" + visible_home + "/key",
                            "-s",    "b=random:16",
                            "-s",    "c=env:SMEM_TEST_TOKEN",
                            "-s",    "d=cmd:printf provider-value",
                            "-s",    "e=stdin",
                            "--fd",  "3=a",
                            "--fd",  "4=b:memfd",
                            "--env", "SMEM_TEST_V=c",
                            "-q",    "--stdin",
                            "e"};
    const Args child{"--", "sh", "-c",
                     R"(cat <&3 >/dev/null; cat <&4 >/dev/null; cat "$0" >/dev/null; cat >/dev/null)", "{d}"};
    for (const LaunchPath& path : {k_fast, k_supervised}) {
      const Result r = run_private(every_source + path.flags + child, "from stdin\n");
      INFO(path.name << ": smem " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(0));
    }
    const Result big = run_private(
        Args{"-s", "big=random:4194304", "--max-size", "8M", "--fd", "3=big", "--mask=always", "--", "true"},
        {});
    CHECK(big.exited(0));

    CHECK(listing(tmp, Depth::recursive) == tmp_before);
    CHECK(listing(shm, Depth::recursive) == shm_before);
    char events[4096];
    const ssize_t event_bytes = ::read(watch, events, sizeof events);
    ::close(watch);
    CHECK_MESSAGE(event_bytes <= 0, "a file was created (and maybe removed again) in the private /tmp, "
                                    "/dev/shm or $HOME");
    if (!private_mounts) {
      std::set<std::string> new_tmp;
      std::set<std::string> new_shm;
      std::ranges::set_difference(listing("/tmp", Depth::flat), real_tmp_before,
                                  std::inserter(new_tmp, new_tmp.end()));
      std::ranges::set_difference(listing("/dev/shm", Depth::flat), real_shm_before,
                                  std::inserter(new_shm, new_shm.end()));
      CHECK(new_tmp.empty());
      CHECK(new_shm.empty());
    }
  }

  TEST_CASE("smem's /proc/PID/mem is closed to another process of the same unprivileged user")
  {
    TempDir dir;
    // Root runs both sides as nobody (65534); anyone else runs both as themselves.
    const int uid = ::geteuid() == 0 ? 65534 : -1;
    Command c;
    c.argv = {binary_for(uid, dir),
              "run",
              "-s",
              "k=random:32",
              "--fd",
              "3=k",
              "--mask=always",
              "--",
              "sh",
              "-c",
              "echo \"ready $$\"; read x; exit 0"};
    c.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "LANG=C"};
    c.cwd = "/";
    c.stdin_data = std::nullopt;
    c.before_exec = [uid] { return as_user(uid); };
    Process process(c);
    REQUIRE(process.wait_for_stdout("\n"));
    REQUIRE(process.out().rfind("ready ", 0) == 0);
    const pid_t child = std::stoi(process.out().substr(6));
    const pid_t smem_pid = process.pid();

    const auto open_mem = [&](pid_t pid) {
      const std::string path = "/proc/" + std::to_string(pid) + "/mem";
      return run_probe(uid, [&] {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        return fd >= 0 ? 0 : errno;
      });
    };
    const int smem_error = open_mem(smem_pid);
    INFO("open(/proc/<smem>/mem): " << (smem_error == 0 ? "opened" : std::strerror(smem_error)));
    CHECK(smem_error == EACCES);
    const int seize =
        run_probe(uid, [&] { return ::ptrace(PTRACE_SEIZE, smem_pid, nullptr, nullptr) == 0 ? 0 : errno; });
    INFO("ptrace(PTRACE_SEIZE, smem): " << (seize == 0 ? "attached" : std::strerror(seize)));
    CHECK(seize == EPERM);

    // Control: the same probe can open the (dumpable) child's memory, so the check above means
    // something on this machine. Yama's ptrace_scope >= 1 forbids that too; then only say so.
    const std::string scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
    const int child_error = open_mem(child);
    if (scope.empty() || scope[0] == '0') {
      CHECK_MESSAGE(child_error == 0, "control: another process of the same user could not open the "
                                      "child's /proc/PID/mem either ("
                                          << std::strerror(child_error) << ")");
    } else {
      MESSAGE("yama ptrace_scope " << scope.substr(0, 1) << ": the control check is skipped");
    }

    process.write_stdin("go\n");
    const Result r = process.wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }
}
