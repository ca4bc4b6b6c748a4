// Guard::pkey: memory protection keys give the calling thread, and only it, access for the length of
// one callback. These tests need a CPU with PKU; elsewhere they say so and skip (tools/pkey-vm runs
// them in an emulated machine that has keys).
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace smem;
using namespace smem::test;

namespace {

bool skip_without_pkeys()
{
  if (!detail::pkeys_available()) {
    MESSAGE("this CPU or kernel has no memory protection keys: Guard::pkey not tested here");
    return true;
  }
  return false;
}

constexpr Layout k_layouts[] = {Layout::pooled, Layout::isolated};
const char* name_of(Layout l)
{
  return l == Layout::pooled ? "pooled" : "isolated";
}

} // namespace

TEST_SUITE("core/pkey")
{
  TEST_CASE("Guard::automatic picks pkey exactly when the machine has keys")
  {
    CHECK((SecretFactory().options().guard == Guard::pkey) == detail::pkeys_available());
  }

  TEST_CASE("with Guard::pkey a second thread faults reading a secret the first thread has open")
  {
    if (skip_without_pkeys()) {
      return;
    }
    for (const Layout l : k_layouts) {
      SUBCASE(name_of(l))
      {
        const ChildResult r = run_in_child([l] {
          const SecretFactory factory(Options{.guard = Guard::pkey, .layout = l});
          const std::vector<std::byte> content = pattern(32);
          const Secret secret = make_secret(factory, content);
          // Started before the access: a thread inherits its creator's PKRU, so one started inside
          // the callback would read (see SECURITY.md).
          std::atomic<const std::byte*> target{nullptr};
          std::thread other([&] {
            const std::byte* p = nullptr;
            while ((p = target.load()) == nullptr) {
            }
            touch(p); // must fault: this thread has no access
          });
          const bool owner_reads = secret.with_bytes([&](std::span<const std::byte> s) {
            if (!same_bytes(s, content)) {
              return false;
            }
            target.store(s.data());
            other.join(); // the access stays open until the other thread has tried
            return true;
          });
          return owner_reads ? k_child_no_fault : 1;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("with Guard::pkey the owning thread loses access when the callback ends, by return or by throw")
  {
    if (skip_without_pkeys()) {
      return;
    }
    for (const bool by_throw : {false, true}) {
      SUBCASE(by_throw ? "throw" : "return")
      {
        const ChildResult r = run_in_child([by_throw] {
          const SecretFactory factory(Options{.guard = Guard::pkey});
          const Secret secret = factory.create_random(32);
          const std::byte* data = nullptr;
          try {
            secret.with_bytes([&](std::span<const std::byte> s) {
              data = s.data();
              touch(data);
              if (by_throw) {
                throw std::runtime_error("callback failed");
              }
            });
          } catch (const std::runtime_error&) {
          }
          touch(data); // must fault
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("with Guard::pkey an access is read-only")
  {
    if (skip_without_pkeys()) {
      return;
    }
    const ChildResult r = run_in_child([] {
      const SecretFactory factory(Options{.guard = Guard::pkey});
      const Secret secret = factory.create_random(32);
      secret.with_bytes([](std::span<const std::byte> s) { poke(s.data()); });
      return k_child_no_fault;
    });
    INFO(describe(r));
    CHECK(r.killed_by(SIGSEGV));
  }

  TEST_CASE("a secret made inside another's callback leaves neither write nor read access behind")
  {
    if (skip_without_pkeys()) {
      return;
    }
    for (const bool write : {false, true}) {
      SUBCASE(write ? "write" : "read")
      {
        const ChildResult r = run_in_child([write] {
          const SecretFactory factory(Options{.guard = Guard::pkey});
          const Secret outer = factory.create_random(32);
          const std::byte* inner_data = nullptr;
          std::optional<Secret> inner;
          outer.with_bytes([&](std::span<const std::byte> s) {
            std::vector<std::byte> copy(s.begin(), s.end());
            inner = factory.create(copy);
            inner_data = inner->with_bytes([](std::span<const std::byte> t) { return t.data(); });
            touch(s.data()); // the outer access still reads
          });
          if (write) {
            poke(inner_data);
          } else {
            touch(inner_data);
          }
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("read_from with Guard::pkey leaves the reading thread no access once the secret is made")
  {
    if (skip_without_pkeys()) {
      return;
    }
    // 6000 bytes: read through isolated staging buffers that are never sealed, only released.
    const ChildResult r = run_in_child([] {
      const SecretFactory factory(Options{.guard = Guard::pkey});
      const std::vector<std::byte> content = pattern(6000);
      Pipe pipe = make_pipe();
      if (!write_all(pipe.write.get(), content)) {
        return 1;
      }
      pipe.write.reset(); // end of input
      const Secret secret = factory.read_from(pipe.read.get(), 1 << 20);
      if (!holds(secret, content)) {
        return 2;
      }
      touch(secret.with_bytes([](std::span<const std::byte> s) { return s.data(); })); // must fault
      return k_child_no_fault;
    });
    INFO(describe(r));
    CHECK(r.killed_by(SIGSEGV));
  }

  TEST_CASE("Guard::pkey reads, creates and closes with no system call once the arena exists")
  {
    if (skip_without_pkeys()) {
      return;
    }
    const SecretFactory factory(Options{.guard = Guard::pkey, .layout = Layout::pooled});
    const std::vector<std::byte> content = pattern(48);
    const Secret kept = make_secret(factory, content);
    const Secret warm = factory.create_random(32); // the 32-byte class's arena exists from here on
    SysSpy spy;
    for (int i = 0; i < 100; ++i) {
      CHECK(holds(kept, content));
      Secret s = factory.create_random(32);
      s.close();
    }
    CHECK(spy.total_calls() == 0);
  }

  TEST_CASE("many threads read one pkey secret while another closes it")
  {
    if (skip_without_pkeys()) {
      return;
    }
    const SecretFactory factory(Options{.guard = Guard::pkey});
    for (int round = 0; round < 20; ++round) {
      const std::vector<std::byte> content = pattern(64, static_cast<unsigned>(round));
      Secret secret = make_secret(factory, content);
      std::atomic<long> wrong{0};
      std::atomic<bool> go{false};
      std::vector<std::thread> readers;
      for (int t = 0; t < 4; ++t) {
        readers.emplace_back([&] {
          while (!go.load()) {
          }
          for (int i = 0; i < 1000; ++i) {
            try {
              if (!holds(secret, content)) {
                wrong.fetch_add(1);
              }
            } catch (const Error& e) {
              if (e.code() != Errc::closed) {
                wrong.fetch_add(1);
              }
              break;
            }
          }
        });
      }
      go.store(true);
      secret.close();
      for (std::thread& t : readers) {
        t.join();
      }
      CHECK(wrong.load() == 0);
    }
  }
}
