// The live-secret registry and the fatal-signal path. Everything reachable from a signal handler
// here is async-signal-safe: atomics, mprotect, explicit wiping, write, sigaction, raise, abort.
#include "core/registry.hpp"

#include "core/pkey.hpp"

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <new>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

namespace smem::detail {
namespace {

constexpr std::size_t k_chunk_slots = 1024;
std::byte* const k_claimed = reinterpret_cast<std::byte*>(std::uintptr_t{1});

struct Slot {
  std::atomic<std::byte*> base{nullptr}; // nullptr = free, k_claimed = being filled
  std::atomic<std::size_t> length{0};
};

// Chunks are allocated once and never freed, so a signal handler can walk them at any moment.
struct Chunk {
  Slot slots[k_chunk_slots];
  std::atomic<Chunk*> next{nullptr};
};

Chunk g_first;
std::atomic<std::size_t> g_count{0};

Slot* claim(Chunk& chunk) noexcept
{
  for (Slot& slot : chunk.slots) {
    std::byte* expected = nullptr;
    if (slot.base.load(std::memory_order_relaxed) == nullptr &&
        slot.base.compare_exchange_strong(expected, k_claimed, std::memory_order_acquire)) {
      return &slot;
    }
  }
  return nullptr;
}

void on_fatal_signal(int sig, siginfo_t*, void*)
{
  registry_wipe_all();
  // SA_RESETHAND restored the default action; the re-raised signal is delivered (or, for a fault,
  // the faulting instruction re-executed) when this handler returns, and ends the process.
  ::raise(sig);
}

} // namespace

RegistrySlot registry_add(std::byte* pages, std::size_t length) noexcept
{
  Chunk* chunk = &g_first;
  for (;;) {
    if (Slot* slot = claim(*chunk); slot != nullptr) {
      slot->length.store(length, std::memory_order_relaxed);
      slot->base.store(pages, std::memory_order_release);
      g_count.fetch_add(1, std::memory_order_relaxed);
      return RegistrySlot{slot};
    }
    Chunk* next = chunk->next.load(std::memory_order_acquire);
    if (next == nullptr) {
      auto* fresh = new (std::nothrow) Chunk;
      if (fresh == nullptr) {
        return RegistrySlot{};
      }
      if (chunk->next.compare_exchange_strong(next, fresh, std::memory_order_acq_rel)) {
        next = fresh;
      } else {
        delete fresh; // another thread appended first; `next` now holds its chunk
      }
    }
    chunk = next;
  }
}

void registry_remove(RegistrySlot& handle) noexcept
{
  if (handle.slot == nullptr) {
    return;
  }
  static_cast<Slot*>(handle.slot)->base.store(nullptr, std::memory_order_release);
  g_count.fetch_sub(1, std::memory_order_relaxed);
  handle.slot = nullptr;
}

void registry_wipe_all() noexcept
{
  pkey_allow_all_for_wipe(); // a handler starts with the kernel's PKRU, which denies our key
  for (Chunk* chunk = &g_first; chunk != nullptr; chunk = chunk->next.load(std::memory_order_acquire)) {
    for (Slot& slot : chunk->slots) {
      std::byte* base = slot.base.load(std::memory_order_acquire);
      if (base == nullptr || base == k_claimed) {
        continue;
      }
      const std::size_t length = slot.length.load(std::memory_order_relaxed);
      // Not writable any more (unmapped meanwhile, or not mapped in a forked child): skip it.
      if (::mprotect(base, length, PROT_READ | PROT_WRITE) == 0) {
        sodium_memzero(base, length);
      }
    }
  }
}

std::size_t registry_count() noexcept
{
  return g_count.load(std::memory_order_relaxed);
}

void fatal(const char* message) noexcept
{
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, std::strlen(message));
  registry_wipe_all();
  std::abort();
}

void install_fatal_signal_handlers() noexcept
{
  // An alternate stack for this thread, so a stack overflow still reaches the wipe.
  static char alt_stack[64 * 1024];
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) != 0) {
    stack_t stack{};
    stack.ss_sp = alt_stack;
    stack.ss_size = sizeof alt_stack;
    ::sigaltstack(&stack, nullptr);
  }
  for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) != 0 ||
        old.sa_handler != SIG_DFL) {
      continue; // someone else handles it (a sanitizer, the application): leave it alone
    }
    struct sigaction action {};
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
}

} // namespace smem::detail
