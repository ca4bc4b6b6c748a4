#include "core/memlock.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <linux/capability.h>
#include <string>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace smem::detail {
namespace {

std::string limit_text(rlim_t value)
{
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value) + " bytes";
}

// VmLck from /proc/self/status, in bytes; -1 if unknown.
long long locked_bytes()
{
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) {
    return -1;
  }
  char line[256];
  long long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmLck: %lld kB", &kib) == 1) {
      break;
    }
  }
  std::fclose(f);
  return kib < 0 ? -1 : kib * 1024;
}

std::atomic<std::size_t> g_accounted{0};

// Whether this process may lock memory beyond RLIMIT_MEMLOCK (CAP_IPC_LOCK in its effective set).
// Asked each time: a process may drop privileges after its first secret.
bool may_exceed_memlock() noexcept
{
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) {
    return false;
  }
  return (data[CAP_IPC_LOCK / 32].effective & (1U << (CAP_IPC_LOCK % 32))) != 0;
}

} // namespace

bool account_locked(std::size_t bytes) noexcept
{
  if (may_exceed_memlock()) {
    g_accounted.fetch_add(bytes, std::memory_order_relaxed);
    return true;
  }
  for (bool raised = false;;) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
      g_accounted.fetch_add(bytes, std::memory_order_relaxed);
      return true;
    }
    std::size_t held = g_accounted.load(std::memory_order_relaxed);
    while (held + bytes <= limit.rlim_cur) {
      if (g_accounted.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed)) {
        return true;
      }
    }
    if (raised || !raise_memlock_soft_limit()) {
      return false;
    }
    raised = true;
  }
}

void unaccount_locked(std::size_t bytes) noexcept
{
  g_accounted.fetch_sub(bytes, std::memory_order_relaxed);
}

std::size_t accounted_locked() noexcept
{
  return g_accounted.load(std::memory_order_relaxed);
}

void forget_accounted_after_fork() noexcept
{
  g_accounted.store(0, std::memory_order_relaxed);
}

bool raise_memlock_soft_limit() noexcept
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0 || limit.rlim_cur == limit.rlim_max) {
    return false;
  }
  limit.rlim_cur = limit.rlim_max;
  return ::setrlimit(RLIMIT_MEMLOCK, &limit) == 0;
}

std::string memlock_message(std::size_t requested_bytes, const char* what)
{
  rlimit limit{};
  ::getrlimit(RLIMIT_MEMLOCK, &limit);
  std::string message = std::string("cannot lock ") + std::to_string(requested_bytes) +
                        " bytes of secret memory (" + what + "): RLIMIT_MEMLOCK is " +
                        limit_text(limit.rlim_cur) + " (hard limit " + limit_text(limit.rlim_max) + ")";
  if (const long long locked = locked_bytes(); locked >= 0) {
    message += ", " + std::to_string(locked) + " bytes already locked by this process";
  }
  message += "; raise it with `ulimit -l <KiB>` in the shell, LimitMEMLOCK= in a systemd unit, or "
             "`docker run --ulimit memlock=<bytes>` in a container";
  return message;
}

void warn_unlocked_once(std::size_t requested_bytes) noexcept
{
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) {
    return;
  }
  char text[256];
  const int n = std::snprintf(text, sizeof text,
                              "smem: warning: RLIMIT_MEMLOCK refused locking %zu bytes; secrets are held in "
                              "unlocked memory that may be swapped (raise it with `ulimit -l`)\n",
                              requested_bytes);
  if (n > 0) {
    [[maybe_unused]] const auto written =
        ::write(STDERR_FILENO, text,
                static_cast<std::size_t>(n) < sizeof text ? static_cast<std::size_t>(n) : sizeof text - 1);
  }
}

} // namespace smem::detail
