#include "run/supervise.hpp"

#include "run/io.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

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

bool is_pipe(int fd) noexcept
{
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

// A zeroing the optimizer may not drop (the bytes may be a secret's).
void wipe(std::byte* p, std::size_t n) noexcept
{
  std::memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

// Takes n bytes off the front of pipe `fd` without showing them (masked or held-back bytes).
bool discard(int fd, std::size_t n) noexcept
{
  std::byte scratch[4096];
  bool ok = true;
  while (n > 0) {
    const ssize_t got = ::read(fd, scratch, std::min(n, sizeof scratch));
    if (got > 0) {
      n -= static_cast<std::size_t>(got);
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else {
      ok = false; // cannot happen: the bytes were teed from this pipe and only smem reads it
      break;
    }
  }
  wipe(scratch, sizeof scratch);
  return ok;
}

// Moves n bytes from pipe `from` to `to` inside the kernel, waiting (poll) when `to` is a full
// non-blocking descriptor; `moved` counts them. False with errno when `to` refuses.
bool splice_all(int from, int to, std::size_t n, std::size_t& moved) noexcept
{
  moved = 0;
  while (moved < n) {
    const ssize_t got = ::splice(from, nullptr, to, nullptr, n - moved, SPLICE_F_MOVE);
    if (got > 0) {
      moved += static_cast<std::size_t>(got);
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else if (got < 0 && errno == EAGAIN) {
      pollfd p{to, POLLOUT, 0};
      ::poll(&p, 1, -1);
    } else {
      if (got == 0) {
        errno = EIO; // cannot happen: the bytes were teed from `from`
      }
      return false;
    }
  }
  return true;
}

// Writes a filter's output to one of smem's descriptors. The bytes that pass unchanged are never
// copied in smem: they are written from the read buffer or, when the relay teed them from the
// child's pipe, spliced from that pipe, which then holds exactly the bytes the filter was fed
// (the bytes masked or held back are read off it and wiped).
class RelaySink final : public OutputSink {
public:
  // `in`: the bytes fed; `teed_from`: the pipe they were teed from (still holding them), or -1.
  RelaySink(int to, std::span<const std::byte> in, int teed_from) noexcept
      : m_to(to), m_in(in), m_from(teed_from), m_splice(teed_from >= 0)
  {
  }
  RelaySink(const RelaySink&) = delete;
  RelaySink& operator=(const RelaySink&) = delete;
  ~RelaySink() = default;

  void pass(std::size_t n) override
  {
    if (m_pending == 0) {
      m_pending_at = m_at;
    }
    m_pending += n;
    m_at += n;
  }

  void drop(std::size_t n) override
  {
    send_pending();
    if (m_ok && m_from >= 0) {
      m_ok = discard(m_from, n);
    }
    m_at += n;
  }

  void put(std::span<const std::byte> bytes) override
  {
    send_pending();
    if (m_ok) {
      m_ok = write_all(m_to, bytes);
    }
  }

  // Sends what is pending; false when `to` refused some output (our reader is gone).
  bool finish() noexcept
  {
    send_pending();
    return m_ok;
  }

  // Whether `to` took no splice, so the relay should read and write from now on.
  [[nodiscard]] bool splice_refused() const noexcept { return m_from >= 0 && !m_splice; }

private:
  void send_pending() noexcept
  {
    const std::size_t n = std::exchange(m_pending, 0);
    if (n == 0 || !m_ok) {
      return; // when not ok, the relay ends: what is left in the pipe does not matter
    }
    std::size_t moved = 0;
    if (m_splice) {
      if (splice_all(m_from, m_to, n, moved)) {
        return;
      }
      if (errno == EPIPE) {
        m_ok = false;
        return;
      }
      m_splice = false; // e.g. EINVAL: write the copy the filter was fed instead
    }
    const std::span<const std::byte> rest = m_in.subspan(m_pending_at + moved, n - moved);
    m_ok = (m_from < 0 || discard(m_from, rest.size())) && write_all(m_to, rest);
  }

  int m_to;
  std::span<const std::byte> m_in;
  int m_from;
  bool m_splice;
  std::size_t m_at = 0;
  std::size_t m_pending_at = 0;
  std::size_t m_pending = 0;
  bool m_ok = true;
};

class Loop {
public:
  explicit Loop(SuperviseSpec spec)
      : m_spec(std::move(spec)), m_buffer(std::make_unique_for_overwrite<std::byte[]>(k_relay_buffer)),
        m_flush_at(m_spec.relays.size()), m_tee(m_spec.relays.size(), false)
  {
    if (m_spec.timeout) {
      m_term_at = Clock::now() + *m_spec.timeout;
    }
    for (std::size_t i = 0; i < m_spec.relays.size(); ++i) {
      const Relay& r = m_spec.relays[i];
      if (is_pipe(r.to)) {
        // A pipe to the next command as large as ours: fewer, larger transfers (best effort:
        // pipe-max-size and the per-user pipe limit may refuse; never shrink a larger one).
        const int size = ::fcntl(r.to, F_GETPIPE_SZ);
        if (size >= 0 && static_cast<std::size_t>(size) < k_relay_buffer) {
          ::fcntl(r.to, F_SETPIPE_SZ, static_cast<int>(k_relay_buffer));
        }
        m_tee[i] = is_pipe(r.from) && open_peek();
      }
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
    close_fd(m_peek[0]);
    close_fd(m_peek[1]);
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
      if (typing && m_typed_length == 0) {
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
          relay(i);
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
        RelaySink sink(r.to, {}, -1);
        r.filter->flush(sink);
        if (!sink.finish()) {
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
    // Keystrokes may be a password typed to the command: they sit in one fixed buffer, wiped as
    // soon as the pty has taken them.
    if (m_typed_length == 0) {
      const ssize_t n = ::read(m_spec.pty->input, m_typed.data(), m_typed.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
      }
      if (n <= 0) {
        m_spec.pty->input = -1; // end of smem's input: stop relaying it (it is not ours to close)
        return;
      }
      m_typed_at = 0;
      m_typed_length = static_cast<std::size_t>(n);
    }
    const ssize_t n = ::write(m_spec.pty->master, m_typed.data() + m_typed_at, m_typed_length);
    if (n > 0) {
      m_typed_at += static_cast<std::size_t>(n);
      m_typed_length -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
      m_typed_length = 0;
      m_spec.pty->input = -1;
    }
    if (m_typed_length == 0) {
      wipe(m_typed.data(), m_typed.size());
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

  // Pipe to pipe (the common `smem run ... | next`), the child's bytes are teed into the peek pipe
  // and read from there for the filter, and what the filter passes is spliced from the child's
  // pipe to ours: smem copies each byte once, not three times (read, filter output, write).
  bool open_peek() noexcept
  {
    if (m_peek[0] < 0) {
      if (::pipe2(m_peek.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
        return false;
      }
      ::fcntl(m_peek[1], F_SETPIPE_SZ, static_cast<int>(k_relay_buffer));
    }
    return true;
  }

  void relay(std::size_t i)
  {
    Relay& r = m_spec.relays[i];
    ssize_t n = 0;
    if (m_tee[i]) {
      n = ::tee(r.from, m_peek[1], k_relay_buffer, SPLICE_F_NONBLOCK);
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        m_tee[i] = false; // not expected between two pipes; reading always works
      } else if (n > 0 && read_peek(static_cast<std::size_t>(n)) < 0) {
        stop_teeing(); // cannot happen; the child's pipe still holds the bytes: read them
      }
    }
    if (!m_tee[i]) {
      n = ::read(r.from, m_buffer.get(), k_relay_buffer);
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      return;
    }
    const std::span<const std::byte> in(m_buffer.get(), n > 0 ? static_cast<std::size_t>(n) : 0);
    RelaySink sink(r.to, in, m_tee[i] ? r.from : -1);
    if (n > 0) {
      r.filter->feed(in, sink);
    } else {
      r.filter->flush(sink);
    }
    const bool delivered = sink.finish();
    // The command's output may hold a secret (that is why it is masked): never leave it in this
    // ordinary, swappable buffer. The bytes were just read, so wiping them is a cache-hot memset.
    wipe(m_buffer.get(), in.size());
    if (sink.splice_refused()) {
      m_tee[i] = false;
    }
    if (n <= 0 || !delivered) {
      // End of the child's stream, or our reader is gone: closing passes EPIPE on to the child.
      close_fd(r.from);
    }
  }

  // The peek pipe may hold stray bytes: never use it again.
  void stop_teeing() noexcept
  {
    std::fill(m_tee.begin(), m_tee.end(), false);
    close_fd(m_peek[0]);
    close_fd(m_peek[1]);
  }

  // Reads the n bytes just teed; the peek pipe holds nothing else, so it is empty afterwards.
  ssize_t read_peek(std::size_t n) noexcept
  {
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::read(m_peek[0], m_buffer.get() + got, n - got);
      if (r > 0) {
        got += static_cast<std::size_t>(r);
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        errno = EIO; // cannot happen: the bytes are there
        return -1;
      }
    }
    return static_cast<ssize_t>(got);
  }

  SuperviseSpec m_spec;
  // Not zero-filled: a command that prints little never makes smem touch most of its pages.
  std::unique_ptr<std::byte[]> m_buffer;
  bool m_exited = false;
  int m_status = 0;
  std::optional<Clock::time_point> m_term_at;
  std::optional<Clock::time_point> m_kill_at;
  std::optional<Clock::time_point> m_last_interrupt;
  std::vector<std::optional<Clock::time_point>> m_flush_at; // per relay
  std::vector<bool> m_tee;                                  // per relay: tee and splice, or read and write
  std::array<int, 2> m_peek{-1, -1};                        // the peek pipe (read, write end)
  std::array<std::byte, 4096> m_typed{};                    // keystrokes read from smem's terminal
  std::size_t m_typed_at = 0;                               // the first one the pty has not taken yet
  std::size_t m_typed_length = 0;                           // how many it has not taken
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
