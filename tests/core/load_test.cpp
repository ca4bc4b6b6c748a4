// Load: many threads on pooled arenas, a million accesses racing closes, and a hundred thousand
// create/close cycles that must leave no mapping, descriptor or slot behind. The suite name starts
// with core/concurrency so CI runs it under ThreadSanitizer too (AddressSanitizer and LeakSanitizer
// run every test). No sleeps: threads meet at latches and count completed work.
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

// The value a secret made by thread `t` as its `i`th holds, and how to check it.
std::array<std::byte, 32> content_for(int t, int i)
{
  std::array<std::byte, 32> bytes{};
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    bytes[k] = static_cast<std::byte>((t * 131 + i * 7 + static_cast<int>(k)) & 0xff);
  }
  return bytes;
}

bool holds_content(const Secret& secret, int t, int i)
{
  const auto expected = content_for(t, i);
  return holds(secret, expected);
}

} // namespace

TEST_SUITE("core/concurrency/load")
{
  TEST_CASE("threads creating and closing pooled secrets at once each get their own intact slots")
  {
    constexpr int k_threads = 8;
    const int per_thread = k_tsan ? 2000 : 10000;
    for (const Guard g : {Guard::automatic, Guard::none}) {
      SUBCASE(g == Guard::none ? "none" : "automatic")
      {
        const SecretFactory factory(Options{.guard = g, .layout = Layout::pooled});
        const std::size_t slots_before = detail::pool_stats().slots_in_use;
        std::atomic<long> wrong{0};
        std::latch start(k_threads);
        std::vector<std::thread> threads;
        for (int t = 0; t < k_threads; ++t) {
          threads.emplace_back([&, t] {
            start.arrive_and_wait();
            std::vector<Secret> live;
            for (int i = 0; i < per_thread; ++i) {
              auto bytes = content_for(t, i);
              live.push_back(factory.create(bytes));
              // Keep up to 64 alive, closing the oldest: slots are reused while neighbours live.
              if (live.size() == 64) {
                if (!holds_content(live.front(), t, i - 63)) {
                  wrong.fetch_add(1);
                }
                live.erase(live.begin());
              }
            }
          });
        }
        for (std::thread& t : threads) {
          t.join();
        }
        CHECK(wrong.load() == 0);
        CHECK(detail::pool_stats().slots_in_use == slots_before);
      }
    }
  }

  TEST_CASE("readers of a pooled secret never fault while neighbours on its page are read and closed")
  {
    // The neighbours come from this thread, so they share the shard and, mostly, the page.
    const SecretFactory factory(Options{.guard = Guard::mprotect, .layout = Layout::pooled});
    const std::vector<std::byte> content = pattern(32);
    const Secret target = make_secret(factory, content);
    constexpr int k_neighbours = 400;
    std::vector<Secret> neighbours;
    for (int i = 0; i < k_neighbours; ++i) {
      auto bytes = content_for(0, i);
      neighbours.push_back(factory.create(bytes));
    }
    std::atomic<long> wrong{0};
    std::atomic<int> closers_left{2};
    std::latch start(4);
    std::vector<std::thread> threads;
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        while (closers_left.load() != 0) {
          if (!holds(target, content)) {
            wrong.fetch_add(1);
          }
        }
      });
    }
    for (int c = 0; c < 2; ++c) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        for (int i = c; i < k_neighbours; i += 2) {
          if (!holds_content(neighbours[static_cast<std::size_t>(i)], 0, i)) {
            wrong.fetch_add(1);
          }
          neighbours[static_cast<std::size_t>(i)].close();
        }
        closers_left.fetch_sub(1);
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    CHECK(wrong.load() == 0);
    CHECK(holds(target, content));
  }

  TEST_CASE("a million accesses over 16 threads with concurrent closes see intact bytes or Errc::closed")
  {
    constexpr int k_threads = 16;
    constexpr long k_total = 1'000'000;
    constexpr int k_secrets = 64; // each closed once a sixteenth of the accesses are done
    const SecretFactory factory;
    std::vector<Secret> secrets;
    for (int i = 0; i < k_secrets; ++i) {
      auto bytes = content_for(1, i);
      secrets.push_back(factory.create(bytes));
    }
    std::atomic<long> done{0};
    std::atomic<long> closed_seen{0};
    std::atomic<long> wrong{0};
    std::latch start(k_threads + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        unsigned i = static_cast<unsigned>(t);
        while (done.fetch_add(1, std::memory_order_relaxed) < k_total) {
          i = i * 1103515245u + 12345u;
          const int which = static_cast<int>((i >> 8) % k_secrets);
          try {
            if (!holds_content(secrets[static_cast<std::size_t>(which)], 1, which)) {
              wrong.fetch_add(1);
            }
          } catch (const Error& e) {
            (e.code() == Errc::closed ? closed_seen : wrong).fetch_add(1);
          }
        }
      });
    }
    // The closer: one secret per k_total / (2 * k_secrets) accesses, half of them by the end.
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int closed = 0; closed < k_secrets / 2; ++closed) {
        while (done.load(std::memory_order_relaxed) < (closed + 1) * k_total / k_secrets) {
          std::this_thread::yield();
        }
        secrets[static_cast<std::size_t>(closed * 2)].close();
      }
    });
    for (std::thread& t : threads) {
      t.join();
    }
    CHECK(wrong.load() == 0);
    CHECK(closed_seen.load() > 0);
    for (int i = 1; i < k_secrets; i += 2) {
      CHECK(holds_content(secrets[static_cast<std::size_t>(i)], 1, i));
    }
  }

  TEST_CASE("a hundred thousand create and close cycles leave no mapping, descriptor or slot behind")
  {
    for (const Layout l : {Layout::pooled, Layout::isolated}) {
      SUBCASE(l == Layout::pooled ? "pooled" : "isolated")
      {
        const int cycles = l == Layout::pooled ? 100000 : 5000; // isolated pays ~11 us of syscalls each
        const SecretFactory factory(Options{.layout = l});
        {
          const Secret warm = factory.create_random(32); // the arena (pooled) exists from here on
        }
        const std::size_t maps_before = read_maps("/proc/self/maps").size();
        const std::size_t fds_before = fd_count();
        const detail::PoolStats pool_before = detail::pool_stats();
        const std::size_t registered_before = detail::registry_count();
        long wrong = 0;
        for (int i = 0; i < cycles; ++i) {
          auto bytes = content_for(2, i);
          Secret s = factory.create(bytes);
          if (i % 1000 == 0 && !holds_content(s, 2, i)) {
            ++wrong;
          }
        }
        CHECK(wrong == 0);
        CHECK(fd_count() == fds_before);
        CHECK(detail::pool_stats().arenas == pool_before.arenas);
        CHECK(detail::pool_stats().slots_in_use == pool_before.slots_in_use);
        CHECK(detail::registry_count() == registered_before);
        // Sanitizer runtimes map memory of their own; allow them a little.
        const std::size_t maps_after = read_maps("/proc/self/maps").size();
        CHECK(maps_after <= maps_before + (k_mapping_count_reliable ? 0 : 16));
      }
    }
  }
}
