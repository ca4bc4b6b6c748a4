// The system calls libsmem makes, behind one table so tests can inject failures (ninja's
// DiskInterface idea). Production code always goes through sys(); the default entries are the
// real calls. Every entry returns what the real call returns and sets errno the same way.
#pragma once

#include <cstddef>
#include <sys/types.h>

namespace smem::detail {

struct Sys {
  void* (*mmap)(void* addr, std::size_t length, int prot, int flags, int fd, off_t offset);
  int (*munmap)(void* addr, std::size_t length);
  int (*mprotect)(void* addr, std::size_t length, int prot);
  int (*pkey_mprotect)(void* addr, std::size_t length, int prot, int pkey);
  int (*mlock)(const void* addr, std::size_t length);
  int (*munlock)(const void* addr, std::size_t length);
  int (*madvise)(void* addr, std::size_t length, int advice);
  int (*memfd_secret)(unsigned int flags);
  int (*ftruncate)(int fd, off_t length);
  int (*close)(int fd);
};

// The table in use. Tests may assign entries and must restore them (see ScopedSys in tests).
Sys& sys() noexcept;

// The real system calls.
const Sys& real_sys() noexcept;

} // namespace smem::detail
