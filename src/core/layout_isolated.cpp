// Layout::isolated: every secret has its own data pages between two guard pages. The secret's
// last byte touches the trailing guard page, so any overflow faults at once; a random canary just
// before the first byte catches underflows when the secret is closed.
#include "core/layout.hpp"

#include "core/backend_common.hpp"
#include "core/gate.hpp"
#include "core/page.hpp"
#include "core/registry.hpp"
#include "core/strategies.hpp"

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

  [[nodiscard]] Allocation allocate(const Strategies& strategies, std::size_t size) const override
  {
    if (size > k_max_isolated) {
      throw Error(Errc::too_large, "a secret of " + std::to_string(size) + " bytes exceeds the limit of " +
                                       std::to_string(k_max_isolated) + " bytes");
    }
    const std::size_t pages = round_to_pages(size + k_canary_size) / page_size();
    Allocation a;
    a.mapping = strategies.backend->map(pages, strategies.lock_failure); // fresh: writable, key 0
    a.pages = a.mapping.data;
    a.pages_length = a.mapping.data_length;
    a.size = size;
    a.data = a.pages + a.pages_length - size;
    std::memcpy(a.data - k_canary_size, canary(), k_canary_size);
    a.slot = registry_add(a.pages, a.pages_length);
    return a;
  }

  void seal(const Strategies& strategies, Allocation& a) const override
  {
    const GuardImpl& guard = *strategies.guard;
    guard.tag(a.pages, a.pages_length);
    if (!guard.protect(a.pages, a.pages_length, guard.at_rest())) {
      throw_errno(Errc::out_of_memory, "cannot protect secret memory");
    }
  }

  bool release(const Strategies& strategies, Allocation& a, bool writable) const noexcept override
  {
    const GuardImpl& guard = *strategies.guard;
    std::uint32_t ticket = 0;
    if (!writable) {
      try {
        ticket = gate_open(guard, a, Access::write);
      } catch (const Error&) {
        // Cannot write it, so cannot wipe it: unmap at least (the kernel zeroes pages before reuse).
        registry_remove(a.slot);
        strategies.backend->unmap(a.mapping);
        return false;
      }
    }
    if (sodium_memcmp(a.data - k_canary_size, canary(), k_canary_size) != 0) {
      fatal("smem: fatal: the canary before a secret was overwritten (a buffer underflow next to secret "
            "memory); aborting before anything else reads corrupted memory\n");
    }
    sodium_memzero(a.pages, a.pages_length);
    if (!writable && guard.per_thread()) {
      (void)gate_close(guard, a, Access::write, ticket); // PKRU back; the pages go away below
    }
    registry_remove(a.slot);
    return strategies.backend->unmap(a.mapping);
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
