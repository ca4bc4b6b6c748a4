#include "run/prompt.hpp"

#include "run/error.hpp"
#include "run/io.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

namespace smem::run {
namespace {

// Canonical-mode terminals deliver at most this much of a line.
constexpr std::size_t k_max_line = 4096;

// A prompt that cannot be shown is not worth failing for: reading the answer tells.
void show(int fd, const std::string& text)
{
  (void)write_all(fd, std::as_bytes(std::span(text)));
}

// Owns the terminal and the signals for the length of the prompt; the destructor restores both,
// so every exit path (return, exception) leaves the terminal as it was.
class PromptSession {
public:
  explicit PromptSession(const std::string& name)
  {
    m_tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (m_tty < 0) {
      const int error = errno;
      throw RunError("secret '" + name + "' asks on the terminal, but there is none (" +
                     std::strerror(error) +
                     "); in scripts and CI use stdin, env:VAR, file:PATH, fd:N or cmd:COMMAND");
    }
    if (::tcgetattr(m_tty, &m_saved) != 0) {
      const int error = errno;
      ::close(m_tty);
      throw RunError("secret '" + name + "': cannot read the terminal's settings: " + std::strerror(error));
    }
    sigset_t mask;
    sigemptyset(&mask);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU}) {
      sigaddset(&mask, sig);
    }
    ::sigprocmask(SIG_BLOCK, &mask, &m_old_mask);
    m_signals = ::signalfd(-1, &mask, SFD_CLOEXEC);
  }

  ~PromptSession()
  {
    restore_terminal();
    if (m_signals >= 0) {
      ::close(m_signals);
    }
    ::sigprocmask(SIG_SETMASK, &m_old_mask, nullptr);
    ::close(m_tty);
  }

  PromptSession(const PromptSession&) = delete;
  PromptSession& operator=(const PromptSession&) = delete;

  [[nodiscard]] int tty() const noexcept { return m_tty; }

  void echo_off()
  {
    termios quiet = m_saved;
    quiet.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHOE | ECHOK));
    quiet.c_lflag |= ICANON | ECHONL; // one line per read; the Enter still moves the cursor
    ::tcsetattr(m_tty, TCSAFLUSH, &quiet);
  }

  // TCSADRAIN, not TCSAFLUSH: input typed after the secret's line belongs to the command.
  void restore_terminal() noexcept { ::tcsetattr(m_tty, TCSADRAIN, &m_saved); }

  // Waits until the terminal has a line or a signal arrives; returns the signal, or 0 for input.
  int wait()
  {
    pollfd fds[2] = {{m_tty, POLLIN, 0}, {m_signals, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, m_signals >= 0 ? 2 : 1, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        const int error = errno;
        throw RunError(std::string("cannot wait for the terminal: ") + std::strerror(error));
      }
      if (m_signals >= 0 && (fds[1].revents & POLLIN) != 0) {
        signalfd_siginfo info{};
        if (::read(m_signals, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          return static_cast<int>(info.ssi_signo);
        }
      }
      if (fds[0].revents != 0) {
        return 0;
      }
    }
  }

  // Ctrl-Z: give the terminal back, stop like any job, and return once continued.
  void suspend(int sig)
  {
    restore_terminal();
    show(m_tty, "\n");
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    struct sigaction old {};
    ::sigaction(sig, &dfl, &old);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::raise(sig); // pending while blocked, delivered (stopping us) when unblocked
    ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::sigprocmask(SIG_BLOCK, &only, nullptr);
    ::sigaction(sig, &old, nullptr);
  }

private:
  int m_tty = -1;
  int m_signals = -1;
  termios m_saved{};
  sigset_t m_old_mask{};
};

} // namespace

Secret prompt_secret(const SecretFactory& factory, const std::string& name, const std::string& text,
                     std::size_t max_size)
{
  PromptSession session(name);
  const std::string shown = text.empty() ? "Secret " + name + ": " : text;
  ssize_t got = -1;
  std::optional<Secret> line;
  for (;;) {
    // Echo off before the prompt shows: whatever is typed once it is visible must not echo (and
    // TCSAFLUSH must not discard it).
    session.echo_off();
    show(session.tty(), shown);
    const int sig = session.wait();
    if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
      session.suspend(sig);
      continue;
    }
    if (sig != 0) {
      session.restore_terminal();
      show(session.tty(), "\n");
      throw RunError(128 + sig, "interrupted while asking for secret '" + name + "'");
    }
    // Read the line straight into protected memory.
    line = factory.create_with(k_max_line, [&](std::span<std::byte> out) {
      do {
        got = ::read(session.tty(), out.data(), out.size());
      } while (got < 0 && errno == EINTR);
    });
    break;
  }
  if (got < 0) {
    const int error = errno;
    throw RunError("secret '" + name + "': cannot read the terminal: " + std::strerror(error));
  }
  if (got == 0) {
    throw RunError("no secret entered for '" + name + "' (end of input)");
  }
  const auto length = static_cast<std::size_t>(got);
  const std::size_t kept = line->with_bytes(
      [&](std::span<const std::byte> s) { return s[length - 1] == std::byte{'\n'} ? length - 1 : length; });
  if (kept > max_size) {
    throw RunError("secret '" + name + "' is larger than --max-size (" + std::to_string(max_size) +
                   " bytes)");
  }
  return factory.create_with(kept, [&](std::span<std::byte> out) {
    line->with_bytes([&](std::span<const std::byte> in) { std::memcpy(out.data(), in.data(), kept); });
  });
}

} // namespace smem::run
