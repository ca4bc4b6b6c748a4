// The registry of live secret memory that the fatal-signal path wipes.
#include "core/registry.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <vector>

using namespace smem;
using namespace smem::test;

TEST_SUITE("core/registry")
{
  TEST_CASE("registry_count follows the live secrets")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::size_t before = detail::registry_count();
        {
          Secret a = make_secret(factory, pattern(10));
          Secret b = factory.create_random(20);
          std::optional<Secret> c = make_secret(factory, pattern(30));
          CHECK(detail::registry_count() == before + 3);
          a.close();
          CHECK(detail::registry_count() == before + 2);
          a.close();
          CHECK(detail::registry_count() == before + 2);
          Secret moved = std::move(b);
          CHECK(detail::registry_count() == before + 2);
          c.reset();
          CHECK(detail::registry_count() == before + 1);
        }
        CHECK(detail::registry_count() == before);
      }
    }
  }

  TEST_CASE("more secrets than one registry chunk holds are all registered")
  {
    const SecretFactory factory(
        Options{.backend = Backend::mlock, .guard = Guard::none, .layout = Layout::isolated});
    const std::size_t before = detail::registry_count();
    std::vector<Secret> secrets;
    for (int i = 0; i < 1500; ++i) {
      secrets.push_back(factory.create_random(8));
    }
    CHECK(detail::registry_count() == before + 1500);
    secrets.clear();
    CHECK(detail::registry_count() == before);
  }

  TEST_CASE("registry_wipe_all wipes every live secret")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const ChildResult r = run_in_child([v]() -> int {
          const SecretFactory factory = factory_for(v);
          const Secret a = make_secret(factory, pattern(100));
          const Secret b = make_secret(factory, pattern(5000, 2));
          if (!holds(a, pattern(100))) {
            return 1;
          }
          detail::registry_wipe_all();
          const bool wiped = a.with_bytes([](std::span<const std::byte> s) { return all_zero(s); }) &&
                             b.with_bytes([](std::span<const std::byte> s) { return all_zero(s); });
          // Exit before the secrets close: their canaries are wiped too, as on the fatal path,
          // where the process never closes them.
          ::_exit(wiped ? 0 : 2);
        });
        INFO(describe(r));
        CHECK(r.exited_with(0));
      }
    }
  }

  TEST_CASE("registry_wipe_all in a forked child skips the parent's secrets without crashing")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(64);
        const Secret parents = make_secret(factory, content);
        const ChildResult r = run_in_child([] {
          detail::registry_wipe_all();
          return 0;
        });
        INFO(describe(r));
        CHECK(r.exited_with(0));
        CHECK(holds(parents, content));
      }
    }
  }

  TEST_CASE("fatal() prints its message and aborts")
  {
    const ChildResult r = run_in_child([]() -> int {
      const SecretFactory factory;
      const Secret s = make_secret(factory, pattern(10));
      detail::fatal("smem-test: fatal path taken\n");
    });
    INFO(describe(r));
    CHECK(r.killed_by(SIGABRT));
    CHECK(r.err.find("smem-test: fatal path taken") != std::string::npos);
  }
}
