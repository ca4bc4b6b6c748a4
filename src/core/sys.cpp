#include "core/sys.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace smem::detail {
namespace {

int memfd_secret_call(unsigned int flags)
{
#ifdef SYS_memfd_secret
  return static_cast<int>(::syscall(SYS_memfd_secret, flags));
#else
  (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}

int pkey_mprotect_call(void* addr, std::size_t length, int prot, int pkey)
{
#ifdef SYS_pkey_mprotect
  return static_cast<int>(::syscall(SYS_pkey_mprotect, addr, length, prot, pkey));
#else
  (void)addr, (void)length, (void)prot, (void)pkey;
  errno = ENOSYS;
  return -1;
#endif
}

const Sys k_real{
    .mmap = ::mmap,
    .munmap = ::munmap,
    .mprotect = ::mprotect,
    .pkey_mprotect = pkey_mprotect_call,
    .mlock = ::mlock,
    .munlock = ::munlock,
    .madvise = ::madvise,
    .memfd_secret = memfd_secret_call,
    .ftruncate = ::ftruncate,
    .close = ::close,
};

Sys g_sys = k_real;

} // namespace

Sys& sys() noexcept
{
  return g_sys;
}
const Sys& real_sys() noexcept
{
  return k_real;
}

} // namespace smem::detail
