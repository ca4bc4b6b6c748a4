#include "core/backend.hpp"

#include "core/page.hpp"
#include "core/sys.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace smem::detail {

std::size_t page_size() noexcept
{
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

bool secretmem_available() noexcept
{
  // Probe with the real call: a test's injected failure must not stick for the whole process.
  static const bool available = [] {
    const int fd = real_sys().memfd_secret(O_CLOEXEC);
    if (fd < 0) {
      return false;
    }
    ::close(fd);
    return true;
  }();
  return available;
}

} // namespace smem::detail

#include "core/backend_common.hpp"
#include "core/memlock.hpp"

#include <cstring>
#include <string>
#include <sys/mman.h>

namespace smem::detail {

void throw_errno(Errc code, const char* what)
{
  const int error = errno;
  throw Error(code, std::string(what) + ": " + std::strerror(error));
}

Mapping reserve_guarded(std::size_t data_pages)
{
  const std::size_t page = page_size();
  Mapping m;
  m.data_length = data_pages * page;
  m.length = m.data_length + 2 * page;
  void* base = sys().mmap(nullptr, m.length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    throw_errno(Errc::out_of_memory, "cannot map memory for a secret");
  }
  m.base = static_cast<std::byte*>(base);
  m.data = m.base + page;
  return m;
}

ScopeUnmap::~ScopeUnmap()
{
  if (m_mapping != nullptr) {
    sys().munmap(m_mapping->base, m_mapping->length);
  }
}

bool is_lock_refusal(int error) noexcept
{
  return error == ENOMEM || error == EPERM || error == EAGAIN;
}

bool lock_pages(std::byte* pages, std::size_t length, LockFailure on_lock_failure, const char* what)
{
  if (sys().mlock(pages, length) == 0) {
    return true;
  }
  if (!is_lock_refusal(errno)) {
    throw_errno(Errc::out_of_memory, "cannot lock secret memory");
  }
  if (raise_memlock_soft_limit() && sys().mlock(pages, length) == 0) {
    return true;
  }
  if (on_lock_failure == LockFailure::warn) {
    warn_unlocked_once(length);
    return false;
  }
  throw Error(Errc::memlock_limit, memlock_message(length, what));
}

void advise(std::byte* pages, std::size_t length, int advice, const char* name)
{
  if (sys().madvise(pages, length, advice) != 0) {
    const int error = errno;
    throw Error(Errc::unsupported,
                std::string("the kernel refused ") + name + " on secret memory: " + std::strerror(error));
  }
}

} // namespace smem::detail
