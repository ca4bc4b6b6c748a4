// Layout::isolated: the memory layout documented in include/smem/secret.hpp,
//   | guard page | ...unused... | canary (16 B) | secret bytes | guard page |
// tested as documented: the secret ends at the trailing guard page, the canary sits right before
// it, both guard pages fault, and a corrupted canary aborts at close.
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

constexpr std::size_t k_sizes[] = {0, 1, 15, 16, 17, 4079, 4080, 4081, 4096, 5000, 65536};

} // namespace

TEST_SUITE("core/layout_isolated")
{
  TEST_CASE("the secret ends at the trailing guard page with the canary right before it")
  {
    const std::size_t page = detail::page_size();
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        for (const std::size_t size : k_sizes) {
          CAPTURE(size);
          const std::vector<std::byte> content = pattern(size);
          const Secret secret = make_secret(factory, content);
          bool canary_in_place = false;
          const Geometry g = secret.with_bytes([&](std::span<const std::byte> s) {
            canary_in_place =
                std::memcmp(s.data() - detail::k_canary_size, detail::canary(), detail::k_canary_size) == 0;
            return geometry_of(s);
          });
          CHECK(canary_in_place);
          const auto end = reinterpret_cast<std::uintptr_t>(g.data + g.size);
          CHECK(end % page == 0);
          CHECK(reinterpret_cast<std::uintptr_t>(g.pages) % page == 0);
          // The trailing and the leading guard page are inaccessible.
          CHECK(protection_of(g.data + g.size) == "---");
          CHECK(protection_of(g.pages - 1) == "---");
          CHECK(holds(secret, content));
        }
      }
    }
  }

  TEST_CASE("the canary is random per process and not all zero")
  {
    const unsigned char* c = detail::canary();
    const bool all_zero_canary =
        std::all_of(c, c + detail::k_canary_size, [](unsigned char b) { return b == 0; });
    CHECK_FALSE(all_zero_canary);
    CHECK(detail::canary() == c);
  }

  TEST_CASE("reading one byte past the end of a secret faults even inside a callback")
  {
    for (const Variant& v : k_variants) {
      for (const std::size_t size : {std::size_t{1}, std::size_t{32}, std::size_t{4080}, std::size_t{5000}}) {
        SUBCASE((std::string(v.name) + " size " + std::to_string(size)).c_str())
        {
          const ChildResult r = run_in_child([v, size] {
            const SecretFactory factory = factory_for(v);
            const Secret secret = make_secret(factory, pattern(size));
            secret.with_bytes([](std::span<const std::byte> s) { touch(s.data() + s.size()); });
            return k_child_no_fault;
          });
          INFO(describe(r));
          CHECK(r.killed_by(SIGSEGV));
        }
      }
    }
  }

  TEST_CASE("reading the leading guard page faults even inside a callback")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const ChildResult r = run_in_child([v] {
          const SecretFactory factory = factory_for(v);
          const Secret secret = make_secret(factory, pattern(100));
          secret.with_bytes([](std::span<const std::byte> s) { touch(geometry_of(s).pages - 1); });
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("a corrupted canary aborts the process at close with a message")
  {
    for (const Variant& v : k_variants) {
      for (const std::size_t offset : {std::size_t{1}, detail::k_canary_size}) {
        SUBCASE((std::string(v.name) + " canary byte -" + std::to_string(offset)).c_str())
        {
          const ChildResult r = run_in_child([v, offset] {
            const SecretFactory factory = factory_for(v);
            Secret secret = make_secret(factory, pattern(24));
            const Geometry g = geometry_of(secret);
            // An underflow by the application: bypass the guard and hit the canary.
            if (::mprotect(g.pages, g.pages_length, PROT_READ | PROT_WRITE) != 0) {
              return 1;
            }
            auto* target = const_cast<std::byte*>(g.data - offset);
            *target = ~*target;
            secret.close();
            return k_child_no_fault;
          });
          INFO(describe(r));
          CHECK(r.killed_by(SIGABRT));
          CHECK(r.err.find("canary") != std::string::npos);
        }
      }
    }
  }

  TEST_CASE("an intact canary closes quietly")
  {
    const ChildResult r = run_in_child([] {
      const SecretFactory factory;
      Secret secret = make_secret(factory, pattern(24));
      secret.close();
      return secret.is_closed() ? 0 : 1;
    });
    INFO(describe(r));
    CHECK(r.exited_with(0));
    CHECK(r.err.empty());
  }

  TEST_CASE("a secret larger than the layout's limit is refused with Errc::too_large before any system call")
  {
    const std::size_t limit = detail::isolated_layout().max_size();
    CHECK(limit >= std::size_t{1} << 20); // the CLI's default --max-size must fit
    const SecretFactory factory;
    SysSpy spy;
    CHECK(error_code_of([&] { (void)factory.create_random(limit + 1); }) == Errc::too_large);
    CHECK(error_code_of([&] { (void)factory.create_random(SIZE_MAX); }) == Errc::too_large);
    CHECK(error_code_of([&] { (void)factory.create_random(SIZE_MAX - 4095); }) == Errc::too_large);
    CHECK(spy.calls(Call::mmap) == 0);
  }
}
