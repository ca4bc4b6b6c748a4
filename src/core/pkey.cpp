#include "core/pkey.hpp"

#include "core/sys.hpp"

#include <atomic>
#include <cerrno>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace smem::detail {
namespace {

#if defined(__x86_64__) && defined(SYS_pkey_alloc)
constexpr bool k_pkey_arch = true;
#else
constexpr bool k_pkey_arch = false;
#endif

// -1: no key (not probed yet, or unavailable). Written once under the static initializer below.
std::atomic<int> g_key{-1};

int probe_key() noexcept
{
  if constexpr (!k_pkey_arch) {
    return -1;
  } else {
    // PKEY_DISABLE_ACCESS: this thread starts denied, like every other thread (the kernel's default
    // PKRU denies every key but 0 to new threads).
    const long key = ::syscall(SYS_pkey_alloc, 0UL, 1UL /* PKEY_DISABLE_ACCESS */);
    if (key < 0) {
      return -1;
    }
    g_key.store(static_cast<int>(key), std::memory_order_release);
    return static_cast<int>(key);
  }
}

} // namespace

bool pkeys_available() noexcept
{
  static const int key = probe_key();
  return key >= 0;
}

int process_pkey() noexcept
{
  return g_key.load(std::memory_order_acquire);
}

bool pkey_tag(std::byte* pages, std::size_t length) noexcept
{
  return sys().pkey_mprotect(pages, length, PROT_READ | PROT_WRITE, process_pkey()) == 0;
}

std::uint32_t pkru_read() noexcept
{
#if defined(__x86_64__)
  std::uint32_t eax = 0;
  std::uint32_t edx = 0;
  asm volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0)); // RDPKRU
  return eax;
#else
  return 0;
#endif
}

void pkru_write(std::uint32_t value) noexcept
{
#if defined(__x86_64__)
  // WRPKRU; "memory": no load or store of secret bytes may move across it.
  asm volatile(".byte 0x0f, 0x01, 0xef" : : "a"(value), "c"(0), "d"(0) : "memory");
#else
  (void)value;
#endif
}

std::uint32_t pkru_with(std::uint32_t pkru, KeyAccess access) noexcept
{
  const unsigned shift = 2U * static_cast<unsigned>(process_pkey());
  const std::uint32_t access_disable = 1U << shift;
  const std::uint32_t write_disable = 2U << shift;
  pkru &= ~(access_disable | write_disable);
  switch (access) {
  case KeyAccess::none:
    return pkru | access_disable;
  case KeyAccess::read:
    return pkru | write_disable;
  case KeyAccess::write:
    return pkru;
  }
  return pkru | access_disable;
}

void pkey_allow_all_for_wipe() noexcept
{
  if (g_key.load(std::memory_order_acquire) >= 0) {
    pkru_write(0);
  }
}

} // namespace smem::detail
