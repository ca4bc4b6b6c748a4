// SecretFactory: resolves Options against this machine and makes secrets.
#include "core/backend.hpp"
#include "core/fork.hpp"
#include "core/guard.hpp"
#include "core/layout.hpp"
#include "core/page.hpp"
#include "core/pkey.hpp"
#include "core/release.hpp"
#include "core/secret_core.hpp"
#include "core/strategies.hpp"

#include <smem/secret.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sodium.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace smem {
namespace {

detail::BackendImpl& resolve_backend(Backend requested)
{
  switch (requested) {
  case Backend::automatic:
    return detail::secretmem_available() ? detail::secretmem_backend() : detail::mlock_backend();
  case Backend::secretmem:
    if (!detail::secretmem_available()) {
      throw Error(Errc::unsupported, "Backend::secretmem needs memfd_secret(2): Linux >= 5.14 booted with "
                                     "secretmem.enable=1 and not blocked by seccomp; use Backend::mlock");
    }
    return detail::secretmem_backend();
  case Backend::mlock:
    return detail::mlock_backend();
  }
  throw Error(Errc::invalid_argument, "unknown smem::Backend value");
}

const detail::GuardImpl& resolve_guard(Guard requested)
{
  switch (requested) {
  case Guard::automatic:
    return detail::pkeys_available() ? detail::pkey_guard() : detail::mprotect_guard();
  case Guard::mprotect:
    return detail::mprotect_guard();
  case Guard::none:
    return detail::none_guard();
  case Guard::pkey:
    if (!detail::pkeys_available()) {
      throw Error(Errc::unsupported, "Guard::pkey needs memory protection keys (an x86-64 CPU with PKU and "
                                     "Linux >= 4.9; none of the 15 keys left); use Guard::automatic or "
                                     "Guard::mprotect");
    }
    return detail::pkey_guard();
  }
  throw Error(Errc::invalid_argument, "unknown smem::Guard value");
}

const detail::LayoutImpl& resolve_layout(Layout requested)
{
  switch (requested) {
  case Layout::automatic: // pooled slots for small secrets, isolated pages for large ones
  case Layout::pooled:
    return detail::pooled_layout();
  case Layout::isolated:
    return detail::isolated_layout();
  }
  throw Error(Errc::invalid_argument, "unknown smem::Layout value");
}

// Waits until `fd` is readable (for non-blocking descriptors).
void wait_readable(int fd)
{
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) {
      const int error = errno;
      throw Error(Errc::io, std::string("cannot wait for input: ") + std::strerror(error));
    }
  }
}

} // namespace

SecretFactory::SecretFactory() : SecretFactory(Options{}) {}

SecretFactory::SecretFactory(Options options)
{
  if (sodium_init() < 0) {
    throw Error(Errc::unsupported, "libsodium failed to initialize");
  }
  detail::fork_tracking_init();
  detail::BackendImpl& backend = resolve_backend(options.backend);
  const detail::GuardImpl& guard = resolve_guard(options.guard);
  const detail::LayoutImpl& layout = resolve_layout(options.layout);
  const Options resolved{
      .backend = backend.kind(),
      .guard = guard.kind(),
      .layout = layout.kind(),
      .lock_failure = options.lock_failure,
  };
  m_strategies = std::make_shared<const detail::Strategies>(
      detail::Strategies{&backend, &guard, &layout, options.lock_failure, resolved});
}

Options SecretFactory::options() const noexcept
{
  return m_strategies->resolved;
}

Secret SecretFactory::create(std::span<std::byte> bytes) const
{
  struct WipeSource {
    std::span<std::byte> bytes;
    ~WipeSource() { sodium_memzero(bytes.data(), bytes.size()); }
  } wipe_source{bytes};
  detail::PendingAllocation pending(*m_strategies, bytes.size());
  if (!bytes.empty()) { // an empty span may have a null data(), which memcpy must not see
    std::memcpy(pending.bytes().data(), bytes.data(), bytes.size());
  }
  return Secret(std::make_shared<detail::SecretCore>(m_strategies, pending));
}

Secret SecretFactory::create_random(std::size_t size) const
{
  detail::PendingAllocation pending(*m_strategies, size);
  randombytes_buf(pending.bytes().data(), size);
  return Secret(std::make_shared<detail::SecretCore>(m_strategies, pending));
}

Secret SecretFactory::create_filled(std::size_t size, void (*fill)(void*, std::span<std::byte>),
                                    void* context) const
{
  detail::PendingAllocation pending(*m_strategies, size);
  fill(context, pending.bytes());
  return Secret(std::make_shared<detail::SecretCore>(m_strategies, pending));
}

Secret SecretFactory::read_from(int fd, std::size_t max_size) const
{
  if (fd < 0) {
    throw Error(Errc::invalid_argument, "read_from: invalid file descriptor " + std::to_string(fd));
  }
  const std::size_t limit = std::min(max_size, m_strategies->layout->max_size() - 1);
  // Read into a staging allocation that doubles as needed (protected memory throughout), then copy
  // the exact bytes into the final secret so it ends against its guard page.
  std::size_t capacity = detail::page_size() - detail::k_canary_size;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    capacity = std::max(capacity, static_cast<std::size_t>(st.st_size) + 1); // +1 sees EOF without growing
  }
  capacity = std::min(capacity, limit + 1);
  auto staging = std::make_unique<detail::PendingAllocation>(*m_strategies, capacity);
  std::size_t filled = 0;
  for (;;) {
    if (filled == capacity) {
      if (capacity > limit) {
        throw Error(Errc::too_large,
                    "the input holds more than the limit of " + std::to_string(max_size) + " bytes");
      }
      const std::size_t grown = std::min(capacity * 2, limit + 1);
      auto bigger = std::make_unique<detail::PendingAllocation>(*m_strategies, grown);
      std::memcpy(bigger->bytes().data(), staging->bytes().data(), filled);
      staging = std::move(bigger); // the old staging is wiped and freed here
      capacity = grown;
    }
    const ssize_t n = ::read(fd, staging->bytes().data() + filled, capacity - filled);
    if (n > 0) {
      filled += static_cast<std::size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_readable(fd);
    } else {
      const int error = errno;
      throw Error(Errc::io, std::string("cannot read the secret's source: ") + std::strerror(error));
    }
  }
  detail::PendingAllocation pending(*m_strategies, filled);
  std::memcpy(pending.bytes().data(), staging->bytes().data(), filled);
  staging.reset();
  return Secret(std::make_shared<detail::SecretCore>(m_strategies, pending));
}

} // namespace smem
