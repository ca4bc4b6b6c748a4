#include "cli/process.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <iterator>
#include <poll.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace smem::cli_test {
namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) noexcept
{
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// Writes `text` to stderr from a forked child (async-signal-safe).
void child_say(const char* text) noexcept
{
  const std::size_t n = std::strlen(text);
  [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, text, n);
}

[[noreturn]] void child_fail(const char* what) noexcept
{
  child_say("cli_test: cannot start the process: ");
  child_say(what);
  child_say("\n");
  ::_exit(120);
}

// The child side of Process: descriptors, session, signals, then exec. Single-threaded test
// process, so the allocating before_exec hook is acceptable here.
[[noreturn]] void start_child(const Command& c, int in, int out, int err, char* const* argv,
                              char* const* envp)
{
  if (c.session == Session::new_session || c.controlling_tty >= 0) {
    if (::setsid() < 0) {
      child_fail("setsid");
    }
    if (c.controlling_tty >= 0 && ::ioctl(c.controlling_tty, TIOCSCTTY, 0) != 0) {
      child_fail("TIOCSCTTY");
    }
  } else if (::setpgid(0, 0) != 0) {
    child_fail("setpgid");
  }
  // Move every source above every target first, so no dup2 overwrites a source still needed.
  std::vector<std::pair<int, int>> plan{{in, STDIN_FILENO}, {out, STDOUT_FILENO}, {err, STDERR_FILENO}};
  plan.insert(plan.end(), c.fds.begin(), c.fds.end());
  for (auto& [from, to] : plan) {
    from = ::fcntl(from, F_DUPFD_CLOEXEC, 512);
    if (from < 0) {
      child_fail("F_DUPFD");
    }
  }
  // Nothing of the test (nor of whoever started the test) leaks in: only the planned descriptors.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 512; ++fd) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  for (const auto& [from, to] : plan) {
    if (::dup2(from, to) < 0) {
      child_fail("dup2");
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    ::sigaction(sig, &dfl, nullptr); // fails harmlessly for KILL, STOP and the RT signals glibc owns
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (!c.cwd.empty() && ::chdir(c.cwd.c_str()) != 0) {
    child_fail("chdir");
  }
  if (c.before_exec) {
    const std::string error = c.before_exec();
    if (!error.empty()) {
      child_fail(error.c_str());
    }
  }
  ::execve(c.exec_path.empty() ? argv[0] : c.exec_path.c_str(), argv, envp);
  child_say("cli_test: execve failed: ");
  child_say(argv[0]);
  child_say("\n");
  ::_exit(121);
}

std::vector<char*> c_strings(std::vector<std::string>& strings)
{
  std::vector<char*> result;
  for (std::string& s : strings) {
    result.push_back(s.data());
  }
  result.push_back(nullptr);
  return result;
}

} // namespace

std::string smem_binary()
{
  return SMEM_BINARY;
}

std::string self_binary()
{
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

TempDir::TempDir()
{
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/smem-cli-test.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  m_path = std::filesystem::canonical(pattern);
}

TempDir::~TempDir()
{
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

std::string TempDir::str(std::string_view relative) const
{
  return relative.empty() ? m_path.string() : (m_path / relative).string();
}

bool Result::exited(int code) const
{
  return !hung && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

bool Result::signaled(int sig) const
{
  return !hung && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

std::string Result::describe() const
{
  if (hung) {
    return "hung (killed by the hang detector)";
  }
  if (WIFEXITED(status)) {
    return "exit " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "wait status " + std::to_string(status);
}

Pipe::Pipe()
{
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  read = fds[0];
  write = fds[1];
}

Pipe::~Pipe()
{
  close_read();
  close_write();
}

void Pipe::close_read()
{
  close_fd(read);
}

void Pipe::close_write()
{
  close_fd(write);
}

Process::Process(Command command) : m_deadline(Clock::now() + k_hang_limit)
{
  ::signal(SIGPIPE, SIG_IGN); // a child that stops reading its stdin is an EPIPE here, not death
  Pipe in;
  Pipe out;
  Pipe err;
  std::vector<char*> argv = c_strings(command.argv);
  std::vector<char*> envp = c_strings(command.env);
  m_pid = ::fork();
  if (m_pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (m_pid == 0) {
    start_child(command, in.read, out.write, err.write, argv.data(), envp.data());
  }
  m_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, m_pid, 0));
  std::swap(m_stdin, in.write);
  std::swap(m_stdout, out.read);
  std::swap(m_stderr, err.read);
  for (const int fd : {m_stdin, m_stdout, m_stderr}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  if (command.stdin_data) {
    m_pending_stdin = std::move(*command.stdin_data);
    m_close_stdin_when_written = true;
    if (m_pending_stdin.empty()) {
      close_fd(m_stdin);
    }
  }
}

Process::~Process()
{
  if (!m_reaped && m_pid > 0) {
    kill_group();
  }
  close_fd(m_stdin);
  close_fd(m_stdout);
  close_fd(m_stderr);
  close_fd(m_pidfd);
}

void Process::kill_group()
{
  ::kill(-m_pid, SIGKILL);
  ::kill(m_pid, SIGKILL);
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_reaped = true;
  m_result.status = status;
}

void Process::write_stdin(std::string_view bytes)
{
  m_pending_stdin.append(bytes);
  pump_until([&] { return m_pending_stdin.empty() || m_stdin < 0; });
}

void Process::close_stdin()
{
  m_close_stdin_when_written = true;
  if (m_pending_stdin.empty()) {
    close_fd(m_stdin);
  }
}

bool Process::wait_for_stdout(std::string_view needle)
{
  const bool found = pump_until([&] { return contains(m_result.out, needle); });
  if (!found && !m_result.hung) {
    FAIL_CHECK("the process ended (" << m_result.describe() << ") before printing the expected marker");
  }
  return found;
}

bool Process::wait_for_stderr(std::string_view needle)
{
  const bool found = pump_until([&] { return contains(m_result.err, needle); });
  if (!found && !m_result.hung) {
    FAIL_CHECK("the process ended (" << m_result.describe() << ") before writing the expected stderr");
  }
  return found;
}

Result Process::wait()
{
  close_stdin();
  pump_until([] { return false; });
  return m_result;
}

// One poll loop over the process's stdin, stdout, stderr and exit; returns when `done` holds, or
// false when the process has ended and its output is drained, or when the hang detector expires.
bool Process::pump_until(const std::function<bool()>& done)
{
  std::array<char, 65536> buffer{};
  for (;;) {
    if (done()) {
      return true;
    }
    if (m_result.hung || (m_reaped && m_stdout < 0 && m_stderr < 0)) {
      return false;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(m_deadline - Clock::now()).count();
    if (left <= 0) {
      kill_group();
      m_result.hung = true;
      FAIL_CHECK("hang detector: the process did not finish within "
                 << std::chrono::duration_cast<std::chrono::seconds>(k_hang_limit).count()
                 << " s; its process group was killed");
      close_fd(m_stdin);
      close_fd(m_stdout);
      close_fd(m_stderr);
      return false;
    }
    std::vector<pollfd> fds;
    fds.push_back({m_stdout, POLLIN, 0});
    fds.push_back({m_stderr, POLLIN, 0});
    fds.push_back({m_pending_stdin.empty() ? -1 : m_stdin, POLLOUT, 0});
    fds.push_back({m_reaped ? -1 : m_pidfd, POLLIN, 0});
    // Without a pidfd (old kernels) the exit is noticed by polling waitpid every 10 ms.
    const int timeout = m_pidfd < 0 && !m_reaped ? 10 : static_cast<int>(std::min<long long>(left, 60'000));
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      FAIL_CHECK("poll failed: " << std::strerror(errno));
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      int& fd = i == 0 ? m_stdout : m_stderr;
      std::string& sink = i == 0 ? m_result.out : m_result.err;
      if (fd >= 0 && fds[static_cast<std::size_t>(i)].revents != 0) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n > 0) {
          sink.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          close_fd(fd);
        }
      }
    }
    if (m_stdin >= 0 && !m_pending_stdin.empty()) {
      const ssize_t n = ::write(m_stdin, m_pending_stdin.data(), m_pending_stdin.size());
      if (n > 0) {
        m_pending_stdin.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        m_pending_stdin.clear(); // EPIPE: the process does not read its stdin, which is its right
        close_fd(m_stdin);
      }
    }
    if (m_stdin >= 0 && m_pending_stdin.empty() && m_close_stdin_when_written) {
      close_fd(m_stdin);
    }
    if (!m_reaped && (m_pidfd < 0 || fds[3].revents != 0)) {
      int status = 0;
      const pid_t pid = ::waitpid(m_pid, &status, m_pidfd < 0 ? WNOHANG : 0);
      if (pid == m_pid) {
        m_reaped = true;
        m_result.status = status;
      }
    }
  }
}

Result run(Command command)
{
  Process process(std::move(command));
  return process.wait();
}

std::vector<std::string> base_env(const TempDir& dir)
{
  std::filesystem::create_directories(dir.path() / "home");
  std::filesystem::create_directories(dir.path() / "tmp");
  const char* path = std::getenv("PATH");
  return {
      "PATH=" + std::string(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"),
      "HOME=" + dir.str("home"),
      "TMPDIR=" + dir.str("tmp"),
      "LANG=C",
  };
}

std::vector<std::string> smem_run(std::vector<std::string> args)
{
  args.insert(args.begin(), {smem_binary(), "run"});
  return args;
}

std::string read_file(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& path, std::string_view bytes)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool contains(std::string_view haystack, std::string_view needle)
{
  return haystack.find(needle) != std::string_view::npos;
}

std::vector<std::string> lines(std::string_view text)
{
  std::vector<std::string> result;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::size_t stop = end == std::string_view::npos ? text.size() : end;
    result.emplace_back(text.substr(start, stop - start));
    start = stop + 1;
  }
  return result;
}

int run_probe(int uid, const std::function<int()>& probe)
{
  const pid_t pid = ::fork();
  if (pid < 0) {
    return -1;
  }
  if (pid == 0) {
    if (uid >= 0) {
      const auto id = static_cast<uid_t>(uid);
      if (::setgroups(0, nullptr) != 0 || ::setgid(id) != 0 || ::setuid(id) != 0) {
        ::_exit(126);
      }
    }
    ::_exit(probe());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace smem::cli_test
