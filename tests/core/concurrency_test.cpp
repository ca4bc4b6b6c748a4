// Threads racing on one secret. These are the tests CI runs under ThreadSanitizer:
//   smem_tests -ts='core/concurrency*'     or     ctest -L concurrency
// No sleeps: threads meet at barriers and latches, and a closer waits for a number of completed
// accesses rather than for time to pass.
#include "core/registry.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <latch>
#include <thread>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

// Outcomes counted by the racing threads; everything but `ok` and `closed` is a failure.
struct Tally {
  std::atomic<long> ok{0};
  std::atomic<long> closed{0};
  std::atomic<long> wrong_bytes{0};
  std::atomic<long> other_error{0};
  std::atomic<long> other_exception{0};
};

// One access by a racing reader; false once the secret is closed (or the access went wrong).
template <class Access> bool record(Tally& tally, Access&& access)
{
  try {
    if (access()) {
      tally.ok.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    tally.wrong_bytes.fetch_add(1, std::memory_order_relaxed);
  } catch (const Error& e) {
    if (e.code() == Errc::closed) {
      tally.closed.fetch_add(1, std::memory_order_relaxed);
    } else {
      tally.other_error.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (...) {
    tally.other_exception.fetch_add(1, std::memory_order_relaxed);
  }
  return false;
}

void check_tally(const Tally& tally, long rounds, int readers)
{
  CHECK(tally.wrong_bytes.load() == 0);
  CHECK(tally.other_error.load() == 0);
  CHECK(tally.other_exception.load() == 0);
  CHECK(tally.closed.load() == rounds * readers); // every reader ended its round on Errc::closed
  CHECK(tally.ok.load() > 0);
}

// Spins (yielding) until `counter` reaches `target` or `stop` is set.
void wait_for(const std::atomic<long>& counter, long target, const std::atomic<bool>& stop)
{
  while (counter.load(std::memory_order_acquire) < target && !stop.load(std::memory_order_acquire)) {
    std::this_thread::yield();
  }
}

constexpr int k_readers = 16;

} // namespace

TEST_SUITE("core/concurrency")
{
  TEST_CASE("readers racing close see the right bytes or Errc::closed and close returns")
  {
    struct Case {
      Variant variant;
      int rounds;
    };
    const Case cases[] = {
        {k_variants[0], 200}, // the default strategies get the most rounds
        {k_variants[1], 50},
        {k_variants[2], 50},
        {k_variants[3], 50},
    };
    for (const Case& c : cases) {
      SUBCASE(c.variant.name)
      {
        const SecretFactory factory = factory_for(c.variant);
        const std::vector<std::byte> content = pattern(64);
        const std::size_t registered_before = detail::registry_count();
        std::optional<Secret> secret;
        std::atomic<long> accesses_this_round{0};
        std::atomic<bool> stop{false};
        long target = 0;
        Tally tally;
        std::barrier sync(k_readers + 2); // readers, the closer, this thread

        std::vector<std::thread> threads;
        for (int t = 0; t < k_readers; ++t) {
          threads.emplace_back([&] {
            for (int round = 0; round < c.rounds; ++round) {
              sync.arrive_and_wait(); // round start: `secret` is set
              const Secret& s = *secret;
              unsigned n = 0;
              while (record(tally, [&] {
                return s.with_bytes([&](std::span<const std::byte> b) {
                  if (++n % 4 == 0) {
                    std::this_thread::yield(); // stay inside the access while close() begins
                  }
                  return same_bytes(b, content);
                });
              })) {
                accesses_this_round.fetch_add(1, std::memory_order_release);
                std::this_thread::yield(); // 17 threads on few cores: let the closer run soon
              }
              sync.arrive_and_wait(); // round end
            }
          });
        }
        threads.emplace_back([&] {
          for (int round = 0; round < c.rounds; ++round) {
            sync.arrive_and_wait();
            wait_for(accesses_this_round, target, stop);
            secret->close();
            if (!secret->is_closed()) {
              tally.other_error.fetch_add(1);
            }
            sync.arrive_and_wait();
          }
        });
        for (int round = 0; round < c.rounds; ++round) {
          secret.emplace(make_secret(factory, content));
          accesses_this_round = 0;
          target = round * 7 % 160; // close after 0..159 completed accesses: early, middle and late
          sync.arrive_and_wait();
          sync.arrive_and_wait();
          CHECK(secret->is_closed());
          secret.reset();
        }
        stop = true;
        for (std::thread& t : threads) {
          t.join();
        }
        check_tally(tally, c.rounds, k_readers);
        CHECK(detail::registry_count() == registered_before);
      }
    }
  }

  TEST_CASE("the readers count returns to zero and CLOSED is set after racing readers and close")
  {
    using detail::SecretCore;
    constexpr int k_rounds = 60;
    const std::vector<std::byte> content = pattern(64);
    std::shared_ptr<SecretCore> core;
    std::atomic<long> accesses_this_round{0};
    std::atomic<bool> stop{false};
    long target = 0;
    Tally tally;
    std::barrier sync(k_readers + 2);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_readers; ++t) {
      threads.emplace_back([&] {
        for (int round = 0; round < k_rounds; ++round) {
          sync.arrive_and_wait();
          SecretCore* target_core = core.get();
          unsigned n = 0;
          while (record(tally, [&] {
            detail::ReadAccess a(target_core);
            if (++n % 4 == 0) {
              std::this_thread::yield();
            }
            return same_bytes(a.bytes(), content);
          })) {
            accesses_this_round.fetch_add(1, std::memory_order_release);
            std::this_thread::yield();
          }
          sync.arrive_and_wait();
        }
      });
    }
    threads.emplace_back([&] {
      for (int round = 0; round < k_rounds; ++round) {
        sync.arrive_and_wait();
        wait_for(accesses_this_round, target, stop);
        core->close();
        sync.arrive_and_wait();
      }
    });
    for (int round = 0; round < k_rounds; ++round) {
      core = make_core(round % 2 == 0 ? Backend::secretmem : Backend::mlock, Guard::mprotect, content);
      accesses_this_round = 0;
      target = round * 7 % 160;
      sync.arrive_and_wait();
      sync.arrive_and_wait();
      const std::uint32_t state = core->state();
      CHECK(readers_of(state) == 0);
      CHECK(has(state, SecretCore::k_closed));
      core.reset();
    }
    stop = true;
    for (std::thread& t : threads) {
      t.join();
    }
    check_tally(tally, k_rounds, k_readers);
  }

  TEST_CASE("many threads closing at once all return and the secret is closed")
  {
    constexpr int k_closers = 8;
    constexpr int k_rounds = 100;
    const SecretFactory factory;
    const Secret warm = factory.create_random(32); // a pooled arena, registered, exists from here on
    const std::size_t registered_before = detail::registry_count();
    std::optional<Secret> secret;
    std::atomic<long> errors{0};
    std::barrier sync(k_closers + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_closers; ++t) {
      threads.emplace_back([&] {
        for (int round = 0; round < k_rounds; ++round) {
          sync.arrive_and_wait();
          try {
            secret->close();
            if (!secret->is_closed()) {
              errors.fetch_add(1);
            }
          } catch (...) {
            errors.fetch_add(1);
          }
          sync.arrive_and_wait();
        }
      });
    }
    for (int round = 0; round < k_rounds; ++round) {
      secret.emplace(factory.create_random(32));
      sync.arrive_and_wait();
      sync.arrive_and_wait();
      CHECK(secret->is_closed());
      CHECK(detail::registry_count() == registered_before);
      secret.reset();
    }
    for (std::thread& t : threads) {
      t.join();
    }
    CHECK(errors.load() == 0);
  }

  TEST_CASE("every one of many concurrent close() calls returns only once the memory is wiped")
  {
    using detail::SecretCore;
    constexpr int k_closers = 8;
    constexpr int k_rounds = 100;
    const std::vector<std::byte> content = pattern(32);
    std::shared_ptr<SecretCore> core;
    std::atomic<long> returned_early{0};
    std::atomic<long> errors{0};
    std::barrier sync(k_closers + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_closers; ++t) {
      threads.emplace_back([&] {
        for (int round = 0; round < k_rounds; ++round) {
          sync.arrive_and_wait();
          try {
            core->close();
            if (!has(core->state(), SecretCore::k_closed)) {
              returned_early.fetch_add(1);
            }
          } catch (...) {
            errors.fetch_add(1);
          }
          sync.arrive_and_wait();
        }
      });
    }
    for (int round = 0; round < k_rounds; ++round) {
      core = make_core(round % 2 == 0 ? Backend::secretmem : Backend::mlock, Guard::mprotect, content);
      sync.arrive_and_wait();
      sync.arrive_and_wait();
      core.reset();
    }
    for (std::thread& t : threads) {
      t.join();
    }
    CHECK(returned_early.load() == 0);
    CHECK(errors.load() == 0);
  }

  TEST_CASE("is_closed and size and Reader::read stay consistent while another thread closes")
  {
    constexpr int k_rounds = 100;
    constexpr int k_watchers = 6;
    const SecretFactory factory;
    const std::vector<std::byte> content = pattern(600);
    std::optional<Secret> secret;
    std::atomic<long> accesses_this_round{0};
    std::atomic<bool> stop{false};
    long target = 0;
    std::atomic<long> wrong_size{0};
    std::atomic<long> reopened{0};
    std::atomic<long> wrong_bytes{0};
    std::atomic<long> other_error{0};
    std::barrier sync(k_watchers + 2);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_watchers; ++t) {
      threads.emplace_back([&, t] {
        const std::size_t chunk = 1 + static_cast<std::size_t>(t) * 97;
        std::vector<std::byte> buffer(chunk);
        for (int round = 0; round < k_rounds; ++round) {
          sync.arrive_and_wait();
          const Secret& s = *secret;
          bool seen_closed = false;
          for (;;) {
            if (s.size() != content.size()) {
              wrong_size.fetch_add(1);
            }
            const bool closed_now = s.is_closed();
            if (seen_closed && !closed_now) {
              reopened.fetch_add(1);
            }
            seen_closed = seen_closed || closed_now;
            // A fresh reader each pass: every chunk it returns must match the content.
            Reader reader = s.reader();
            std::size_t offset = 0;
            try {
              for (std::size_t n; (n = reader.read(buffer)) > 0; offset += n) {
                if (!same_bytes(std::span(buffer).first(n), std::span(content).subspan(offset, n))) {
                  wrong_bytes.fetch_add(1);
                }
              }
              if (offset != content.size()) {
                wrong_bytes.fetch_add(1);
              }
              accesses_this_round.fetch_add(1, std::memory_order_release);
              std::this_thread::yield();
            } catch (const Error& e) {
              if (e.code() != Errc::closed) {
                other_error.fetch_add(1);
              }
              if (!s.is_closed()) {
                other_error.fetch_add(1); // Errc::closed while not closed
              }
              break;
            }
          }
          sync.arrive_and_wait();
        }
      });
    }
    threads.emplace_back([&] {
      for (int round = 0; round < k_rounds; ++round) {
        sync.arrive_and_wait();
        wait_for(accesses_this_round, target, stop);
        secret->close();
        sync.arrive_and_wait();
      }
    });
    for (int round = 0; round < k_rounds; ++round) {
      secret.emplace(make_secret(factory, content));
      accesses_this_round = 0;
      target = round % 10;
      sync.arrive_and_wait();
      sync.arrive_and_wait();
      secret.reset();
    }
    stop = true;
    for (std::thread& t : threads) {
      t.join();
    }
    CHECK(wrong_size.load() == 0);
    CHECK(reopened.load() == 0);
    CHECK(wrong_bytes.load() == 0);
    CHECK(other_error.load() == 0);
  }

  TEST_CASE("close waits for an access in progress on another thread which sees intact bytes")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const std::vector<std::byte> content = pattern(128);
        Secret secret = make_secret(factory, content);
        std::latch inside(1);
        std::atomic<bool> callback_finished{false};
        std::atomic<bool> intact_after_close_began{false};
        std::optional<Errc> new_access_during_close;
        std::thread reader([&] {
          secret.with_bytes([&](std::span<const std::byte> s) {
            inside.count_down();
            // close() has begun once is_closed() says so; it must now wait for this callback.
            while (!secret.is_closed()) {
              std::this_thread::yield();
            }
            intact_after_close_began = same_bytes(s, content);
            new_access_during_close =
                error_code_of([&] { secret.with_bytes([](std::span<const std::byte>) {}); });
            callback_finished = true;
          });
        });
        inside.wait();
        secret.close();
        const bool finished_before_close_returned = callback_finished.load();
        reader.join();
        CHECK(finished_before_close_returned);
        CHECK(intact_after_close_began.load());
        CHECK(new_access_during_close == Errc::closed);
        CHECK(secret.is_closed());
      }
    }
  }

  TEST_CASE("overlapping accesses from two threads open and close the mprotect guard once")
  {
    for (const int threads_count : {2, 8}) {
      SUBCASE((std::to_string(threads_count) + " threads").c_str())
      {
        const SecretFactory factory(Options{.guard = Guard::mprotect});
        const std::vector<std::byte> content = pattern(32);
        const Secret secret = make_secret(factory, content);
        const Geometry g = geometry_of(secret);
        SysSpy spy;
        spy.watch(g.pages, g.pages_length);
        std::barrier all_inside(threads_count);
        std::atomic<long> intact{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < threads_count; ++t) {
          threads.emplace_back([&] {
            secret.with_bytes([&](std::span<const std::byte> s) {
              all_inside.arrive_and_wait(); // every thread is inside at once
              if (same_bytes(s, content)) {
                intact.fetch_add(1);
              }
            });
          });
        }
        for (std::thread& t : threads) {
          t.join();
        }
        CHECK(intact.load() == threads_count);
        CHECK(spy.mprotect_calls(PROT_READ) == 1);
        CHECK(spy.mprotect_calls(PROT_NONE) == 1);
        CHECK(protection_of(g.pages) == "---");
      }
    }
  }

  TEST_CASE("secrets made and read and closed from many threads at once through one factory")
  {
    constexpr int k_threads = 8;
    constexpr int k_per_thread = 40;
    const SecretFactory factory;
    const std::size_t registered_before = detail::registry_count();
    const std::size_t slots_before = detail::pool_stats().slots_in_use;
    std::atomic<long> wrong{0};
    std::latch start(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        std::vector<Secret> mine;
        for (int i = 0; i < k_per_thread; ++i) {
          const std::vector<std::byte> content =
              pattern(16 + static_cast<std::size_t>(i) * 13, static_cast<unsigned>(t));
          mine.push_back(make_secret(factory, content));
          if (!holds(mine.back(), content)) {
            wrong.fetch_add(1);
          }
        }
        for (int i = 0; i < k_per_thread; ++i) {
          const std::vector<std::byte> content =
              pattern(16 + static_cast<std::size_t>(i) * 13, static_cast<unsigned>(t));
          if (!holds(mine[static_cast<std::size_t>(i)], content)) {
            wrong.fetch_add(1);
          }
          mine[static_cast<std::size_t>(i)].close();
        }
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    CHECK(wrong.load() == 0);
    CHECK(detail::pool_stats().slots_in_use == slots_before);
    // Every secret over the pooled size had its own registered pages; all are gone. (Arenas stay
    // registered while mapped.)
    CHECK(detail::registry_count() <= registered_before + detail::pool_stats().arenas);
  }
}
