// Secret, Reader and the SecretCore state machine behind them (single-threaded behaviour; the
// thread races are in concurrency_test.cpp).
#include "core/registry.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

struct CallbackFailure {
  int value;
};

// Reads all of `reader` in chunks of `chunk` bytes.
std::vector<std::byte> drain(Reader& reader, std::size_t chunk)
{
  std::vector<std::byte> out;
  std::vector<std::byte> buffer(chunk);
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const std::size_t n = reader.read(buffer);
    if (n == 0) {
      break;
    }
    REQUIRE(n <= chunk);
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

// The watched range of a munmap hook (close must wipe before giving the memory back).
std::byte* g_watch_pages = nullptr;
std::size_t g_watch_length = 0;
std::atomic<int> g_unmaps_of_watched{0};
std::atomic<bool> g_wiped_before_unmap{false};
int (*g_next_munmap)(void*, std::size_t) = nullptr;

int munmap_checking_wipe(void* address, std::size_t length)
{
  auto* lo = static_cast<std::byte*>(address);
  if (g_watch_pages >= lo && g_watch_pages + g_watch_length <= lo + length) {
    g_unmaps_of_watched.fetch_add(1);
    // Readable here only if close made the pages writable first, as it must to wipe them.
    g_wiped_before_unmap = protection_of(g_watch_pages)[0] == 'r' &&
                           all_zero(std::span<const std::byte>(g_watch_pages, g_watch_length));
  }
  return g_next_munmap(address, length);
}

} // namespace

TEST_SUITE("core/secret")
{
  TEST_CASE("with_bytes returns what the callback returns")
  {
    const SecretFactory factory;
    const std::vector<std::byte> content = pattern(48);
    const Secret secret = make_secret(factory, content);

    const int n =
        secret.with_bytes([](std::span<const std::byte> s) { return static_cast<int>(s.size()) + 1; });
    CHECK(n == 49);

    const std::string text =
        secret.with_bytes([](std::span<const std::byte> s) { return std::string(s.size(), 'x'); });
    CHECK(text == std::string(48, 'x'));

    bool called = false;
    secret.with_bytes([&](std::span<const std::byte> s) { called = same_bytes(s, content); });
    CHECK(called);

    // A callback taking a reference to a stateful functor, and a mutable lambda, work too.
    int calls = 0;
    auto counter = [&calls](std::span<const std::byte>) mutable { return ++calls; };
    CHECK(secret.with_bytes(counter) == 1);
    CHECK(secret.with_bytes(counter) == 2);
  }

  TEST_CASE("with_bytes propagates the callback's exception and the secret stays usable")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(20);
        Secret secret = make_secret(factory, content);
        const Geometry g = geometry_of(secret);
        bool caught = false;
        try {
          secret.with_bytes([](std::span<const std::byte>) -> int { throw CallbackFailure{42}; });
        } catch (const CallbackFailure& e) {
          caught = e.value == 42;
        }
        CHECK(caught);
        CHECK_THROWS_AS(secret.with_bytes([](std::span<const std::byte>) { throw std::runtime_error("x"); }),
                        std::runtime_error);
        // The access ended: the pages are back at rest and the secret still reads and closes.
        CHECK(protection_of(g.pages) == (v.guard == Guard::none ? "r--" : "---"));
        CHECK(holds(secret, content));
        secret.close();
        CHECK(secret.is_closed());
      }
    }
  }

  TEST_CASE("a Reader reads the bytes sequentially in chunks of any size and then returns 0")
  {
    const SecretFactory factory;
    const std::vector<std::byte> content = pattern(5000);
    const Secret secret = make_secret(factory, content);
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{100000}}) {
      CAPTURE(chunk);
      Reader reader = secret.reader();
      CHECK(same_bytes(drain(reader, chunk), content));
      std::byte b{};
      CHECK(reader.read(std::span(&b, 1)) == 0);
      CHECK(reader.read(std::span(&b, 1)) == 0);
    }
    // Readers are independent.
    Reader a = secret.reader();
    Reader b = secret.reader();
    std::vector<std::byte> first(10);
    CHECK(a.read(first) == 10);
    std::vector<std::byte> rest = drain(a, 333);
    first.insert(first.end(), rest.begin(), rest.end());
    CHECK(same_bytes(first, content));
    CHECK(same_bytes(drain(b, 4999), content));
  }

  TEST_CASE("a Reader throws Errc::closed once its secret is closed or destroyed")
  {
    const SecretFactory factory;
    const std::vector<std::byte> content = pattern(100);
    std::vector<std::byte> buffer(10);
    std::optional<Secret> secret = make_secret(factory, content);
    Reader reader = secret->reader();
    CHECK(reader.read(buffer) == 10);
    SUBCASE("closed")
    {
      secret->close();
    }
    SUBCASE("destroyed")
    {
      secret.reset();
    }
    CHECK(error_code_of([&] { (void)reader.read(buffer); }) == Errc::closed);
    CHECK(error_code_of([&] { (void)reader.read(buffer); }) == Errc::closed);
  }

  TEST_CASE("close is idempotent and a closed secret keeps its size and refuses every access")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        Secret secret = make_secret(factory, pattern(77));
        CHECK_FALSE(secret.is_closed());
        secret.close();
        CHECK(secret.is_closed());
        CHECK(secret.size() == 77);
        CHECK_NOTHROW(secret.close());
        CHECK_NOTHROW(secret.close());
        CHECK(secret.is_closed());
        CHECK(error_code_of([&] { secret.with_bytes([](std::span<const std::byte>) {}); }) == Errc::closed);
        Reader reader = secret.reader();
        std::byte b{};
        CHECK(error_code_of([&] { (void)reader.read(std::span(&b, 1)); }) == Errc::closed);
      }
    }
  }

  TEST_CASE("close wipes the bytes before giving the memory back")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        Secret secret = make_secret(factory, pattern(3000));
        const Geometry g = geometry_of(secret);
        ScopedSys restore;
        g_watch_pages = g.pages;
        g_watch_length = g.pages_length;
        g_unmaps_of_watched = 0;
        g_wiped_before_unmap = false;
        g_next_munmap = detail::sys().munmap;
        detail::sys().munmap = &munmap_checking_wipe;
        secret.close();
        CHECK(g_unmaps_of_watched.load() == 1);
        CHECK(g_wiped_before_unmap.load());
      }
    }
  }

  TEST_CASE("a moved-from Secret behaves as closed and move assignment closes the old secret")
  {
    const SecretFactory factory(Options{.layout = Layout::isolated});
    const std::vector<std::byte> content = pattern(30);
    Secret a = make_secret(factory, content);
    Secret b = std::move(a);
    CHECK(holds(b, content));
    CHECK(a.is_closed()); // NOLINT(bugprone-use-after-move): the point of the test
    CHECK(error_code_of([&] { a.with_bytes([](std::span<const std::byte>) {}); }) == Errc::closed);
    Reader moved_reader = a.reader();
    std::byte buffer[4];
    CHECK(error_code_of([&] { (void)moved_reader.read(buffer); }) == Errc::closed);
    CHECK_NOTHROW(a.close());

    const std::vector<std::byte> other = pattern(31, 9);
    Secret c = make_secret(factory, other);
    Reader old_reader = b.reader();
    const std::size_t registered = detail::registry_count();
    b = std::move(c);
    CHECK(holds(b, other));
    CHECK(error_code_of([&] { (void)old_reader.read(buffer); }) == Errc::closed);
    CHECK(detail::registry_count() == registered - 1);

    // A moved-from secret can be assigned a new one.
    a = make_secret(factory, content);
    CHECK(holds(a, content));
  }

  TEST_CASE("close inside a callback on the same secret throws Errc::would_deadlock")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(64);
        Secret secret = make_secret(factory, content);
        Secret other = make_secret(factory, content);

        SUBCASE("directly in the callback")
        {
          std::optional<Errc> code;
          bool intact = false;
          secret.with_bytes([&](std::span<const std::byte> s) {
            code = error_code_of([&] { secret.close(); });
            intact = same_bytes(s, content); // the failed close left the bytes alone
          });
          CHECK(code == Errc::would_deadlock);
          CHECK(intact);
          CHECK_FALSE(secret.is_closed());
        }
        SUBCASE("in a nested callback")
        {
          std::optional<Errc> code;
          secret.with_bytes([&](std::span<const std::byte>) {
            other.with_bytes([&](std::span<const std::byte>) {
              secret.with_bytes(
                  [&](std::span<const std::byte>) { code = error_code_of([&] { secret.close(); }); });
            });
          });
          CHECK(code == Errc::would_deadlock);
        }
        SUBCASE("in a callback of another secret nested inside one of this secret")
        {
          std::optional<Errc> code;
          secret.with_bytes([&](std::span<const std::byte>) {
            other.with_bytes(
                [&](std::span<const std::byte>) { code = error_code_of([&] { secret.close(); }); });
          });
          CHECK(code == Errc::would_deadlock);
        }
        SUBCASE("closing another secret inside a callback works")
        {
          secret.with_bytes([&](std::span<const std::byte>) { other.close(); });
          CHECK(other.is_closed());
        }
        // After the callbacks returned, close works.
        CHECK(holds(secret, content));
        secret.close();
        CHECK(secret.is_closed());
      }
    }
  }

  TEST_CASE("a zero-size secret works")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        std::vector<Secret> secrets;
        secrets.push_back(factory.create({}));
        secrets.push_back(factory.create_random(0));
        Pipe p = make_pipe();
        p.write.reset();
        secrets.push_back(factory.read_from(p.read.get(), 0));
        for (Secret& s : secrets) {
          CHECK(s.size() == 0);
          CHECK(s.with_bytes([](std::span<const std::byte> b) { return b.size(); }) == 0);
          Reader r = s.reader();
          std::byte b{};
          CHECK(r.read(std::span(&b, 1)) == 0);
          s.close();
          CHECK(s.is_closed());
        }
      }
    }
  }

  TEST_CASE("the state word counts readers and says whether the guard is open")
  {
    using detail::SecretCore;
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const std::vector<std::byte> content = pattern(16);
        auto core = make_core(v.backend, v.guard, content);
        const std::uint32_t at_rest = v.guard == Guard::none ? SecretCore::k_open : 0;
        CHECK(core->state() == at_rest);
        {
          detail::ReadAccess outer(core.get());
          CHECK(same_bytes(outer.bytes(), content));
          CHECK(core->state() == (SecretCore::k_open | 1));
          {
            detail::ReadAccess inner(core.get());
            CHECK(core->state() == (SecretCore::k_open | 2));
          }
          CHECK(core->state() == (SecretCore::k_open | 1));
        }
        CHECK(core->state() == at_rest);
        core->close();
        CHECK(has(core->state(), SecretCore::k_closed));
        CHECK(readers_of(core->state()) == 0);
        CHECK(core->is_closed());
        CHECK(core->size() == 16);
        CHECK(error_code_of([&] { detail::ReadAccess a(core.get()); }) == Errc::closed);
        CHECK(readers_of(core->state()) == 0);
      }
    }
  }
}
