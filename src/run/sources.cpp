#include "run/sources.hpp"

#include "run/error.hpp"
#include "run/prompt.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sodium.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

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

Secret from_cmd(const SecretFactory& factory, const SecretSpec& spec, std::size_t max_size)
{
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int error = errno;
    throw RunError(describe(spec) + ": cannot create a pipe: " + std::strerror(error));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const char* argv[] = {"sh", "-c", spec.argument.c_str(), nullptr};
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, "/bin/sh", &actions, &attributes, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(out[0]);
    throw RunError(describe(spec) + ": cannot start /bin/sh for the provider: " + std::strerror(spawned));
  }
  const std::string provider = "provider `" + provider_name(spec.argument) + "`";
  int status = 0;
  const auto reap = [&] {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  try {
    Secret secret = read_fd(factory, out[0], spec, max_size, "cannot read the output of " + provider);
    ::close(out[0]);
    reap();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      return secret;
    }
  } catch (...) {
    ::close(out[0]); // a provider still writing gets EPIPE
    ::kill(pid, SIGTERM);
    reap();
    throw;
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
