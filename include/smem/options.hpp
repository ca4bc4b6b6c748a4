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
  automatic, // pkey when the CPU and kernel have protection keys and this build supports them, else mprotect
  pkey,      // memory protection keys: access granted to the calling thread only (not yet implemented)
  mprotect,  // PROT_NONE at rest; the first concurrent reader opens, the last one closes
  none,      // always readable, never writable after creation: locking and wiping only
};

// How secrets share pages.
enum class Layout {
  automatic, // the best layout this build offers (isolated today)
  isolated,  // own data pages between two guard pages, data against the trailing guard, canary before it
  pooled,    // slots in shared locked arenas (not yet implemented)
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
