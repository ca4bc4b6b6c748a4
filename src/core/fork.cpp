#include "core/fork.hpp"

#include "core/backend.hpp"
#include "core/layout.hpp"

#include <atomic>
#include <mutex>
#include <pthread.h>

namespace smem::detail {
namespace {

std::atomic<std::uint64_t> g_generation{0};

void in_child() noexcept
{
  g_generation.fetch_add(1, std::memory_order_relaxed);
  secretmem_forget_after_fork();
  pooled_forget_after_fork();
}

} // namespace

void fork_tracking_init() noexcept
{
  static std::once_flag once;
  std::call_once(once, [] { ::pthread_atfork(nullptr, nullptr, in_child); });
}

std::uint64_t fork_generation() noexcept
{
  return g_generation.load(std::memory_order_relaxed);
}

} // namespace smem::detail
