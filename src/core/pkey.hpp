// Memory protection keys (x86 PKU): the primitives behind Guard::pkey.
//
// One key is allocated per process, the first time a factory asks for Guard::pkey or
// Guard::automatic on a machine that has keys, and never freed. Every secret mapping of a pkey
// factory is tagged with it once (pkey_mprotect). At rest every thread's PKRU register denies the
// key (the kernel starts threads that way), so no thread can read or write secret pages; an access
// grants the calling thread read (or, while a secret is written or wiped, write) for as long as it
// lasts and then puts the previous PKRU value back. Other threads stay locked out throughout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smem::detail {

// Whether this CPU and kernel give us a protection key (probed once; allocates the key).
bool pkeys_available() noexcept;

// The process's key; pkeys_available() must be true.
int process_pkey() noexcept;

// Tags [pages, pages + length) with the process key, readable and writable in the page tables (the
// key decides who may touch them). Returns false with errno set if the kernel refused.
bool pkey_tag(std::byte* pages, std::size_t length) noexcept;

// The calling thread's PKRU register, and a new value for it.
std::uint32_t pkru_read() noexcept;
void pkru_write(std::uint32_t value) noexcept;

// `pkru` with the process key's two bits set for: no access, read only, or read and write.
enum class KeyAccess : std::uint8_t { none, read, write };
std::uint32_t pkru_with(std::uint32_t pkru, KeyAccess access) noexcept;

// For the fatal-signal path (async-signal-safe): if a key is in use, let this thread write every
// key's pages, so the registry can wipe them. Signal handlers start with the kernel's default PKRU,
// which denies our key.
void pkey_allow_all_for_wipe() noexcept;

} // namespace smem::detail
