// Guard::mprotect and Guard::none. Guard::pkey (a later issue) will be a third class here.
#include "core/guard.hpp"

#include "core/backend_common.hpp"
#include "core/sys.hpp"

#include <sys/mman.h>

namespace smem::detail {
namespace {

// PROT_NONE at rest; readable (never writable) while at least one reader is inside an access.
class MprotectGuard final : public GuardImpl {
public:
  [[nodiscard]] Guard kind() const noexcept override { return Guard::mprotect; }
  [[nodiscard]] bool toggles() const noexcept override { return true; }

  void seal(std::byte* pages, std::size_t length) const override
  {
    if (sys().mprotect(pages, length, PROT_NONE) != 0) {
      throw_errno(Errc::out_of_memory, "cannot protect secret memory");
    }
  }

  void open_shared(std::byte* pages, std::size_t length) const override
  {
    if (sys().mprotect(pages, length, PROT_READ) != 0) {
      const int error = errno;
      // mprotect can fail after changing part of the range: put all of it back.
      sys().mprotect(pages, length, PROT_NONE);
      errno = error;
      throw_errno(Errc::out_of_memory, "cannot make secret memory readable");
    }
  }

  [[nodiscard]] bool close_shared(std::byte* pages, std::size_t length) const noexcept override
  {
    return sys().mprotect(pages, length, PROT_NONE) == 0;
  }

  [[nodiscard]] bool open_for_wipe(std::byte* pages, std::size_t length) const noexcept override
  {
    return sys().mprotect(pages, length, PROT_READ | PROT_WRITE) == 0;
  }
};

// Always readable, read-only after creation: locking and wiping without access control.
class NoneGuard final : public GuardImpl {
public:
  [[nodiscard]] Guard kind() const noexcept override { return Guard::none; }
  [[nodiscard]] bool toggles() const noexcept override { return false; }

  void seal(std::byte* pages, std::size_t length) const override
  {
    if (sys().mprotect(pages, length, PROT_READ) != 0) {
      throw_errno(Errc::out_of_memory, "cannot make secret memory read-only");
    }
  }

  void open_shared(std::byte*, std::size_t) const override {}
  [[nodiscard]] bool close_shared(std::byte*, std::size_t) const noexcept override { return true; }

  [[nodiscard]] bool open_for_wipe(std::byte* pages, std::size_t length) const noexcept override
  {
    return sys().mprotect(pages, length, PROT_READ | PROT_WRITE) == 0;
  }
};

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

} // namespace smem::detail
