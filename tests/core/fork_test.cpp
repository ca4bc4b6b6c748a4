// Fork detection: a secret made before fork() is closed in the child and untouched in the parent.
#include "core/registry.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace smem;
using namespace smem::test;

TEST_SUITE("core/fork")
{
  TEST_CASE("a secret made before fork() is closed in the child and intact in the parent")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(200);
        Secret secret = make_secret(factory, content);
        Reader reader = secret.reader();
        const ChildResult r = run_in_child([&] {
          if (!secret.is_closed()) {
            return 1;
          }
          if (error_code_of([&] { secret.with_bytes([](std::span<const std::byte>) {}); }) != Errc::closed) {
            return 2;
          }
          std::byte buffer[8];
          if (error_code_of([&] { (void)reader.read(buffer); }) != Errc::closed) {
            return 3;
          }
          if (secret.size() != 200) {
            return 4;
          }
          secret.close(); // must not touch memory the child does not own
          return secret.is_closed() ? 0 : 5;
        });
        INFO(describe(r));
        CHECK(r.exited_with(0));
        CHECK_FALSE(secret.is_closed());
        CHECK(holds(secret, content));
        std::vector<std::byte> buffer(200);
        CHECK(reader.read(buffer) == 200);
        CHECK(same_bytes(buffer, content));
      }
    }
  }

  TEST_CASE("a forked child makes and wipes its own secrets without touching the parent's")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(100);
        // Several parent secrets, so a child reusing the parent's memory would hit one of them.
        std::vector<Secret> parents;
        for (int i = 0; i < 8; ++i) {
          parents.push_back(make_secret(factory, content));
        }
        parents.erase(parents.begin() + 2); // and a hole the child might be tempted to reuse
        const ChildResult r = run_in_child([&] {
          const std::vector<std::byte> mine = pattern(100, 11);
          std::vector<Secret> children;
          for (int i = 0; i < 16; ++i) {
            children.push_back(make_secret(factory, mine));
            if (!holds(children.back(), mine)) {
              return 1;
            }
          }
          children.clear(); // wipes
          return 0;
        });
        INFO(describe(r));
        CHECK(r.exited_with(0));
        for (const Secret& s : parents) {
          CHECK(holds(s, content));
        }
      }
    }
  }
}
