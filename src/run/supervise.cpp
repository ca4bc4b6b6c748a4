#include "run/supervise.hpp"

#include "run/io.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <memory>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace smem::run {
namespace {

using Clock = std::chrono::steady_clock;

// A second SIGINT/SIGTERM this soon after the first escalates to SIGKILL.
constexpr auto k_escalation_window = std::chrono::seconds(2);
// --timeout: SIGTERM first, SIGKILL this long after.
constexpr auto k_kill_grace = std::chrono::seconds(5);
constexpr std::size_t k_chunk = 64 * 1024;
// Relay reads: as large as the output pipes (run.cpp asks for 1 MiB), so a fast writer costs one
// read, one mask pass and one write per megabyte, not per 64 KiB.
constexpr std::size_t k_relay_buffer = 1024 * 1024;

void close_fd(int& fd) noexcept
{
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

class Loop {
public:
  explicit Loop(SuperviseSpec spec)
      : m_spec(std::move(spec)), m_buffer(std::make_unique_for_overwrite<std::byte[]>(k_relay_buffer)),
        m_flush_at(m_spec.relays.size())
  {
    if (m_spec.timeout) {
      m_term_at = Clock::now() + *m_spec.timeout;
    }
  }

  ~Loop()
  {
    for (PipeWriter& w : m_spec.writers) {
      close_fd(w.fd);
    }
    for (Relay& r : m_spec.relays) {
      close_fd(r.from);
    }
    if (m_spec.pty) {
      close_fd(m_spec.pty->master);
    }
  }

  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  int run()
  {
    std::vector<pollfd> fds;
    while (!m_exited || std::any_of(m_spec.relays.begin(), m_spec.relays.end(),
                                    [](const Relay& r) { return r.from >= 0; })) {
      fds.clear();
      fds.push_back({m_spec.signal_fd, POLLIN, 0});
      for (const PipeWriter& w : m_spec.writers) {
        fds.push_back({w.fd, static_cast<short>(w.fd >= 0 ? POLLOUT : 0), 0});
      }
      for (const Relay& r : m_spec.relays) {
        fds.push_back({r.from, static_cast<short>(r.from >= 0 ? POLLIN : 0), 0});
      }
      // Keystrokes: read smem's input while nothing is pending, else wait until the pty takes it.
      const bool typing = m_spec.pty && m_spec.pty->input >= 0 && m_spec.pty->master >= 0 && !m_exited;
      if (typing && m_typed.empty()) {
        fds.push_back({m_spec.pty->input, POLLIN, 0});
      } else {
        fds.push_back({typing ? m_spec.pty->master : -1, POLLOUT, 0});
      }
      if (::poll(fds.data(), fds.size(), poll_timeout()) < 0 && errno != EINTR) {
        break; // cannot happen with valid descriptors; do not spin
      }
      check_deadlines();
      if ((fds[0].revents & POLLIN) != 0) {
        read_signals();
      }
      for (std::size_t i = 0; i < m_spec.writers.size(); ++i) {
        if (fds[1 + i].revents != 0) {
          pump(m_spec.writers[i]);
        }
      }
      for (std::size_t i = 0; i < m_spec.relays.size(); ++i) {
        if (fds[1 + m_spec.writers.size() + i].revents != 0) {
          relay(m_spec.relays[i]);
          // Quiet is measured from the last output: a held-back tail is released k_quiet later.
          m_flush_at[i].reset();
          if (m_spec.relays[i].from >= 0 && m_spec.relays[i].filter->held() != 0) {
            m_flush_at[i] = Clock::now() + k_quiet;
          }
        }
      }
      if (fds.back().fd >= 0 && fds.back().revents != 0) {
        type();
      }
    }
    return m_status;
  }

private:
  int poll_timeout() const
  {
    std::optional<Clock::time_point> next = m_kill_at ? m_kill_at : m_term_at;
    for (const auto& at : m_flush_at) {
      if (at && (!next || *at < *next)) {
        next = at;
      }
    }
    if (!next) {
      return -1;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
  }

  void check_deadlines()
  {
    const auto now = Clock::now();
    if (m_term_at && now >= *m_term_at && !m_exited) {
      ::kill(m_spec.child, SIGTERM);
      m_term_at.reset();
      m_kill_at = now + k_kill_grace;
    }
    if (m_kill_at && now >= *m_kill_at) {
      if (!m_exited) {
        ::kill(m_spec.child, SIGKILL);
      }
      m_kill_at.reset();
    }
    for (std::size_t i = 0; i < m_spec.relays.size(); ++i) {
      if (m_flush_at[i] && now >= *m_flush_at[i]) {
        m_flush_at[i].reset();
        Relay& r = m_spec.relays[i];
        m_out.clear();
        r.filter->flush(m_out);
        if (!write_all(r.to, m_out)) {
          close_fd(r.from);
        }
      }
    }
  }

  void read_signals()
  {
    signalfd_siginfo info{};
    while (::read(m_spec.signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGCHLD) {
        reap();
      } else if (info.ssi_signo == SIGWINCH && m_spec.pty) {
        resize(); // the pty tells the command itself, once, if the size changed
      } else if (!m_exited) {
        forward(info);
      }
    }
  }

  void reap()
  {
    int status = 0;
    pid_t pid = 0;
    const int stops = m_spec.pty ? WUNTRACED : 0;
    while ((pid = ::waitpid(m_spec.child, &status, WNOHANG | stops)) < 0 && errno == EINTR) {
    }
    if (pid == m_spec.child && WIFSTOPPED(status)) {
      // Ctrl-Z reached the command through its pty, not smem's terminal: stop the same way,
      // and carry on the command when the shell continues us.
      m_spec.pty->on_child_stopped();
      ::kill(m_spec.child, SIGCONT);
      return;
    }
    if (pid == m_spec.child) {
      m_exited = true;
      m_status = status;
      m_kill_at.reset();
      m_term_at.reset();
      // Nobody will read what is left of the deliveries.
      for (PipeWriter& w : m_spec.writers) {
        close_fd(w.fd);
      }
    }
  }

  void forward(const signalfd_siginfo& info)
  {
    const int sig = static_cast<int>(info.ssi_signo);
    // A terminal sends SIGINT/SIGQUIT/SIGWINCH/SIGHUP to the whole foreground process group: the
    // child, in smem's group, already has it. Only signals sent to smem alone are passed on.
    const bool from_terminal = info.ssi_code == SI_KERNEL && ::getpgid(m_spec.child) == ::getpgrp();
    if (!from_terminal) {
      ::kill(m_spec.child, sig);
    }
    if (sig == SIGINT || sig == SIGTERM) {
      const auto now = Clock::now();
      if (m_last_interrupt && now - *m_last_interrupt < k_escalation_window) {
        ::kill(m_spec.child, SIGKILL);
      }
      m_last_interrupt = now;
    }
  }

  void resize() const
  {
    winsize size{};
    if (::ioctl(m_spec.pty->size_source, TIOCGWINSZ, &size) == 0) {
      ::ioctl(m_spec.pty->master, TIOCSWINSZ, &size);
    }
  }

  // Keystrokes for the command: smem's terminal is raw, so Ctrl-C and Ctrl-Z arrive here as bytes
  // and the pty turns them into the command's signals.
  // The master is non-blocking (run.cpp): a command that does not read its terminal must never
  // block smem, which also has its output to relay.
  void type()
  {
    if (m_typed.empty()) {
      std::byte keys[4096];
      const ssize_t n = ::read(m_spec.pty->input, keys, sizeof keys);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
      }
      if (n <= 0) {
        m_spec.pty->input = -1; // end of smem's input: stop relaying it (it is not ours to close)
        return;
      }
      m_typed.assign(keys, keys + n);
    }
    const ssize_t n = ::write(m_spec.pty->master, m_typed.data(), m_typed.size());
    if (n > 0) {
      m_typed.erase(m_typed.begin(), m_typed.begin() + n);
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
      m_typed.clear();
      m_spec.pty->input = -1;
    }
  }

  static void pump(PipeWriter& w)
  {
    bool done = false;
    w.secret->with_bytes([&](std::span<const std::byte> s) {
      while (w.offset < s.size()) {
        const ssize_t n = ::write(w.fd, s.data() + w.offset, std::min(s.size() - w.offset, k_chunk));
        if (n > 0) {
          w.offset += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          return;
        } else {
          done = true; // EPIPE: the child closed it early, which is its right
          return;
        }
      }
      done = true;
    });
    if (done) {
      close_fd(w.fd);
    }
  }

  void relay(Relay& r)
  {
    const ssize_t n = ::read(r.from, m_buffer.get(), k_relay_buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      return;
    }
    m_out.clear();
    if (n > 0) {
      r.filter->feed(std::span(m_buffer.get(), static_cast<std::size_t>(n)), m_out);
    } else {
      r.filter->flush(m_out);
    }
    const bool delivered = write_all(r.to, m_out);
    if (n <= 0 || !delivered) {
      // End of the child's stream, or our reader is gone: closing passes EPIPE on to the child.
      close_fd(r.from);
    }
  }

  SuperviseSpec m_spec;
  // Not zero-filled: a command that prints little never makes smem touch most of its pages.
  std::unique_ptr<std::byte[]> m_buffer;
  std::vector<std::byte> m_out;
  bool m_exited = false;
  int m_status = 0;
  std::optional<Clock::time_point> m_term_at;
  std::optional<Clock::time_point> m_kill_at;
  std::optional<Clock::time_point> m_last_interrupt;
  std::vector<std::optional<Clock::time_point>> m_flush_at; // per relay
  std::vector<std::byte> m_typed;                           // keystrokes the pty has not taken yet
};

} // namespace

sigset_t supervised_signals()
{
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD}) {
    sigaddset(&set, sig);
  }
  return set;
}

int supervise(SuperviseSpec spec)
{
  Loop loop(std::move(spec));
  return loop.run();
}

} // namespace smem::run
