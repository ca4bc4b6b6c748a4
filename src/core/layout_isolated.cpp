// Layout::isolated: every secret has its own data pages between two guard pages. The secret's
// last byte touches the trailing guard page, so any overflow faults at once; a random canary just
// before the first byte catches underflows when the secret is closed.
#include "core/layout.hpp"

#include "core/page.hpp"
#include "core/registry.hpp"

#include <smem/error.hpp>

#include <cstring>
#include <sodium.h>
#include <string>

namespace smem::detail {
namespace {

constexpr std::size_t k_max_isolated = std::size_t{1} << 30;

class IsolatedLayout final : public LayoutImpl {
public:
  [[nodiscard]] Layout kind() const noexcept override { return Layout::isolated; }

  [[nodiscard]] Allocation allocate(BackendImpl& backend, std::size_t size,
                                    LockFailure on_lock_failure) const override
  {
    if (size > k_max_isolated) {
      throw Error(Errc::too_large, "a secret of " + std::to_string(size) + " bytes exceeds the limit of " +
                                       std::to_string(k_max_isolated) + " bytes");
    }
    const std::size_t pages = round_to_pages(size + k_canary_size) / page_size();
    Allocation a;
    a.mapping = backend.map(pages, on_lock_failure);
    a.pages = a.mapping.data;
    a.pages_length = a.mapping.data_length;
    a.size = size;
    a.data = a.pages + a.pages_length - size;
    std::memcpy(a.data - k_canary_size, canary(), k_canary_size);
    return a;
  }

  bool release(BackendImpl& backend, const Allocation& a) const noexcept override
  {
    if (sodium_memcmp(a.data - k_canary_size, canary(), k_canary_size) != 0) {
      fatal("smem: fatal: the canary before a secret was overwritten (a buffer underflow next to secret "
            "memory); aborting before anything else reads corrupted memory\n");
    }
    sodium_memzero(a.pages, a.pages_length);
    return backend.unmap(a.mapping);
  }

  [[nodiscard]] std::size_t max_size() const noexcept override { return k_max_isolated; }
};

} // namespace

const unsigned char* canary() noexcept
{
  static const auto value = [] {
    struct Bytes {
      unsigned char b[k_canary_size];
    } bytes{};
    randombytes_buf(bytes.b, sizeof bytes.b);
    return bytes;
  }();
  return value.b;
}

const LayoutImpl& isolated_layout() noexcept
{
  static const IsolatedLayout layout;
  return layout;
}

} // namespace smem::detail
