// Helpers for the black-box tests of the smem binary: start a process with a chosen argv,
// environment, stdin and descriptors, talk to it while it runs, collect its output and wait status.
//
// Every wait has one hang detector per process (k_hang_limit from its start): when it expires the
// whole process group is killed and the test FAILS; it is a bound, never a timing assertion. Tests
// never sleep to wait for something: they read a marker the child prints, with that bound.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace smem::cli_test {

// A generous bound for one process: a hang detector, not a timing assertion.
constexpr auto k_hang_limit = std::chrono::seconds(20);

// The smem binary under test (SMEM_BINARY, set by the build).
std::string smem_binary();

// This test binary (/proc/self/exe), which runs as a small child program when SMEM_TEST_CHILD is
// set (child_programs.cpp).
std::string self_binary();

// A private directory, removed with everything in it at the end of the scope.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
  [[nodiscard]] std::string str(std::string_view relative = {}) const;

private:
  std::filesystem::path m_path;
};

// How the started process relates to the test's session.
enum class Session {
  own_group,   // its own process group in the test's session (killable as a group)
  new_session, // setsid(): no controlling terminal unless `controlling_tty` is given
};

struct Command {
  std::vector<std::string> argv; // argv[0] is a path
  std::vector<std::string> env;  // the whole environment
  // Bytes for stdin, then EOF. nullopt: stdin stays open for write_stdin()/close_stdin().
  std::optional<std::string> stdin_data = std::string();
  std::vector<std::pair<int, int>> fds; // (descriptor in the test, number in the process)
  Session session = Session::own_group;
  int controlling_tty = -1; // a pty slave made the controlling terminal (implies new_session)
  std::string cwd;          // empty: the test's
  std::string exec_path;    // the file to execute when it is not argv[0] (e.g. /proc/self/fd/N)
  // Runs in the forked child just before exec (e.g. setuid, a mount namespace). Returning a
  // non-empty string fails the start: the child prints it and exits 120.
  std::function<std::string()> before_exec;
};

struct Result {
  std::string out;
  std::string err;
  int status = 0; // wait status
  bool hung = false;

  [[nodiscard]] bool exited(int code) const;
  [[nodiscard]] bool signaled(int sig) const;
  [[nodiscard]] std::string describe() const; // "exit 3" / "signal 15" / "hung" (no output)
};

// A started process. The destructor kills its group and reaps it if it is still running.
class Process {
public:
  explicit Process(Command command);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return m_pid; }
  void write_stdin(std::string_view bytes);
  void close_stdin();
  // Collects output until stdout (or stderr) contains `needle`; false (and a test failure) if the
  // process ends or hangs first.
  bool wait_for_stdout(std::string_view needle);
  bool wait_for_stderr(std::string_view needle);
  // Feeds what is left of stdin, closes it, collects everything and reaps. Fails the test when
  // the hang detector expires (after killing the process group).
  Result wait();
  [[nodiscard]] const std::string& out() const noexcept { return m_result.out; }
  [[nodiscard]] const std::string& err() const noexcept { return m_result.err; }

private:
  bool pump_until(const std::function<bool()>& done);
  void kill_group();

  pid_t m_pid = -1;
  int m_pidfd = -1;
  int m_stdin = -1;
  int m_stdout = -1;
  int m_stderr = -1;
  std::string m_pending_stdin;
  bool m_close_stdin_when_written = false;
  bool m_reaped = false;
  Result m_result;
  std::chrono::steady_clock::time_point m_deadline;
};

// Runs `command` to the end.
Result run(Command command);

// The environment the tests give smem: PATH from the test, HOME and TMPDIR in `dir`, LANG=C.
std::vector<std::string> base_env(const TempDir& dir);

// argv for `smem run ARGS...`.
std::vector<std::string> smem_run(std::vector<std::string> args);

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::string_view bytes);
bool contains(std::string_view haystack, std::string_view needle);
// Lines of `text` (without their '\n').
std::vector<std::string> lines(std::string_view text);

// A pipe whose ends close at the end of the scope; both ends close-on-exec.
struct Pipe {
  Pipe();
  ~Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read();
  void close_write();
  int read = -1;
  int write = -1;
};

// Runs `probe` in a forked child as `uid` (when >= 0, needs root) and returns its exit status
// (or -1 if it did not exit normally).
int run_probe(int uid, const std::function<int()>& probe);

} // namespace smem::cli_test
