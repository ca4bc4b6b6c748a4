// Backend::secretmem: pages from memfd_secret(2), removed from the kernel's direct map, so neither
// swap, core dumps nor root reading /proc/PID/mem can see them. The kernel locks them itself
// (charged to RLIMIT_MEMLOCK at mmap time).
//
// One memfd_secret file per group of pages, never one per secret: a secretmem file can be sized
// only once, so each group is a fixed-size file whose pages are handed out first-fit and reused
// after being wiped. Each secret maps its run of file pages over the middle of an inaccessible
// reservation, which provides the guard pages.
#include "core/backend.hpp"
#include "core/backend_common.hpp"
#include "core/fork.hpp"
#include "core/memlock.hpp"
#include "core/page.hpp"
#include "core/sys.hpp"

#include <smem/error.hpp>

#include <algorithm>
#include <fcntl.h>
#include <list>
#include <mutex>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace smem::detail {
namespace {

constexpr std::size_t k_group_pages = 64;

struct Group {
  int fd = -1;
  std::vector<bool> used; // one flag per page of the file
  std::size_t used_count = 0;

  // First index of a run of `n` free pages, or used.size() if none.
  [[nodiscard]] std::size_t find_run(std::size_t n) const
  {
    std::size_t run = 0;
    for (std::size_t i = 0; i < used.size(); ++i) {
      run = used[i] ? 0 : run + 1;
      if (run == n) {
        return i + 1 - n;
      }
    }
    return used.size();
  }

  void mark(std::size_t first, std::size_t n, bool value)
  {
    std::fill_n(used.begin() + static_cast<std::ptrdiff_t>(first), n, value);
    used_count = value ? used_count + n : used_count - n;
  }
};

class SecretmemBackend final : public BackendImpl {
public:
  [[nodiscard]] Backend kind() const noexcept override { return Backend::secretmem; }

  [[nodiscard]] Mapping map(std::size_t data_pages, LockFailure on_lock_failure) override
  {
    Mapping m = reserve_guarded(data_pages);
    ScopeUnmap undo(m);
    auto [group, offset] = take_pages(data_pages);
    const off_t file_offset = static_cast<off_t>(offset * page_size());
    // Counted first (memlock.hpp): some kernels map past the limit and SIGBUS on first touch.
    const bool accounted = account_locked(m.data_length);
    void* mapped = MAP_FAILED;
    errno = EAGAIN;
    if (accounted) {
      mapped = sys().mmap(m.data, m.data_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, group->fd,
                          file_offset);
      if (mapped == MAP_FAILED && is_lock_refusal(errno) && raise_memlock_soft_limit()) {
        mapped = sys().mmap(m.data, m.data_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, group->fd,
                            file_offset);
      }
    }
    if (mapped == MAP_FAILED) {
      const int error = errno;
      if (accounted) {
        unaccount_locked(m.data_length);
      }
      give_back(group, offset, data_pages);
      if (!is_lock_refusal(error)) {
        errno = error;
        throw_errno(Errc::out_of_memory, "cannot map memfd_secret pages");
      }
      if (on_lock_failure == LockFailure::fail) {
        throw Error(Errc::memlock_limit, memlock_message(m.data_length, "memfd_secret"));
      }
      // LockFailure::warn: secretmem memory is always locked, so fall back to unlocked anonymous
      // memory that is still never dumped.
      // Map afresh rather than mprotect: before Linux 6.12 a failed MAP_FIXED left a hole here.
      warn_unlocked_once(m.data_length);
      if (sys().mmap(m.data, m.data_length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     -1, 0) == MAP_FAILED) {
        throw_errno(Errc::out_of_memory, "cannot map memory for a secret");
      }
      advise(m.data, m.data_length, MADV_DONTDUMP, "MADV_DONTDUMP");
      advise(m.data, m.data_length, MADV_WIPEONFORK, "MADV_WIPEONFORK");
      undo.release();
      return m;
    }
    m.locked = true;
    m.group = group;
    m.group_offset = offset;
    try {
      advise(m.data, m.data_length, MADV_DONTFORK, "MADV_DONTFORK");
    } catch (...) {
      if (sys().munmap(m.base, m.length) == 0) {
        unaccount_locked(m.data_length);
        give_back(group, offset, data_pages);
      }
      undo.release();
      throw;
    }
    undo.release();
    return m;
  }

  bool unmap(const Mapping& mapping) noexcept override
  {
    if (sys().munmap(mapping.base, mapping.length) != 0) {
      // Still mapped: reusing its file pages would show the next secret at this address too.
      return false;
    }
    if (mapping.group != nullptr) {
      unaccount_locked(mapping.data_length);
      give_back(static_cast<Group*>(mapping.group), mapping.group_offset, mapping.data_length / page_size());
    }
    return true;
  }

  // In a forked child: the groups' pages are not mapped here (MADV_DONTFORK) and the parent keeps
  // using its files, so the child must never hand out their pages. Forget them; no lock can be
  // taken (the parent's lock holder does not exist here).
  void forget_after_fork() noexcept
  {
    for (Group& g : m_groups) {
      ::close(g.fd);
    }
    new (&m_groups) std::list<Group>(); // leaks the parent's nodes in the child on purpose
    new (&m_mutex) std::mutex();
    forget_accounted_after_fork();
  }

private:
  std::pair<Group*, std::size_t> take_pages(std::size_t n)
  {
    std::lock_guard lock(m_mutex);
    for (Group& g : m_groups) {
      if (const std::size_t first = g.find_run(n); first != g.used.size()) {
        g.mark(first, n, true);
        return {&g, first};
      }
    }
    const std::size_t pages = std::max(k_group_pages, n);
    const int fd = sys().memfd_secret(O_CLOEXEC);
    if (fd < 0) {
      throw_errno(Errc::unsupported, "memfd_secret(2) is not available (boot Linux >= 5.14 with "
                                     "secretmem.enable=1, allow it in seccomp, or use Backend::mlock)");
    }
    if (sys().ftruncate(fd, static_cast<off_t>(pages * page_size())) != 0) {
      const int error = errno;
      sys().close(fd);
      errno = error;
      throw_errno(Errc::out_of_memory, "cannot size a memfd_secret file");
    }
    Group& g = m_groups.emplace_back();
    g.fd = fd;
    g.used.assign(pages, false);
    g.mark(0, n, true);
    return {&g, 0};
  }

  void give_back(Group* group, std::size_t first, std::size_t n) noexcept
  {
    std::lock_guard lock(m_mutex);
    group->mark(first, n, false);
    // Keep one empty group for the next secret; close the others.
    if (group->used_count == 0 && m_groups.size() > 1) {
      sys().close(group->fd);
      m_groups.remove_if([group](const Group& g) { return &g == group; });
    }
  }

  std::mutex m_mutex;
  std::list<Group> m_groups; // std::list: Mapping::group points at elements
};

SecretmemBackend& instance() noexcept
{
  static SecretmemBackend backend;
  return backend;
}

} // namespace

BackendImpl& secretmem_backend() noexcept
{
  return instance();
}

void secretmem_forget_after_fork() noexcept
{
  instance().forget_after_fork();
}

} // namespace smem::detail
