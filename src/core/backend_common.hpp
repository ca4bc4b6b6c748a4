// Helpers shared by the backends (internal to src/core/backend_*.cpp).
#pragma once

#include "core/backend.hpp"

#include <smem/error.hpp>

namespace smem::detail {

// Throws Error(code) with "`what`: strerror(errno)".
[[noreturn]] void throw_errno(Errc code, const char* what);

// An inaccessible reservation of data_pages + 2 guard pages; data points past the first guard.
Mapping reserve_guarded(std::size_t data_pages);

// Unmaps a mapping on scope exit unless released (backends' error paths).
class ScopeUnmap {
public:
  explicit ScopeUnmap(const Mapping& mapping) noexcept : m_mapping(&mapping) {}
  ~ScopeUnmap();
  ScopeUnmap(const ScopeUnmap&) = delete;
  ScopeUnmap& operator=(const ScopeUnmap&) = delete;
  void release() noexcept { m_mapping = nullptr; }

private:
  const Mapping* m_mapping;
};

// Is errno one a refused lock reports (RLIMIT_MEMLOCK or missing CAP_IPC_LOCK)?
bool is_lock_refusal(int error) noexcept;

// mlock with the project's policy: on refusal raise the soft limit to the hard one and retry;
// then warn (returns false: unlocked) or throw Error(memlock_limit).
bool lock_pages(std::byte* pages, std::size_t length, LockFailure on_lock_failure, const char* what);

// madvise that throws Error(unsupported) naming the advice when the kernel refuses it.
void advise(std::byte* pages, std::size_t length, int advice, const char* name);

} // namespace smem::detail
