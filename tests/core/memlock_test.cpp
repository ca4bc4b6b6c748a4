// RLIMIT_MEMLOCK: what a refused lock does, what the message tells the user, and the real limit as
// an unprivileged user sees it.
#include "core/memlock.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

// Whether `message` tells the user every documented way to raise the limit.
bool names_the_fixes(const std::string& message)
{
  return message.find("ulimit -l") != std::string::npos &&
         message.find("LimitMEMLOCK") != std::string::npos &&
         message.find("--ulimit memlock") != std::string::npos;
}

bool set_memlock_limit(rlim_t soft, rlim_t hard)
{
  const rlimit limit{soft, hard};
  return ::setrlimit(RLIMIT_MEMLOCK, &limit) == 0;
}

// Exit codes of the unprivileged children.
constexpr int k_ok = 0;
constexpr int k_setup_failed = 10;
constexpr int k_wrong_code = 11;
constexpr int k_never_refused = 12;
constexpr int k_refused_at_once = 13;
constexpr int k_message_lacks_fix = 14;
constexpr int k_message_lacks_numbers = 15;
constexpr int k_skip_mlock_not_enforced = 77;

// In a forked child: 64 KiB of RLIMIT_MEMLOCK, then uid/gid nobody (no CAP_IPC_LOCK).
int become_limited_nobody()
{
  if (!become_nobody_with_memlock(64 * 1024)) {
    return k_setup_failed;
  }
  return k_ok;
}

} // namespace

TEST_SUITE("core/memlock")
{
  TEST_CASE("the memlock_limit message names the limit and the request and the fixes")
  {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_MEMLOCK, &limit) == 0);
    const std::string message = detail::memlock_message(12345, "mlock");
    CHECK(message.find("12345") != std::string::npos);
    if (limit.rlim_cur != RLIM_INFINITY) {
      CHECK(message.find(std::to_string(limit.rlim_cur)) != std::string::npos);
    }
    CHECK(names_the_fixes(message));
  }

  TEST_CASE("a refused mlock throws Errc::memlock_limit with a message naming the fixes")
  {
    for (const int error : {ENOMEM, EPERM}) {
      SUBCASE(error == ENOMEM ? "ENOMEM" : "EPERM")
      {
        const SecretFactory factory(Options{.backend = Backend::mlock, .layout = Layout::isolated});
        const std::size_t maps_before = mapping_count();
        SysSpy spy;
        spy.fail({.call = Call::mlock, .error = error});
        std::vector<std::byte> source = pattern(32);
        const std::string message = error_message_of([&] { (void)factory.create(source); });
        CHECK(error_code_of([&] { (void)factory.create(source); }) == Errc::memlock_limit);
        CHECK(names_the_fixes(message));
        CHECK(all_zero(source));
        CHECK(mapping_count() == maps_before);
        CHECK(spy.net_mapped_bytes() == 0);
      }
    }
  }

  TEST_CASE("a refused memfd_secret mapping throws Errc::memlock_limit with a message naming the fixes")
  {
    // The kernel charges secretmem pages to RLIMIT_MEMLOCK when they are mapped (EAGAIN).
    const SecretFactory factory(Options{.backend = Backend::secretmem, .layout = Layout::isolated});
    {
      Secret warm = factory.create_random(8);
    }
    const std::size_t maps_before = mapping_count();
    SysSpy spy;
    spy.fail({.call = Call::mmap, .error = EAGAIN, .fd = 0});
    const std::string message = error_message_of([&] { (void)factory.create_random(32); });
    CHECK(error_code_of([&] { (void)factory.create_random(32); }) == Errc::memlock_limit);
    CHECK(names_the_fixes(message));
    CHECK(mapping_count() == maps_before);
    CHECK(spy.net_mapped_bytes() == 0);
  }

  TEST_CASE("with LockFailure::warn a refused lock warns once and the secrets work")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r = run_in_child([b] {
          const SecretFactory factory(
              Options{.backend = b, .layout = Layout::isolated, .lock_failure = LockFailure::warn});
          SysSpy spy;
          if (b == Backend::mlock) {
            spy.fail({.call = Call::mlock, .error = EPERM});
          } else {
            spy.fail({.call = Call::mmap, .error = EAGAIN, .fd = 0});
          }
          const std::vector<std::byte> content = pattern(300);
          std::vector<std::byte> source = content;
          const Secret first = factory.create(source);
          if (!holds(first, content)) {
            return 1;
          }
          if (::write(STDERR_FILENO, "--mark--", 8) != 8) {
            return 3;
          }
          source = content;
          const Secret second = factory.create(source);
          if (!holds(second, content) || spy.failures(b == Backend::mlock ? Call::mlock : Call::mmap) < 2) {
            return 2;
          }
          return 0;
        });
        INFO(describe(r));
        CHECK(r.exited_with(0));
        const std::size_t mark = r.err.find("--mark--");
        REQUIRE(mark != std::string::npos);
        CHECK(mark > 0);                                     // the first refusal warned
        CHECK(r.err.substr(mark) == "--mark--");             // the second did not
        CHECK(r.err.find("ulimit -l") != std::string::npos); // and the warning says how to fix it
      }
    }
  }

  TEST_CASE("raise_memlock_soft_limit raises the soft limit to the hard one")
  {
    const ChildResult r = run_in_child([] {
      if (!set_memlock_limit(64 * 1024, 128 * 1024)) {
        return k_setup_failed;
      }
      if (!detail::raise_memlock_soft_limit()) {
        return 1;
      }
      rlimit limit{};
      ::getrlimit(RLIMIT_MEMLOCK, &limit);
      if (limit.rlim_cur != 128 * 1024 || limit.rlim_max != 128 * 1024) {
        return 2;
      }
      return detail::raise_memlock_soft_limit() ? 3 : 0; // nothing left to raise
    });
    INFO(describe(r));
    CHECK(r.exited_with(0));
  }

  TEST_CASE("as an unprivileged user under a 64 KiB limit creating secrets ends in Errc::memlock_limit")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r = run_in_child([b] {
          if (const int setup = become_limited_nobody(); setup != k_ok) {
            return setup;
          }
          if (b == Backend::mlock && !mlock_is_real()) {
            return k_skip_mlock_not_enforced;
          }
          const SecretFactory factory(Options{.backend = b});
          std::vector<Secret> secrets;
          try {
            for (int i = 0; i < 100000; ++i) {
              secrets.push_back(factory.create_random(32));
            }
          } catch (const Error& e) {
            if (e.code() != Errc::memlock_limit) {
              return k_wrong_code;
            }
            if (!names_the_fixes(e.what())) {
              return k_message_lacks_fix;
            }
            return secrets.empty() ? k_refused_at_once : k_ok;
          }
          return k_never_refused;
        });
        INFO(describe(r));
        if (r.exited_with(k_skip_mlock_not_enforced)) {
          MESSAGE("skipped: mlock(2) is not enforced in this build (AddressSanitizer makes it a no-op)");
        } else {
          CHECK(r.exited_with(k_ok));
        }
      }
    }
  }

  TEST_CASE("as an unprivileged user under a 64 KiB limit a 1 MiB secret is refused with the numbers")
  {
    for (const Backend b : k_backends) {
      SUBCASE(name_of(b))
      {
        const ChildResult r = run_in_child([b] {
          if (const int setup = become_limited_nobody(); setup != k_ok) {
            return setup;
          }
          if (b == Backend::mlock && !mlock_is_real()) {
            return k_skip_mlock_not_enforced;
          }
          const SecretFactory factory(Options{.backend = b});
          try {
            (void)factory.create_random(1 << 20);
          } catch (const Error& e) {
            if (e.code() != Errc::memlock_limit) {
              return k_wrong_code;
            }
            const std::string message = e.what();
            // The limit, and the request (the secret's size or the pages it needs).
            const bool numbers =
                message.find("65536") != std::string::npos &&
                (message.find("1048576") != std::string::npos ||
                 message.find(std::to_string(detail::round_to_pages((1 << 20) + 16))) != std::string::npos);
            if (!numbers) {
              return k_message_lacks_numbers;
            }
            return names_the_fixes(message) ? k_ok : k_message_lacks_fix;
          }
          return k_never_refused;
        });
        INFO(describe(r));
        if (r.exited_with(k_skip_mlock_not_enforced)) {
          MESSAGE("skipped: mlock(2) is not enforced in this build (AddressSanitizer makes it a no-op)");
        } else {
          CHECK(r.exited_with(k_ok));
        }
      }
    }
  }
}
