// Layout::pooled: small secrets in size-class slots of shared locked arenas.
//   | canary (16 B) | secret bytes | zero padding to the class size |  per slot
// tested as documented in src/core/layout_pooled.cpp: mappings and descriptors grow per arena, not
// per secret; neighbours on one page never hide each other; a slot's canary and padding catch
// overflows; empty arenas go back; no system call per secret with Guard::none; capacity as an
// unprivileged user under small memlock limits.
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>

using namespace smem;
using namespace smem::test;

namespace {

const std::byte* data_of(const Secret& secret)
{
  return secret.with_bytes([](std::span<const std::byte> s) { return s.data(); });
}

const std::byte* page_of(const std::byte* p)
{
  return reinterpret_cast<const std::byte*>(reinterpret_cast<std::uintptr_t>(p) & ~(detail::page_size() - 1));
}

// Exit codes of the capacity children.
constexpr int k_setup_failed = 10;
constexpr int k_refused = 11;
constexpr int k_wrong_content = 12;
constexpr int k_mappings_per_secret = 13;
constexpr int k_fds_per_secret = 14;
constexpr int k_skip_mlock_not_enforced = 77;

// In a forked child: RLIMIT_MEMLOCK soft = hard = `limit`, uid nobody, then `count` live secrets of
// 32 bytes. Checks each holds its bytes and that mappings and descriptors grew per arena only.
int live_secrets_as_nobody(Backend backend, rlim_t limit, int count)
{
  if (!become_nobody_with_memlock(limit)) {
    return k_setup_failed;
  }
  if (backend == Backend::mlock && !mlock_is_real()) {
    return k_skip_mlock_not_enforced;
  }
  const SecretFactory factory(Options{.backend = backend});
  const std::size_t maps_before = mapping_count();
  const std::size_t fds_before = fd_count();
  const std::size_t arenas_before = detail::pool_stats().arenas;
  std::vector<Secret> secrets;
  secrets.reserve(static_cast<std::size_t>(count));
  try {
    for (int i = 0; i < count; ++i) {
      std::array<std::byte, 32> bytes{};
      std::memcpy(bytes.data(), &i, sizeof i);
      secrets.push_back(factory.create(bytes));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "after %zu secrets: %s\n", secrets.size(), e.what());
    return k_refused;
  }
  for (int i = 0; i < count; ++i) {
    const bool right = secrets[static_cast<std::size_t>(i)].with_bytes([i](std::span<const std::byte> s) {
      int value = -1;
      std::memcpy(&value, s.data(), sizeof value);
      return s.size() == 32 && value == i;
    });
    if (!right) {
      return k_wrong_content;
    }
  }
  const std::size_t arenas = detail::pool_stats().arenas - arenas_before;
  std::fprintf(stderr, "%d secrets: %zu arenas, %zu more mappings, %zu more descriptors\n", count, arenas,
               mapping_count() - maps_before, fd_count() - fds_before);
  // An arena is at most three mappings (guard, data, guard); secretmem adds one file per 64 pages.
  if (k_mapping_count_reliable && mapping_count() - maps_before > 3 * arenas + 3) {
    return k_mappings_per_secret;
  }
  if (fd_count() - fds_before > arenas) {
    return k_fds_per_secret;
  }
  return 0;
}

} // namespace

TEST_SUITE("core/layout_pooled")
{
  TEST_CASE("thousands of small secrets share a few arenas: mappings and descriptors grow per arena")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const SecretFactory factory(Options{.backend = b, .layout = Layout::pooled});
        const std::size_t maps_before = mapping_count();
        const std::size_t fds_before = fd_count();
        const std::size_t arenas_before = detail::pool_stats().arenas;
        std::vector<Secret> secrets;
        for (int i = 0; i < 2000; ++i) {
          secrets.push_back(factory.create_random(32));
        }
        const std::size_t arenas = detail::pool_stats().arenas - arenas_before;
        INFO("arenas: " << arenas << ", mappings: +" << mapping_count() - maps_before << ", fds: +"
                        << fd_count() - fds_before);
        // 2000 slots of 48 bytes (85 per page) are 24 pages: arenas of 4, 4, 8 and 16 pages, or one
        // page each under Guard::mprotect.
        CHECK(arenas <= (factory.options().guard == Guard::mprotect ? 24U : 4U));
        CHECK(mapping_count() - maps_before <= 3 * arenas + 3);
        CHECK(fd_count() - fds_before <= arenas);
        // Neighbours in one page, each with its own bytes.
        CHECK(page_of(data_of(secrets[0])) == page_of(data_of(secrets[1])));
      }
    }
  }

  TEST_CASE("a pooled secret's page is readable during an access and a neighbour's close never hides it")
  {
    const SecretFactory factory(Options{.guard = Guard::mprotect, .layout = Layout::pooled});
    const std::vector<std::byte> content_a = pattern(40, 1);
    const std::vector<std::byte> content_b = pattern(40, 2);
    const Secret a = make_secret(factory, content_a);
    Secret b = make_secret(factory, content_b);
    const std::byte* page = page_of(data_of(a));
    REQUIRE(page == page_of(data_of(b)));
    CHECK(protection_of(page) == "---");
    a.with_bytes([&](std::span<const std::byte> s) {
      CHECK(protection_of(page) == "r--");
      // The neighbour opens, is written by its wipe, and goes away while `a` is being read.
      CHECK(holds(b, content_b));
      b.close();
      CHECK(protection_of(page) == "r--");
      CHECK(same_bytes(s, content_a));
      // A new secret is written into the same page while it is being read.
      std::vector<std::byte> c_source = pattern(40, 3);
      const Secret c = factory.create(c_source);
      CHECK(page_of(data_of(c)) == page);
      CHECK(protection_of(page) == "r--");
      CHECK(same_bytes(s, content_a));
    });
    CHECK(protection_of(page) == "---");
    CHECK(holds(a, content_a));
  }

  TEST_CASE("when hiding a pooled page fails, close() still wipes and the page is hidden at its next change")
  {
    const SecretFactory factory(Options{.guard = Guard::mprotect, .layout = Layout::pooled});
    const std::vector<std::byte> content = pattern(40);
    Secret a = make_secret(factory, content);
    const Secret b = make_secret(factory, content);
    const std::byte* page = page_of(data_of(a));
    REQUIRE(page == page_of(data_of(b)));
    {
      SysSpy spy;
      spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = PROT_NONE});
      CHECK(holds(a, content));
      CHECK(protection_of(page) == "r--"); // could not be hidden: still open, and counted so
      a.close();
      CHECK(a.is_closed());
    }
    CHECK(holds(b, content));
    CHECK(protection_of(page) == "---");
  }

  TEST_CASE("when a new arena cannot be protected, creation throws and the arena goes back to the backend")
  {
    // A pool no other test uses (LockFailure::warn) and a class of its own: a fresh arena.
    const SecretFactory factory(Options{.backend = Backend::secretmem,
                                        .guard = Guard::mprotect,
                                        .layout = Layout::pooled,
                                        .lock_failure = LockFailure::warn});
    const std::size_t arenas_before = detail::pool_stats().arenas;
    const std::size_t locked_before = detail::accounted_locked();
    {
      SysSpy spy;
      spy.fail({.call = Call::mprotect, .error = ENOMEM, .times = 1, .prot = PROT_NONE});
      CHECK(error_code_of([&] { (void)factory.create_random(700); }) == Errc::out_of_memory);
      CHECK(spy.failures(Call::mprotect) == 1);
      CHECK(spy.net_mapped_bytes() == 0);
    }
    CHECK(detail::pool_stats().arenas == arenas_before);
    CHECK(detail::accounted_locked() == locked_before); // given back through the backend
    const std::vector<std::byte> content = pattern(700);
    const Secret secret = make_secret(factory, content); // the pages came back zero: no false alarm
    CHECK(holds(secret, content));
  }

  TEST_CASE("a pooled secret is never writable, even inside an access")
  {
    for (const Guard g : {Guard::mprotect, Guard::none}) {
      SUBCASE(g == Guard::mprotect ? "mprotect" : "none")
      {
        const ChildResult r = run_in_child([g] {
          const SecretFactory factory(Options{.guard = g, .layout = Layout::pooled});
          const Secret secret = factory.create_random(32);
          secret.with_bytes([](std::span<const std::byte> s) { poke(s.data()); });
          return k_child_no_fault;
        });
        INFO(describe(r));
        if (g == Guard::mprotect) {
          CHECK(r.killed_by(SIGSEGV));
        } else {
          // Guard::none keeps pooled arenas writable (options.hpp): no fault, and that is documented.
          CHECK(r.exited_with(k_child_no_fault));
        }
      }
    }
  }

  TEST_CASE("creating and closing a pooled secret makes no system call with Guard::none and no mapping "
            "call with Guard::mprotect")
  {
    for (const Guard g : {Guard::none, Guard::mprotect}) {
      SUBCASE(g == Guard::none ? "none" : "mprotect")
      {
        const SecretFactory factory(Options{.guard = g, .layout = Layout::pooled});
        const Secret warm = factory.create_random(32); // the arena exists from here on
        SysSpy spy;
        for (int i = 0; i < 100; ++i) {
          Secret s = factory.create_random(32);
          s.with_bytes([](std::span<const std::byte>) {});
          s.close();
        }
        CHECK(spy.calls(Call::mmap) == 0);
        CHECK(spy.calls(Call::munmap) == 0);
        CHECK(spy.calls(Call::mlock) == 0);
        CHECK(spy.calls(Call::memfd_secret) == 0);
        if (g == Guard::none) {
          CHECK(spy.total_calls() == 0);
        } else {
          // Written (open, seal), read (open, close), wiped (open, close): six page changes.
          CHECK(spy.calls(Call::mprotect) == 600);
        }
      }
    }
  }

  TEST_CASE("an overflow into a pooled secret's padding or the next slot's canary aborts with a message")
  {
    struct Case {
      const char* name;
      std::ptrdiff_t offset; // from the secret's first byte
      bool create_next;      // the corruption is found when the next slot is taken, not at close
    };
    // A 20-byte secret sits in a 32-byte class: 12 bytes of padding, then the next slot's canary.
    for (const Case c :
         {Case{"padding", 20, false}, Case{"own canary", -1, false}, Case{"next slot's canary", 32, true}}) {
      SUBCASE(c.name)
      {
        const ChildResult r = run_in_child([c] {
          const SecretFactory factory(Options{.guard = Guard::none, .layout = Layout::pooled});
          Secret secret = factory.create_random(20);
          auto* target = const_cast<std::byte*>(data_of(secret)) + c.offset; // writable: Guard::none
          *target = ~*target;
          if (c.create_next) {
            const Secret next = factory.create_random(20);
          } else {
            secret.close();
          }
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGABRT));
        CHECK(r.err.find("canary or padding around a pooled secret") != std::string::npos);
      }
    }
  }

  TEST_CASE("intact slots close quietly and a closed slot is wiped")
  {
    const SecretFactory factory(Options{.guard = Guard::none, .layout = Layout::pooled});
    Secret secret = make_secret(factory, pattern(100));
    const std::byte* data = data_of(secret);
    secret.close();
    // Guard::none leaves the arena readable: the slot's bytes are zero once closed.
    CHECK(all_zero(std::span<const std::byte>(data, 100)));
  }

  TEST_CASE("secrets over 1 KiB get isolated pages under Layout::pooled")
  {
    const SecretFactory factory(Options{.layout = Layout::pooled});
    const std::size_t slots_before = detail::pool_stats().slots_in_use;
    const Secret small = factory.create_random(detail::k_pooled_max_size);
    const Secret large = factory.create_random(detail::k_pooled_max_size + 1);
    CHECK(detail::pool_stats().slots_in_use == slots_before + 1);
    // The large one ends against its trailing guard page, as isolated secrets do.
    const std::byte* end = data_of(large) + large.size();
    CHECK(page_of(end) == end);
    CHECK(protection_of(end) == "---");
  }

  TEST_CASE("empty arenas go back to the backend")
  {
    const SecretFactory factory(Options{.layout = Layout::pooled});
    const std::size_t arenas_before = detail::pool_stats().arenas;
    const std::size_t maps_before = mapping_count();
    {
      std::vector<Secret> secrets;
      for (int i = 0; i < 3000; ++i) {
        secrets.push_back(factory.create_random(64));
      }
      CHECK(detail::pool_stats().arenas >= arenas_before + 3);
    }
    // At most the class's last arena is kept for the next secret.
    CHECK(detail::pool_stats().arenas <= arenas_before + 1);
    CHECK(mapping_count() <= maps_before + 3);
  }

  TEST_CASE("as an unprivileged user 100,000 secrets of 32 bytes live under an 8 MiB memlock limit")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r =
            run_in_child([b] { return live_secrets_as_nobody(b, 8 * 1024 * 1024, 100000); });
        INFO(describe(r) << "\n" << r.err);
        if (r.exited_with(k_skip_mlock_not_enforced)) {
          MESSAGE("mlock is not enforced in this build (sanitizer): capacity not tested for mlock");
          continue;
        }
        CHECK(r.exited_with(0));
      }
    }
  }

  TEST_CASE("as an unprivileged user 1,000 secrets of 32 bytes live under a 64 KiB memlock limit")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r = run_in_child([b] { return live_secrets_as_nobody(b, 64 * 1024, 1000); });
        INFO(describe(r) << "\n" << r.err);
        if (r.exited_with(k_skip_mlock_not_enforced)) {
          MESSAGE("mlock is not enforced in this build (sanitizer): capacity not tested for mlock");
          continue;
        }
        CHECK(r.exited_with(0));
      }
    }
  }

  TEST_CASE("past the memlock limit a pooled factory throws Errc::memlock_limit and its secrets stay intact")
  {
    const ChildResult r = run_in_child([] {
      if (!become_nobody_with_memlock(64 * 1024)) {
        return k_setup_failed;
      }
      const SecretFactory factory;
      std::vector<Secret> secrets;
      try {
        for (int i = 0; i < 100000; ++i) {
          secrets.push_back(factory.create_random(32));
        }
      } catch (const Error& e) {
        if (e.code() != Errc::memlock_limit || std::string(e.what()).find("ulimit -l") == std::string::npos) {
          return 1;
        }
        std::fprintf(stderr, "refused after %zu secrets\n", secrets.size());
        // Between 1,000 (the documented floor) and what 64 KiB of 48-byte slots can hold.
        if (secrets.size() < 1000 || secrets.size() > 16 * 85) {
          return 2;
        }
        const bool readable = std::ranges::all_of(secrets, [](const Secret& s) {
          return s.with_bytes([](std::span<const std::byte> b) { return b.size() == 32; });
        });
        return readable ? 0 : 3;
      }
      return 4;
    });
    INFO(describe(r) << "\n" << r.err);
    CHECK(r.exited_with(0));
  }
}
