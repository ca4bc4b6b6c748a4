#include "core/gate.hpp"

#include "core/backend_common.hpp"
#include "core/page.hpp"

#include <cerrno>

namespace smem::detail {
namespace {

Access strongest(const PageShare::Use& use, Access at_rest) noexcept
{
  if (use.writers != 0) {
    return Access::write;
  }
  return use.readers != 0 ? Access::read : at_rest;
}

std::uint32_t& counter(PageShare::Use& use, Access access) noexcept
{
  return access == Access::write ? use.writers : use.readers;
}

// Adds `delta` users of kind `access` to the allocation's shared page and applies the resulting
// protection. On refusal the count is left as it was and errno is set.
bool adjust_shared(const GuardImpl& guard, const Allocation& a, Access access, int delta,
                   bool keep_on_failure = false) noexcept
{
  PageShare& share = *a.share;
  std::lock_guard lock(share.mutex);
  PageShare::Use& use = share.pages[static_cast<std::size_t>(a.pages - share.first_page) / page_size()];
  std::uint32_t& count = counter(use, access);
  count = delta > 0 ? count + 1 : count - 1;
  const Access target = strongest(use, guard.at_rest());
  if (target != use.current) {
    if (!guard.protect(a.pages, a.pages_length, target)) {
      const int error = errno;
      if (!keep_on_failure) {
        count = delta > 0 ? count - 1 : count + 1;
      }
      (void)guard.protect(a.pages, a.pages_length, use.current); // a partial change is undone
      errno = error;
      return false;
    }
    use.current = target;
  }
  return true;
}

} // namespace

std::uint32_t gate_open(const GuardImpl& guard, const Allocation& a, Access access)
{
  if (guard.per_thread()) {
    return guard.grant(access);
  }
  if (a.share != nullptr) {
    // Guard::none leaves pooled arenas writable at rest: nothing to change per access.
    if (guard.at_rest() == Access::none && !adjust_shared(guard, a, access, +1)) {
      throw_errno(Errc::out_of_memory, "cannot change the protection of secret memory");
    }
    return 0;
  }
  if (!guard.protect(a.pages, a.pages_length, access)) {
    const int error = errno;
    (void)guard.protect(a.pages, a.pages_length, guard.at_rest()); // a partial change is undone
    errno = error;
    throw_errno(Errc::out_of_memory, "cannot change the protection of secret memory");
  }
  return 0;
}

bool gate_close(const GuardImpl& guard, const Allocation& a, Access access, std::uint32_t ticket) noexcept
{
  if (guard.per_thread()) {
    guard.restore(ticket);
    return true;
  }
  if (a.share != nullptr) {
    return guard.at_rest() != Access::none || adjust_shared(guard, a, access, -1);
  }
  return guard.protect(a.pages, a.pages_length, guard.at_rest());
}

bool gate_forget(const GuardImpl& guard, const Allocation& a, Access access) noexcept
{
  if (guard.per_thread()) {
    return true; // per-thread grants end with their access, never here
  }
  if (a.share != nullptr) {
    return guard.at_rest() != Access::none || adjust_shared(guard, a, access, -1, true);
  }
  return guard.protect(a.pages, a.pages_length, guard.at_rest());
}

} // namespace smem::detail
