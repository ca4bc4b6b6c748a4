// libsmem: the three independent strategy choices behind every secret, plus the lock policy.
#pragma once

namespace smem {

// Where a secret's pages come from.
enum class Backend {
  automatic, // secretmem when memfd_secret(2) works here, else mlock
  secretmem, // memfd_secret(2): pages removed from the kernel's direct map, unreadable even by root
  mlock,     // anonymous mmap + mlock + MADV_DONTDUMP + MADV_WIPEONFORK
};

// How an idle secret is made unreadable.
enum class Guard {
  automatic, // pkey when the CPU and kernel have protection keys, else mprotect
  pkey,      // memory protection keys: access granted to the calling thread only, for one callback,
             // with no system call; other threads fault even while it reads. x86-64 with PKU only.
  mprotect,  // PROT_NONE at rest; the first concurrent reader opens, the last one closes. Pooled
             // secrets sharing a page are readable together while any of them is read.
  none,      // always readable: locking and wiping only. Isolated secrets are read-only after
             // creation; pooled arenas stay writable (no system call per secret).
};

// How secrets share pages.
enum class Layout {
  automatic, // pooled
  isolated,  // own data pages between two guard pages, data against the trailing guard, canary before it
  pooled,    // secrets up to 1 KiB in size-class slots of shared locked arenas (a canary per slot,
             // padding checked at close); larger secrets get isolated pages
};

// What happens when the kernel refuses to lock memory (RLIMIT_MEMLOCK).
enum class LockFailure {
  fail, // throw Error(Errc::memlock_limit)
  warn, // print one warning per process on stderr and use unlocked memory
};

// The strategies a SecretFactory uses; an aggregate, so designated initializers work:
// `smem::Options{.layout = smem::Layout::isolated}`.
struct Options {
  Backend backend = Backend::automatic;
  Guard guard = Guard::automatic;
  Layout layout = Layout::automatic;
  LockFailure lock_failure = LockFailure::fail;
};

} // namespace smem
