#include "run/sources.hpp"

#include "run/error.hpp"
#include "run/launch.hpp"
#include "run/prompt.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iterator>
#include <optional>
#include <sodium.h>
#include <string>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace smem::run {
namespace {

std::string describe(const SecretSpec& spec)
{
  return "secret '" + spec.name + "'";
}

std::string too_large(const SecretSpec& spec, std::size_t max_size)
{
  return describe(spec) + " is larger than --max-size (" + std::to_string(max_size) +
         " bytes); raise --max-size if that is expected";
}

// read_from with the run pipeline's messages.
Secret read_fd(const SecretFactory& factory, int fd, const SecretSpec& spec, std::size_t max_size,
               const std::string& what)
{
  try {
    return factory.read_from(fd, max_size);
  } catch (const Error& e) {
    if (e.code() == Errc::too_large) {
      throw RunError(too_large(spec, max_size));
    }
    throw RunError(describe(spec) + ": " + what + ": " + e.what());
  }
}

// RAII close for descriptors the sources open.
struct Fd {
  int fd;
  ~Fd()
  {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

Secret from_env(const SecretFactory& factory, const SecretSpec& spec, std::size_t max_size)
{
  char* value = std::getenv(spec.argument.c_str());
  if (value == nullptr) {
    throw RunError(describe(spec) + ": environment variable " + spec.argument + " is not set");
  }
  const std::size_t length = std::strlen(value);
  if (length > max_size) {
    throw RunError(too_large(spec, max_size));
  }
  // create() wipes the source: the value is erased from this process's environment block (and
  // so from /proc/PID/environ), then the variable is removed so the child never sees it.
  Secret secret = factory.create(std::as_writable_bytes(std::span(value, length)));
  ::unsetenv(spec.argument.c_str());
  return secret;
}

Secret from_file(const SecretFactory& factory, const SecretSpec& spec, std::size_t max_size)
{
  const Fd file{::open(spec.argument.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) {
    const int error = errno;
    throw RunError(describe(spec) + ": cannot open file " + spec.argument + ": " + std::strerror(error));
  }
  return read_fd(factory, file.fd, spec, max_size, "cannot read file " + spec.argument);
}

Secret from_fd(const SecretFactory& factory, const SecretSpec& spec, std::size_t max_size)
{
  if (::fcntl(spec.fd, F_GETFD) < 0) {
    throw RunError(describe(spec) + ": file descriptor " + std::to_string(spec.fd) +
                   " is not open; give smem one, e.g. `" + std::to_string(spec.fd) + "<key.pem`");
  }
  // Consumed: it must not linger (it never reaches the child anyway); 0..2 stay for the child.
  const Fd owned{spec.fd > STDERR_FILENO ? spec.fd : -1};
  return read_fd(factory, spec.fd, spec, max_size, "cannot read file descriptor " + std::to_string(spec.fd));
}

// The provider's first word, to name it in messages without repeating its arguments.
std::string provider_name(const std::string& command)
{
  const auto begin = command.find_first_not_of(" \t");
  const auto end = command.find_first_of(" \t", begin);
  return begin == std::string::npos ? command : command.substr(begin, end - begin);
}

// While smem waits for a provider, a signal that would end smem (SPEC: INT, TERM, HUP, QUIT,
// USR1, USR2) is passed on to the provider instead, and smem ends once the provider has: the
// secrets read so far are wiped, the exit status is 128+N as if smem had been killed, and no
// provider is left running (holding smem's stdout open for whoever waits on it). A second INT or
// TERM kills a provider that ignored the first. One provider runs at a time.
constexpr int k_stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
std::atomic<int> g_provider_fd{-1}; // a pidfd: never signals a reused pid
std::atomic<pid_t> g_provider_pid{0};
volatile std::sig_atomic_t g_stop_signal = 0;

void signal_provider(int sig) noexcept
{
  if (const int fd = g_provider_fd.load(); fd >= 0) {
    ::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0);
  } else if (const pid_t pid = g_provider_pid.load(); pid > 0) {
    ::kill(pid, sig);
  }
}

void on_stop_signal(int sig, siginfo_t* info, void*) noexcept
{
  const int saved = errno;
  // A terminal signals its whole foreground process group, the provider included: not twice.
  if (info == nullptr || info->si_code != SI_KERNEL) {
    signal_provider(sig);
  }
  if (g_stop_signal != 0 && (sig == SIGINT || sig == SIGTERM)) {
    signal_provider(SIGKILL);
  }
  if (g_stop_signal == 0) {
    g_stop_signal = sig;
  }
  errno = saved;
}

// The handlers above for the length of one provider; the destructor restores what was there.
class ProviderSignals {
public:
  ProviderSignals()
  {
    const sigset_t set = stop_set();
    ::sigprocmask(SIG_BLOCK, &set, &m_mask);
    g_stop_signal = 0;
    struct sigaction action {};
    action.sa_sigaction = on_stop_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(k_stop_signals); ++i) {
      ::sigaction(k_stop_signals[i], nullptr, &m_saved[i]);
      if (m_saved[i].sa_handler != SIG_IGN) { // ignored by whoever started smem: stays so
        ::sigaction(k_stop_signals[i], &action, nullptr);
      }
    }
  }

  ~ProviderSignals()
  {
    finish();
    for (std::size_t i = 0; i < std::size(k_stop_signals); ++i) {
      ::sigaction(k_stop_signals[i], &m_saved[i], nullptr);
    }
    // A signal that came after finish() is delivered now, as it would have been without smem's
    // handlers: nothing is swallowed.
    ::sigprocmask(SIG_SETMASK, &m_mask, nullptr);
  }

  ProviderSignals(const ProviderSignals&) = delete;
  ProviderSignals& operator=(const ProviderSignals&) = delete;

  // From now on the signals reach `pid`; one that came while it started is passed on now.
  void watch(pid_t pid)
  {
    g_provider_pid = pid;
    g_provider_fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    ::sigprocmask(SIG_SETMASK, &m_mask, nullptr);
  }

  // The provider is gone: blocks the signals (they wait for the destructor) and returns the one
  // that came meanwhile, or 0.
  int finish() noexcept
  {
    const sigset_t set = stop_set();
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    g_provider_pid = 0;
    if (const int fd = g_provider_fd.exchange(-1); fd >= 0) {
      ::close(fd);
    }
    return g_stop_signal;
  }

private:
  static sigset_t stop_set() noexcept
  {
    sigset_t set;
    sigemptyset(&set);
    for (const int sig : k_stop_signals) {
      sigaddset(&set, sig);
    }
    return set;
  }

  sigset_t m_mask{};
  struct sigaction m_saved[std::size(k_stop_signals)]{};
};

// Starts `/bin/sh -c COMMAND` with its stdout on `out`, through launch's spawn_child, so that it
// is killed if smem dies anyway (SIGKILL cannot be passed on) and starts with default signals.
pid_t start_provider(const SecretSpec& spec, const std::string& provider, int out)
{
  InheritedState clean;
  sigemptyset(&clean.mask);
  ::getrlimit(RLIMIT_CORE, &clean.core);
  const char* argv[] = {"/bin/sh", "-c", spec.argument.c_str(), nullptr};
  LaunchSpec launch;
  launch.fds = {{out, STDOUT_FILENO}};
  launch.argv = const_cast<char* const*>(argv);
  launch.envp = environ;
  launch.inherited = &clean;
  launch.highest_fd = std::max(out, STDERR_FILENO);
  try {
    return spawn_child(launch);
  } catch (const RunError& e) {
    throw RunError(describe(spec) + ": " + provider + ": " + e.what()); // 125, even for 126/127
  }
}

Secret from_cmd(const SecretFactory& factory, const SecretSpec& spec, std::size_t max_size)
{
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int error = errno;
    throw RunError(describe(spec) + ": cannot create a pipe: " + std::strerror(error));
  }
  const std::string provider = "provider `" + provider_name(spec.argument) + "`";
  ProviderSignals signals;
  pid_t pid = -1;
  try {
    pid = start_provider(spec, provider, out[1]);
  } catch (...) {
    ::close(out[0]);
    ::close(out[1]);
    throw;
  }
  ::close(out[1]);
  signals.watch(pid);
  int status = 0;
  const auto reap = [&] {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  std::optional<Secret> secret;
  try {
    secret = read_fd(factory, out[0], spec, max_size, "cannot read the output of " + provider);
  } catch (...) {
    ::close(out[0]); // a provider still writing gets EPIPE
    ::kill(pid, SIGTERM);
    reap();
    throw;
  }
  ::close(out[0]);
  reap();
  if (const int sig = signals.finish(); sig != 0) {
    throw RunError(128 + sig, "interrupted while waiting for " + provider + " of " + describe(spec));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return std::move(*secret);
  }
  if (WIFSIGNALED(status)) {
    throw RunError(describe(spec) + ": " + provider + " was killed by signal " +
                   std::to_string(WTERMSIG(status)));
  }
  throw RunError(describe(spec) + ": " + provider + " exited with status " +
                 std::to_string(WEXITSTATUS(status)) + " (its messages are above)");
}

// Lower-case hex without a table lookup indexed by secret bits (constant time).
void to_hex(std::span<const std::byte> in, std::span<std::byte> out)
{
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto b = static_cast<unsigned>(in[i]);
    for (unsigned shift : {4u, 0u}) {
      const unsigned nibble = (b >> shift) & 0xfu;
      // '0'+n for n < 10, 'a'+n-10 otherwise, selected with a mask instead of a branch.
      const unsigned above9 = ((9u - nibble) >> 8) & 1u;
      out[2 * i + (shift == 4u ? 0 : 1)] = static_cast<std::byte>('0' + nibble + above9 * ('a' - '0' - 10));
    }
  }
}

Secret from_random(const SecretFactory& factory, const SecretSpec& spec, std::size_t max_size)
{
  const std::size_t n = spec.random_bytes;
  switch (spec.encoding) {
  case Encoding::raw:
    if (n > max_size) {
      throw RunError(too_large(spec, max_size));
    }
    return factory.create_random(n);
  case Encoding::hex: {
    if (n > max_size / 2) {
      throw RunError(too_large(spec, max_size));
    }
    Secret raw = factory.create_random(n);
    return factory.create_with(2 * n, [&](std::span<std::byte> out) {
      raw.with_bytes([&](std::span<const std::byte> in) { to_hex(in, out); });
    });
  }
  case Encoding::base64: {
    constexpr int variant = sodium_base64_VARIANT_ORIGINAL;
    const std::size_t with_nul = sodium_base64_ENCODED_LEN(n, variant);
    if (n > max_size || with_nul - 1 > max_size) {
      throw RunError(too_large(spec, max_size));
    }
    Secret raw = factory.create_random(n);
    // libsodium writes a terminating NUL: encode into room for it, then keep the text only.
    Secret staged = factory.create_with(with_nul, [&](std::span<std::byte> out) {
      raw.with_bytes([&](std::span<const std::byte> in) {
        sodium_bin2base64(reinterpret_cast<char*>(out.data()), out.size(),
                          reinterpret_cast<const unsigned char*>(in.data()), in.size(), variant);
      });
    });
    return factory.create_with(with_nul - 1, [&](std::span<std::byte> out) {
      staged.with_bytes(
          [&](std::span<const std::byte> in) { std::memcpy(out.data(), in.data(), out.size()); });
    });
  }
  }
  throw RunError(describe(spec) + ": unknown encoding");
}

} // namespace

Secret trim_newline(const SecretFactory& factory, Secret& secret)
{
  const std::size_t strip = secret.with_bytes([](std::span<const std::byte> s) -> std::size_t {
    if (s.empty() || s.back() != std::byte{'\n'}) {
      return 0;
    }
    return s.size() >= 2 && s[s.size() - 2] == std::byte{'\r'} ? 2 : 1;
  });
  if (strip == 0) {
    return std::move(secret);
  }
  Secret trimmed = factory.create_with(secret.size() - strip, [&](std::span<std::byte> out) {
    secret.with_bytes([&](std::span<const std::byte> in) { std::memcpy(out.data(), in.data(), out.size()); });
  });
  secret.close();
  return trimmed;
}

Secret acquire(const SecretFactory& factory, const SecretSpec& spec, const AcquireOptions& options)
{
  Secret secret = [&] {
    switch (spec.kind) {
    case SourceKind::prompt:
      return prompt_secret(factory, spec.name, spec.argument, options.max_size);
    case SourceKind::stdin_:
      return read_fd(factory, STDIN_FILENO, spec, options.max_size, "cannot read standard input");
    case SourceKind::env:
      return from_env(factory, spec, options.max_size);
    case SourceKind::file:
      return from_file(factory, spec, options.max_size);
    case SourceKind::fd:
      return from_fd(factory, spec, options.max_size);
    case SourceKind::cmd:
      return from_cmd(factory, spec, options.max_size);
    case SourceKind::random:
      return from_random(factory, spec, options.max_size);
    }
    throw RunError(describe(spec) + ": unknown source");
  }();
  return options.trim ? trim_newline(factory, secret) : std::move(secret);
}

} // namespace smem::run
