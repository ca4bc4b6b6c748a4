// smem::harden_process(): non-dumpable, no core files, fatal signals wipe live secrets first.
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

constexpr int k_own_handler_exit = 42;

void own_segv_handler(int)
{
  ::_exit(k_own_handler_exit);
}

} // namespace

TEST_SUITE("core/harden")
{
  TEST_CASE("harden_process makes the process non-dumpable and disables core files")
  {
    const ChildResult r = run_in_child([] {
      if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
        return 1;
      }
      harden_process();
      if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
        return 2;
      }
      // The soft limit only: harden.cpp keeps the hard limit so that a program smem runs can have
      // core files again; non-dumpable already stops them for this process.
      rlimit core{};
      if (::getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0) {
        return 3;
      }
      harden_process(); // a second call is harmless
      return 0;
    });
    INFO(describe(r));
    CHECK(r.exited_with(0));
  }

  TEST_CASE("after harden_process a fault still ends the process with its signal")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const ChildResult r = run_in_child([v] {
          const SecretFactory factory = factory_for(v);
          const Secret secret = make_secret(factory, pattern(32));
          harden_process();
          // Write to the (never writable) secret: a SIGSEGV the wiping handler sees first.
          secret.with_bytes([](std::span<const std::byte> s) { poke(s.data()); });
          return k_child_no_fault;
        });
        INFO(describe(r));
        CHECK(r.killed_by(SIGSEGV));
      }
    }
  }

  TEST_CASE("after harden_process abort() still ends the process with SIGABRT")
  {
    const ChildResult r = run_in_child([]() -> int {
      const SecretFactory factory;
      const Secret secret = make_secret(factory, pattern(32));
      harden_process();
      std::abort();
    });
    INFO(describe(r));
    CHECK(r.killed_by(SIGABRT));
  }

  TEST_CASE("harden_process leaves a fatal-signal handler the application installed alone")
  {
    const ChildResult r = run_in_child([] {
      struct sigaction action {};
      action.sa_handler = own_segv_handler;
      sigemptyset(&action.sa_mask);
      ::sigaction(SIGSEGV, &action, nullptr);
      harden_process();
      const SecretFactory factory;
      const Secret secret = make_secret(factory, pattern(32));
      secret.with_bytes([](std::span<const std::byte> s) { poke(s.data()); });
      return k_child_no_fault;
    });
    INFO(describe(r));
    CHECK(r.exited_with(k_own_handler_exit));
  }
}
