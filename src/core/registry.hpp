// A registry of live secret memory that a fatal-signal handler can walk and wipe using
// async-signal-safe code only: fixed chunks of atomic slots, never freed, no locks.
#pragma once

#include <cstddef>

namespace smem::detail {

// A handle to one registered range; default-constructed = not registered.
struct RegistrySlot {
  void* slot = nullptr;
};

// Registers the page range [pages, pages + length) for wiping on a fatal signal. Never fails: when
// every slot is taken a new chunk is allocated; if even that fails the range stays unregistered.
RegistrySlot registry_add(std::byte* pages, std::size_t length) noexcept;

// Unregisters; safe on an empty handle.
void registry_remove(RegistrySlot& slot) noexcept;

// Makes every registered range writable and wipes it. Async-signal-safe.
void registry_wipe_all() noexcept;

// How many ranges are registered (for tests).
std::size_t registry_count() noexcept;

// Writes `message` to stderr, wipes every live secret and aborts. Async-signal-safe.
[[noreturn]] void fatal(const char* message) noexcept;

// Installs registry-wiping handlers for the fatal signals whose disposition is SIG_DFL.
void install_fatal_signal_handlers() noexcept;

} // namespace smem::detail
