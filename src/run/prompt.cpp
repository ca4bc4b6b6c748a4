#include "run/prompt.hpp"

#include "run/error.hpp"
#include "run/io.hpp"
#include "run/line_reader.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

namespace smem::run {
namespace {

// The longest line a prompt takes, newline included: what a canonical-mode terminal buffers.
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
  std::size_t length = 0;
  // The line is read straight into protected memory; a throw from inside wipes it.
  const Secret line = factory.create_with(k_max_line, [&](std::span<std::byte> buffer) {
    LineReader reader(buffer);
    bool ask = true;
    while (reader.state() == LineReader::State::reading) {
      if (ask) {
        // Echo off before the prompt shows: whatever is typed once it is visible must not echo
        // (and TCSAFLUSH must not discard it). Not again mid-line: that would discard typing.
        session.echo_off();
        show(session.tty(), shown);
        ask = false;
      }
      const int sig = session.wait();
      if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
        session.suspend(sig);
        reader.restart(); // the prompt is asked afresh after `fg`
        ask = true;
        continue;
      }
      if (sig != 0) {
        session.restore_terminal();
        show(session.tty(), "\n");
        throw RunError(128 + sig, "interrupted while asking for secret '" + name + "'");
      }
      const std::span<std::byte> space = reader.space();
      ssize_t got = 0;
      do {
        got = ::read(session.tty(), space.data(), space.size());
      } while (got < 0 && errno == EINTR);
      if (got < 0) {
        const int error = errno;
        throw RunError("secret '" + name + "': cannot read the terminal: " + std::strerror(error));
      }
      reader.commit(static_cast<std::size_t>(got));
    }
    if (reader.state() == LineReader::State::end) {
      throw RunError("no secret entered for '" + name + "' (end of input)");
    }
    if (reader.state() == LineReader::State::too_long) {
      throw RunError("secret '" + name + "': the line typed is longer than " +
                     std::to_string(k_max_line - 1) +
                     " bytes; use file:PATH, fd:N or stdin for a longer secret");
    }
    length = reader.length();
  });
  if (length > max_size) {
    throw RunError("secret '" + name + "' is larger than --max-size (" + std::to_string(max_size) +
                   " bytes)");
  }
  return factory.create_with(length, [&](std::span<std::byte> out) {
    line.with_bytes([&](std::span<const std::byte> in) { std::memcpy(out.data(), in.data(), length); });
  });
}

} // namespace smem::run
