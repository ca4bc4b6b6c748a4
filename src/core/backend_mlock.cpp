// Backend::mlock: anonymous memory, locked, excluded from core dumps, wiped in forked children.
#include "core/backend.hpp"
#include "core/backend_common.hpp"
#include "core/page.hpp"
#include "core/sys.hpp"

#include <smem/error.hpp>

#include <sys/mman.h>

namespace smem::detail {
namespace {

class MlockBackend final : public BackendImpl {
public:
  [[nodiscard]] Backend kind() const noexcept override { return Backend::mlock; }

  [[nodiscard]] Mapping map(std::size_t data_pages, LockFailure on_lock_failure) override
  {
    Mapping m = reserve_guarded(data_pages);
    ScopeUnmap undo(m);
    if (sys().mprotect(m.data, m.data_length, PROT_READ | PROT_WRITE) != 0) {
      throw_errno(Errc::out_of_memory, "cannot make secret pages writable");
    }
    m.locked = lock_pages(m.data, m.data_length, on_lock_failure, "mlock");
    advise(m.data, m.data_length, MADV_DONTDUMP, "MADV_DONTDUMP");
    advise(m.data, m.data_length, MADV_WIPEONFORK, "MADV_WIPEONFORK");
    undo.release();
    return m;
  }

  bool unmap(const Mapping& mapping) noexcept override
  {
    return sys().munmap(mapping.base, mapping.length) == 0;
  }
};

} // namespace

BackendImpl& mlock_backend() noexcept
{
  static MlockBackend backend;
  return backend;
}

} // namespace smem::detail
