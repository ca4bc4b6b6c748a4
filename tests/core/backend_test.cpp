// Backends: guarded, locked, never-dumped mappings from memfd_secret(2) or mmap + mlock.
#include "core/backend.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <sodium.h>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

detail::BackendImpl& impl_of(Backend b)
{
  return b == Backend::secretmem ? detail::secretmem_backend() : detail::mlock_backend();
}

} // namespace

TEST_SUITE("core/backend")
{
  TEST_CASE("map gives read-write zero-filled data pages between two inaccessible guard pages")
  {
    const std::size_t page = detail::page_size();
    const bool mlock_works = mlock_is_real();
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        detail::BackendImpl& backend = impl_of(b);
        CHECK(backend.kind() == b);
        for (const std::size_t pages : {std::size_t{1}, std::size_t{3}, std::size_t{70}}) {
          CAPTURE(pages);
          const detail::Mapping m = backend.map(pages, LockFailure::fail);
          CHECK(m.data_length == pages * page);
          CHECK(m.length == m.data_length + 2 * page);
          CHECK(m.data == m.base + page);
          CHECK(m.locked);
          CHECK(protection_of(m.base) == "---");
          CHECK(protection_of(m.data) == "rw-");
          CHECK(protection_of(m.data + m.data_length - 1) == "rw-");
          CHECK(protection_of(m.data + m.data_length) == "---");
          CHECK(all_zero(std::span<const std::byte>(m.data, m.data_length)));
          // Locked (unless a sanitizer makes mlock a no-op) and excluded from core dumps.
          if (b == Backend::secretmem || mlock_works) {
            CHECK(has_vm_flag(m.data, "lo"));
          }
          CHECK(has_vm_flag(m.data, "dd"));
          // Forked children: mlock pages read as zeros, secretmem pages are not there at all.
          CHECK(has_vm_flag(m.data, b == Backend::mlock ? "wf" : "dc"));
          std::memset(m.data, 0xa5, m.data_length);
          std::memset(m.data, 0, m.data_length);
          CHECK(backend.unmap(m));
        }
      }
    }
  }

  TEST_CASE("mapping and unmapping many times leaks neither mappings nor descriptors")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        detail::BackendImpl& backend = impl_of(b);
        {
          const detail::Mapping warm = backend.map(1, LockFailure::fail);
          CHECK(backend.unmap(warm));
        }
        const std::size_t maps_before = mapping_count();
        const std::size_t fds_before = fd_count();
        SysSpy spy;
        for (int round = 0; round < 20; ++round) {
          std::vector<detail::Mapping> live;
          for (std::size_t pages = 1; pages <= 8; ++pages) {
            live.push_back(backend.map(pages, LockFailure::fail));
          }
          for (const detail::Mapping& m : live) {
            CHECK(backend.unmap(m));
          }
        }
        CHECK(spy.net_mapped_bytes() == 0);
        CHECK(mapping_count() == maps_before);
        CHECK(fd_count() == fds_before);
      }
    }
  }

  TEST_CASE("secretmem uses one descriptor for many secrets and not one per secret")
  {
    const SecretFactory factory(Options{.backend = Backend::secretmem});
    std::vector<Secret> warm;
    warm.push_back(factory.create_random(32));
    const std::size_t fds_before = fd_count();
    std::vector<Secret> secrets;
    for (int i = 0; i < 50; ++i) {
      secrets.push_back(factory.create_random(32));
    }
    CHECK(fd_count() <= fds_before + 1);
    secrets.clear();
    warm.clear();
    CHECK(fd_count() <= fds_before);
  }

  TEST_CASE("secretmem pages cannot be read through /proc/self/mem even during an access")
  {
    const SecretFactory factory(Options{.backend = Backend::secretmem});
    const Secret secret = make_secret(factory, pattern(64));
    Fd mem(::open("/proc/self/mem", O_RDONLY | O_CLOEXEC));
    REQUIRE(mem.get() >= 0);
    const ssize_t n = secret.with_bytes([&](std::span<const std::byte> s) {
      std::byte buffer[64];
      const ssize_t got = ::pread(mem.get(), buffer, sizeof buffer, reinterpret_cast<off_t>(s.data()));
      sodium_memzero(buffer, sizeof buffer);
      return got;
    });
    CHECK(n < 0);
  }

  TEST_CASE("a refused mlock with LockFailure::warn gives an unlocked but working mapping")
  {
    const ChildResult r = run_in_child([] {
      SysSpy spy;
      spy.fail({.call = Call::mlock, .error = EPERM});
      const detail::Mapping m = detail::mlock_backend().map(2, LockFailure::warn);
      if (m.locked || protection_of(m.data) != "rw-" || !has_vm_flag(m.data, "dd")) {
        return 1;
      }
      return detail::mlock_backend().unmap(m) ? 0 : 2;
    });
    INFO(describe(r));
    CHECK(r.exited_with(0));
  }

  TEST_CASE("a secret whose memory cannot be given back is still closed and wiped and close() returns")
  {
    // secret.hpp: "The secret counts as closed even if freeing fails"; close() documents no error
    // for it (only Errc::would_deadlock), so it must return normally.
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const SecretFactory factory(Options{.backend = b, .layout = Layout::isolated});
        Secret secret = make_secret(factory, pattern(500));
        const Geometry g = geometry_of(secret);
        std::optional<Errc> code;
        {
          SysSpy spy;
          SUBCASE("munmap fails")
          {
            spy.fail({.call = Call::munmap, .error = EINVAL});
            code = error_code_of([&] { secret.close(); });
            // The memory stays mapped (leaked on purpose by the test): it must hold zeros only.
            REQUIRE(protection_of(g.pages) != "unmapped");
            if (protection_of(g.pages)[0] == 'r') {
              CHECK(all_zero(std::span<const std::byte>(g.pages, g.pages_length)));
            }
          }
          SUBCASE("making the pages writable for the wipe fails")
          {
            spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = PROT_READ | PROT_WRITE});
            code = error_code_of([&] { secret.close(); });
            // It could not be wiped, so it must at least be gone.
            CHECK(protection_of(g.pages) == "unmapped");
          }
        }
        INFO("close() threw " << doctest::StringMaker<std::optional<Errc>>::convert(code));
        CHECK(code == std::nullopt);
        CHECK(secret.is_closed());
        CHECK(error_code_of([&] { secret.close(); }) == std::nullopt);
        CHECK(error_code_of([&] { secret.with_bytes([](std::span<const std::byte>) {}); }) == Errc::closed);
      }
    }
  }
}
