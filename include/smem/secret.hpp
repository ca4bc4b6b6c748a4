// libsmem: secrets, readers and the factory that makes them.
//
// Memory layout of an isolated secret (Layout::isolated), as tested by tests/core/:
//
//   | guard page | ...unused... | canary (16 B) | secret bytes | guard page |
//                ^ data pages, locked, never dumped, PROT_NONE at rest ^
//
// The secret ends exactly at the trailing guard page, so a read or write one byte past its end
// faults at once; the canary before it is checked at close and a mismatch aborts the process.
#pragma once

#include <smem/error.hpp>
#include <smem/options.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>

namespace smem {

namespace detail {

class SecretCore;

// RAII read access to one secret: holds a reader slot and the guard open for the calling thread.
// Internal; used by Secret::with_bytes and Reader::read.
class ReadAccess {
public:
  explicit ReadAccess(SecretCore* core);
  ~ReadAccess();
  ReadAccess(const ReadAccess&) = delete;
  ReadAccess& operator=(const ReadAccess&) = delete;

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return m_bytes; }

private:
  friend class SecretCore;
  SecretCore* m_core;
  ReadAccess* m_outer; // the next enclosing access of this thread (to detect close-in-callback)
  std::span<const std::byte> m_bytes;
  std::uint32_t m_ticket = 0; // a per-thread guard's grant, returned on leaving
};

} // namespace detail

class Secret;

// Sequential reads of a secret's bytes into caller buffers. Each read() is one short access, so a
// Reader never keeps the secret open between calls; it stays valid after its Secret is destroyed
// (reads then throw Errc::closed). A Reader is one cursor: use each from one thread at a time.
class Reader {
public:
  // Copies the next min(out.size(), remaining) bytes into `out`; returns how many, 0 at the end.
  // Throws Error(Errc::closed) once the secret is closed.
  std::size_t read(std::span<std::byte> out);

private:
  friend class Secret;
  explicit Reader(std::shared_ptr<detail::SecretCore> core) : m_core(std::move(core)) {}
  std::shared_ptr<detail::SecretCore> m_core;
  std::size_t m_offset = 0;
};

// A secret held in guarded, locked, never-dumped memory. Move-only. Every member may be called
// from any number of threads at once; an access racing close() either completes on intact memory
// or throws Error(Errc::closed). The destructor closes.
class Secret {
public:
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  // Calls f(std::span<const std::byte>) with read access to the bytes for the call's duration and
  // returns what f returns. Writing through the span faults. Throws Error(Errc::closed) when closed.
  template <class F> auto with_bytes(F&& f) const -> std::invoke_result_t<F, std::span<const std::byte>>
  {
    detail::ReadAccess access(m_core.get());
    return std::invoke(std::forward<F>(f), access.bytes());
  }

  // A Reader positioned at the first byte.
  [[nodiscard]] Reader reader() const { return Reader(m_core); }

  // Waits for in-flight accesses, checks the canary, wipes and frees. Idempotent; concurrent
  // callers all return once the memory is wiped. From inside a callback on this secret it throws
  // Error(Errc::would_deadlock), and never throws otherwise: the secret counts as closed even if
  // the kernel refuses to unprotect or unmap its pages.
  void close();

  // True once close() has begun (or after a fork, in the child).
  [[nodiscard]] bool is_closed() const noexcept;

  // The secret's length in bytes (still known after close).
  [[nodiscard]] std::size_t size() const noexcept;

private:
  friend class SecretFactory;
  explicit Secret(std::shared_ptr<detail::SecretCore> core) : m_core(std::move(core)) {}
  std::shared_ptr<detail::SecretCore> m_core;
};

namespace detail {
struct Strategies;
}

// Makes secrets with one resolved set of strategies. Cheap to copy; thread-safe.
class SecretFactory {
public:
  // Uses Options{} (every strategy automatic).
  SecretFactory();
  // Resolves `options` against this machine; throws Error(Errc::unsupported) when an explicitly
  // requested strategy is unavailable.
  explicit SecretFactory(Options options);

  // Copies `bytes` into a new secret, then wipes `bytes` (also when creation fails).
  Secret create(std::span<std::byte> bytes) const;

  // A new secret of `size` bytes from libsodium's CSPRNG, written straight into protected memory.
  Secret create_random(std::size_t size) const;

  // A new secret of `size` bytes written in place by fill(std::span<std::byte>), called once with
  // writable protected memory (zero-filled), so derived values (an encoding, a trimmed copy, a line
  // read from a terminal) never pass through ordinary memory. If fill throws, the memory is wiped
  // and the exception propagates. (An addition to SPEC section 2: the CLI needs it.)
  template <class F> Secret create_with(std::size_t size, F&& fill) const
  {
    using Fill = std::remove_reference_t<F>;
    return create_filled(
        size, [](void* context, std::span<std::byte> out) { (*static_cast<Fill*>(context))(out); },
        const_cast<void*>(static_cast<const void*>(&fill)));
  }

  // Reads `fd` to end of file straight into protected memory (no heap or stack copy). Throws
  // Error(Errc::too_large) if more than `max_size` bytes are readable, Error(Errc::io) on a read
  // error. Retries EINTR and waits (poll) on a non-blocking fd.
  Secret read_from(int fd, std::size_t max_size) const;

  // The strategies in use, with every `automatic` resolved.
  [[nodiscard]] Options options() const noexcept;

private:
  Secret create_filled(std::size_t size, void (*fill)(void*, std::span<std::byte>), void* context) const;
  std::shared_ptr<const detail::Strategies> m_strategies;
};

// Makes the process non-dumpable (PR_SET_DUMPABLE 0: no core file, no ptrace or /proc/PID/mem for
// other processes of the same user), sets the soft RLIMIT_CORE to 0 (the hard limit is kept, so
// programs it executes can restore theirs), and installs handlers that wipe every
// live secret on a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP) where
// the disposition is still the default. Throws Error(Errc::io) if the kernel refuses.
void harden_process();

} // namespace smem
