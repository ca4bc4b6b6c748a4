// Guard::mprotect and Guard::none: who can read a secret's pages, and when.
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <vector>

using namespace smem;
using namespace smem::test;

TEST_SUITE("core/guard")
{
  TEST_CASE("pages are readable only during an access with the mprotect guard and never writable")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(6000);
        const Secret secret = make_secret(factory, content);
        const Geometry g = geometry_of(secret);
        const std::string at_rest = v.guard == Guard::none ? "r--" : "---";
        CHECK(protection_of(g.pages) == at_rest);
        CHECK(protection_of(g.data + g.size - 1) == at_rest);
        secret.with_bytes([&](std::span<const std::byte>) {
          CHECK(protection_of(g.pages) == "r--");
          CHECK(protection_of(g.data + g.size - 1) == "r--");
        });
        CHECK(protection_of(g.pages) == at_rest);
        secret.with_bytes([](std::span<const std::byte>) {});
        CHECK(protection_of(g.pages) == at_rest);
      }
    }
  }

  TEST_CASE("a new secret is sealed before its first access")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const std::vector<std::byte> content = pattern(100);
        const auto core = make_core(v.backend, v.guard, content);
        const detail::Allocation& a = core->allocation();
        CHECK(protection_of(a.pages) == (v.guard == Guard::none ? "r--" : "---"));
        CHECK(protection_of(a.pages + a.pages_length - 1) == (v.guard == Guard::none ? "r--" : "---"));
      }
    }
  }

  TEST_CASE("overlapping accesses open and close the mprotect guard once")
  {
    const SecretFactory factory(Options{.guard = Guard::mprotect, .layout = Layout::isolated});
    const Secret a = make_secret(factory, pattern(10));
    const Secret b = make_secret(factory, pattern(10));
    const Geometry g = geometry_of(a);
    SysSpy spy;
    spy.watch(g.pages, g.pages_length);
    a.with_bytes([&](std::span<const std::byte>) {
      a.with_bytes([&](std::span<const std::byte>) {
        b.with_bytes([&](std::span<const std::byte>) { a.with_bytes([](std::span<const std::byte>) {}); });
      });
      Reader r = a.reader();
      std::byte buffer[3];
      CHECK(r.read(buffer) == 3);
    });
    CHECK(spy.mprotect_calls(PROT_READ) == 1);
    CHECK(spy.mprotect_calls(PROT_NONE) == 1);
    CHECK(spy.mprotect_calls(PROT_READ | PROT_WRITE) == 0);
  }

  TEST_CASE("Guard::none makes no system call per access")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const SecretFactory factory(Options{.backend = b, .guard = Guard::none, .layout = Layout::isolated});
        const std::vector<std::byte> content = pattern(100);
        const Secret secret = make_secret(factory, content);
        SysSpy spy;
        for (int i = 0; i < 10; ++i) {
          CHECK(holds(secret, content));
        }
        CHECK(spy.calls(Call::mprotect) == 0);
        // Still readable outside an access (that is what `none` trades away), never writable.
        const Geometry g = geometry_of(secret);
        CHECK(protection_of(g.data) == "r--");
      }
    }
  }

  TEST_CASE("reading an idle secret's memory outside a callback faults with the mprotect guard")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r = run_in_child([b] {
          const SecretFactory factory(
              Options{.backend = b, .guard = Guard::mprotect, .layout = Layout::isolated});
          const Secret secret = make_secret(factory, pattern(32));
          const std::byte* leaked = secret.with_bytes([](std::span<const std::byte> s) { return s.data(); });
          touch(leaked);
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("writing through the span inside a read callback faults")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const ChildResult r = run_in_child([v] {
          const SecretFactory factory = factory_for(v);
          const Secret secret = make_secret(factory, pattern(32));
          secret.with_bytes([](std::span<const std::byte> s) { poke(s.data() + 5); });
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("when opening the guard fails the access throws and the memory stays unreadable")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const SecretFactory factory(
            Options{.backend = b, .guard = Guard::mprotect, .layout = Layout::isolated});
        const std::vector<std::byte> content = pattern(40);
        Secret secret = make_secret(factory, content);
        const Geometry g = geometry_of(secret);
        {
          SysSpy spy;
          spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = PROT_READ});
          bool called = false;
          CHECK(error_code_of([&] {
                  secret.with_bytes([&](std::span<const std::byte>) { called = true; });
                }) == Errc::out_of_memory);
          CHECK_FALSE(called);
          CHECK(protection_of(g.pages) == "---");
          Reader reader = secret.reader();
          std::byte buffer[4];
          CHECK(error_code_of([&] { (void)reader.read(buffer); }) == Errc::out_of_memory);
          CHECK_FALSE(secret.is_closed());
        }
        // The fault is gone: the secret reads and closes (no reader slot was leaked).
        CHECK(holds(secret, content));
        CHECK(protection_of(g.pages) == "---");
        secret.close();
        CHECK(secret.is_closed());
      }
    }
  }

  TEST_CASE("when opening the guard fails the state word is unchanged")
  {
    const std::vector<std::byte> content = pattern(40);
    auto core = make_core(Backend::secretmem, Guard::mprotect, content);
    {
      SysSpy spy;
      spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = PROT_READ});
      CHECK(error_code_of([&] { detail::ReadAccess a(core.get()); }) == Errc::out_of_memory);
      CHECK(core->state() == 0);
    }
    {
      detail::ReadAccess a(core.get());
      CHECK(same_bytes(a.bytes(), content));
    }
    CHECK(core->state() == 0);
  }

  TEST_CASE("when opening the guard fails a pointer kept from an earlier access still faults")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r = run_in_child([b] {
          const SecretFactory factory(
              Options{.backend = b, .guard = Guard::mprotect, .layout = Layout::isolated});
          const Secret secret = make_secret(factory, pattern(32));
          const std::byte* leaked = secret.with_bytes([](std::span<const std::byte> s) { return s.data(); });
          {
            SysSpy spy;
            spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = PROT_READ});
            if (error_code_of([&] { secret.with_bytes([](std::span<const std::byte>) {}); }) !=
                Errc::out_of_memory) {
              return 1;
            }
          }
          touch(leaked);
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("when closing the guard fails the state keeps OPEN and a later access closes it")
  {
    using detail::SecretCore;
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const std::vector<std::byte> content = pattern(40);
        auto core = make_core(b, Guard::mprotect, content);
        const detail::Allocation& allocation = core->allocation();
        const Geometry g = geometry_of(std::span<const std::byte>(allocation.data, allocation.size));
        {
          SysSpy spy;
          spy.fail({.call = Call::mprotect, .error = ENOMEM, .times = 1, .prot = PROT_NONE});
          {
            detail::ReadAccess a(core.get());
            CHECK(same_bytes(a.bytes(), content));
          }
          CHECK(spy.failures(Call::mprotect) == 1);
          // The pages are still readable, and the state word says so.
          CHECK(core->state() == SecretCore::k_open);
          CHECK(protection_of(g.pages) == "r--");

          spy.reset();
          spy.watch(g.pages, g.pages_length);
          {
            detail::ReadAccess a(core.get());
            CHECK(same_bytes(a.bytes(), content));
          }
          CHECK(spy.mprotect_calls(PROT_READ) == 0); // already open: no reopening
          CHECK(spy.mprotect_calls(PROT_NONE) == 1); // the last reader out retried
        }
        CHECK(core->state() == 0);
        CHECK(protection_of(g.pages) == "---");
        core->close();
        CHECK(core->is_closed());
      }
    }
  }

  TEST_CASE("when closing the guard fails close() still wipes and frees")
  {
    const std::vector<std::byte> content = pattern(40);
    const SecretFactory factory(Options{.guard = Guard::mprotect});
    Secret secret = make_secret(factory, content);
    {
      SysSpy spy;
      spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = PROT_NONE});
      CHECK(holds(secret, content));
      CHECK(holds(secret, content));
      secret.close();
    }
    CHECK(secret.is_closed());
  }
}
