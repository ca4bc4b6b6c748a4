// Guard::mprotect, Guard::none and Guard::pkey.
#include "core/guard.hpp"

#include "core/backend_common.hpp"
#include "core/pkey.hpp"
#include "core/sys.hpp"

#include <sys/mman.h>

namespace smem::detail {
namespace {

int prot_of(Access access) noexcept
{
  switch (access) {
  case Access::none:
    return PROT_NONE;
  case Access::read:
    return PROT_READ;
  case Access::write:
    return PROT_READ | PROT_WRITE;
  }
  return PROT_NONE;
}

// Page protection for every thread: base of mprotect and none.
class PageGuard : public GuardImpl {
public:
  [[nodiscard]] bool per_thread() const noexcept final { return false; }
  void tag(std::byte*, std::size_t) const final {}
  [[nodiscard]] bool protect(std::byte* pages, std::size_t length, Access access) const noexcept final
  {
    return sys().mprotect(pages, length, prot_of(access)) == 0;
  }
  [[nodiscard]] std::uint32_t grant(Access) const noexcept final { return 0; }
  void restore(std::uint32_t) const noexcept final {}
};

// PROT_NONE at rest; readable (never writable) while at least one reader is inside an access.
class MprotectGuard final : public PageGuard {
public:
  [[nodiscard]] Guard kind() const noexcept override { return Guard::mprotect; }
  [[nodiscard]] Access at_rest() const noexcept override { return Access::none; }
};

// Always readable: locking and wiping without access control. Isolated secrets are read-only after
// creation; pooled arenas stay writable (see layout_pooled.cpp).
class NoneGuard final : public PageGuard {
public:
  [[nodiscard]] Guard kind() const noexcept override { return Guard::none; }
  [[nodiscard]] Access at_rest() const noexcept override { return Access::read; }
};

// Memory protection keys: pages tagged once, access per thread through PKRU.
class PkeyGuard final : public GuardImpl {
public:
  [[nodiscard]] Guard kind() const noexcept override { return Guard::pkey; }
  [[nodiscard]] bool per_thread() const noexcept override { return true; }
  [[nodiscard]] Access at_rest() const noexcept override { return Access::none; }

  void tag(std::byte* pages, std::size_t length) const override
  {
    if (!pkey_tag(pages, length)) {
      throw_errno(Errc::out_of_memory, "cannot tag secret memory with a protection key");
    }
  }

  [[nodiscard]] bool protect(std::byte*, std::size_t, Access) const noexcept override { return true; }

  // Grants are counted per thread rather than saved and restored, because they need not end in
  // the order they began (read_from's staging buffers, a secret created inside another's
  // callback): the key's bits always reflect the strongest access this thread still holds.
  // Tickets: 0 = nothing granted (restore does nothing), else what was granted.
  [[nodiscard]] std::uint32_t grant(Access access) const noexcept override
  {
    if (access == Access::none) {
      return 0;
    }
    ++(access == Access::write ? t_writes : t_reads);
    apply();
    return access == Access::write ? k_write_ticket : k_read_ticket;
  }

  void restore(std::uint32_t ticket) const noexcept override
  {
    if (ticket == 0) {
      return;
    }
    --(ticket == k_write_ticket ? t_writes : t_reads);
    apply();
  }

private:
  static void apply() noexcept
  {
    const KeyAccess access = t_writes != 0  ? KeyAccess::write
                             : t_reads != 0 ? KeyAccess::read
                                            : KeyAccess::none;
    pkru_write(pkru_with(pkru_read(), access));
  }

  static constexpr std::uint32_t k_read_ticket = 1;
  static constexpr std::uint32_t k_write_ticket = 2;
  static thread_local std::uint32_t t_reads;
  static thread_local std::uint32_t t_writes;
};

thread_local std::uint32_t PkeyGuard::t_reads = 0;
thread_local std::uint32_t PkeyGuard::t_writes = 0;

} // namespace

const GuardImpl& mprotect_guard() noexcept
{
  static const MprotectGuard guard;
  return guard;
}

const GuardImpl& none_guard() noexcept
{
  static const NoneGuard guard;
  return guard;
}

const GuardImpl& pkey_guard() noexcept
{
  static const PkeyGuard guard;
  return guard;
}

} // namespace smem::detail
