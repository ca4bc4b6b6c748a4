// SecretFactory: resolving Options, create / create_random / read_from.
#include "core/registry.hpp"
#include "core/test_util.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <cstddef>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <thread>
#include <vector>

using namespace smem;
using namespace smem::test;

namespace {

// Writes `content` into a pipe from a thread (so it may exceed the pipe buffer) and reads it back
// with read_from.
Secret read_through_pipe(const SecretFactory& factory, std::span<const std::byte> content, std::size_t max)
{
  Pipe p = make_pipe();
  std::thread writer([&] {
    // A reader that stops early makes this write fail with EPIPE; the SIGPIPE that comes with it
    // is directed at this thread, which blocks it.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    write_all(p.write.get(), content);
    p.write.reset();
  });
  std::optional<Secret> secret;
  std::optional<Error> failure;
  try {
    secret.emplace(factory.read_from(p.read.get(), max));
  } catch (const Error& e) {
    failure.emplace(e);
  }
  p.read.reset(); // a writer still blocked on a full pipe gets EPIPE and ends
  writer.join();
  if (failure) {
    throw *failure;
  }
  return std::move(*secret);
}

} // namespace

TEST_SUITE("core/factory")
{
  TEST_CASE("create copies the bytes in and wipes the source span")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        for (const std::size_t size :
             {std::size_t{1}, std::size_t{32}, std::size_t{4080}, std::size_t{10000}}) {
          CAPTURE(size);
          const std::vector<std::byte> expected = pattern(size);
          std::vector<std::byte> source = expected;
          const Secret secret = factory.create(source);
          CHECK(secret.size() == size);
          CHECK(all_zero(source));
          CHECK(holds(secret, expected));
        }
      }
    }
  }

  TEST_CASE("create wipes the source span also when creation fails")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        SysSpy spy;
        SUBCASE("mmap fails")
        {
          spy.fail({.call = Call::mmap, .error = ENOMEM});
          std::vector<std::byte> source = pattern(64);
          CHECK(error_code_of([&] { (void)factory.create(source); }) == Errc::out_of_memory);
          CHECK(all_zero(source));
        }
        SUBCASE("sealing the pages fails")
        {
          const int at_rest = v.guard == Guard::none ? PROT_READ : PROT_NONE;
          // The first PROT_NONE may be the backend's reservation; fail every one of them.
          spy.fail({.call = Call::mprotect, .error = ENOMEM, .prot = at_rest});
          std::vector<std::byte> source = pattern(64);
          CHECK(error_code_of([&] { (void)factory.create(source); }) == Errc::out_of_memory);
          CHECK(all_zero(source));
        }
      }
    }
  }

  TEST_CASE("a creation that fails at any system call leaves no mapping or descriptor or registry entry")
  {
    struct Step {
      Call call;
      const char* name;
      int error;
    };
    const Step steps[] = {
        {Call::mmap, "mmap", ENOMEM},
        {Call::mprotect, "mprotect", ENOMEM},
        {Call::mlock, "mlock", EPERM},
        {Call::madvise, "madvise", EINVAL},
        {Call::memfd_secret, "memfd_secret", EMFILE},
        {Call::ftruncate, "ftruncate", ENOSPC},
    };
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        // 300 KiB needs more pages than one secretmem file group holds, so a new group (a new
        // memfd_secret and ftruncate) is made for it.
        for (const std::size_t size : {std::size_t{32}, std::size_t{300 * 1024}}) {
          CAPTURE(size);
          {
            // Warm up: the first secret of a backend may create state that lives on by design.
            std::vector<std::byte> warm = pattern(32);
            Secret s = factory.create(warm);
          }
          const std::vector<std::byte> content = pattern(size, 7);
          std::vector<std::byte> source(size); // allocated once: malloc may mmap a large buffer
          const std::size_t maps_before = mapping_count();
          const std::size_t fds_before = fd_count();
          const std::size_t registered_before = detail::registry_count();
          for (const Step& step : steps) {
            CAPTURE(step.name);
            bool exhausted = false; // every failure point of this call was tried
            for (int skip = 0; skip < 32 && !exhausted; ++skip) {
              CAPTURE(skip);
              std::copy(content.begin(), content.end(), source.begin());
              std::optional<Errc> code;
              {
                SysSpy spy;
                spy.fail({.call = step.call, .error = step.error, .skip = skip, .times = 1});
                // Closing is part of the cycle: a fault past creation hits close() instead.
                code = error_code_of([&] { Secret s = factory.create(source); });
                exhausted = spy.failures(step.call) == 0;
                CHECK(spy.net_mapped_bytes() == 0);
              }
              if (exhausted) {
                CHECK(code == std::nullopt);
              } else if (code) {
                CHECK(all_zero(source));
              }
              CHECK(mapping_count() == maps_before);
              CHECK(fd_count() == fds_before);
              CHECK(detail::registry_count() == registered_before);
            }
            CHECK(exhausted);
          }
        }
      }
    }
  }

  TEST_CASE("create_random gives the requested size and fresh bytes on every call")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        const Secret a = factory.create_random(32);
        const Secret b = factory.create_random(32);
        CHECK(a.size() == 32);
        CHECK(b.size() == 32);
        const bool same = a.with_bytes([&](std::span<const std::byte> x) {
          return b.with_bytes([&](std::span<const std::byte> y) { return same_bytes(x, y); });
        });
        CHECK_FALSE(same);
        CHECK_FALSE(a.with_bytes([](std::span<const std::byte> x) { return all_zero(x); }));
        const Secret big = factory.create_random(100000);
        CHECK(big.size() == 100000);
        CHECK(big.with_bytes([](std::span<const std::byte> x) { return x.size(); }) == 100000);
      }
    }
  }

  TEST_CASE("read_from a pipe reads byte-exact content with NUL bytes and trailing newlines")
  {
    for (const Variant& v : k_variants) {
      SUBCASE(v.name)
      {
        const SecretFactory factory = factory_for(v);
        for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4079}, std::size_t{4080},
                                       std::size_t{4081}, std::size_t{200000}}) {
          CAPTURE(size);
          const std::vector<std::byte> content = pattern(size, 3);
          const Secret secret = read_through_pipe(factory, content, 1 << 20);
          CHECK(secret.size() == size);
          CHECK(holds(secret, content));
        }
      }
    }
  }

  TEST_CASE("read_from a regular file reads byte-exact content")
  {
    TempDir dir;
    const SecretFactory factory;
    for (const std::size_t size : {std::size_t{0}, std::size_t{2}, std::size_t{4080}, std::size_t{123457}}) {
      CAPTURE(size);
      const std::vector<std::byte> content = pattern(size, 4);
      const auto path = dir.write("secret-" + std::to_string(size), content);
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      REQUIRE(fd.get() >= 0);
      const Secret secret = factory.read_from(fd.get(), 1 << 20);
      CHECK(secret.size() == size);
      CHECK(holds(secret, content));
    }
  }

  TEST_CASE("read_from a non-blocking pipe waits for data instead of failing")
  {
    const SecretFactory factory;
    const std::vector<std::byte> content = pattern(64 * 1024, 5);
    Pipe p = make_pipe(O_CLOEXEC | O_NONBLOCK);
    // The writer hands over one chunk at a time and waits until the reader has drained it, so the
    // reader keeps finding the pipe empty (EAGAIN) between chunks.
    REQUIRE(::fcntl(p.write.get(), F_SETFL, 0) == 0); // the write end blocks
    std::atomic<bool> reader_done{false};
    std::thread writer([&] {
      constexpr std::size_t k_chunk = 4096;
      for (std::size_t off = 0; off < content.size(); off += k_chunk) {
        write_all(p.write.get(), std::span(content).subspan(off, std::min(k_chunk, content.size() - off)));
        int pending = 1;
        for (long spins = 0; spins < 100'000'000 && pending > 0 && !reader_done.load(); ++spins) {
          if (::ioctl(p.write.get(), FIONREAD, &pending) != 0) {
            break;
          }
          std::this_thread::yield();
        }
      }
      p.write.reset();
    });
    std::optional<Errc> code;
    std::optional<Secret> secret;
    code = error_code_of([&] { secret.emplace(factory.read_from(p.read.get(), 1 << 20)); });
    reader_done = true;
    writer.join();
    REQUIRE(code == std::nullopt);
    CHECK(secret->size() == content.size());
    CHECK(holds(*secret, content));
  }

  TEST_CASE("read_from retries a read or wait interrupted by a signal")
  {
    for (const bool non_blocking : {false, true}) {
      SUBCASE(non_blocking ? "non-blocking pipe (poll)" : "blocking pipe (read)")
      {
        // A handler installed without SA_RESTART, so the blocked call fails with EINTR.
        static std::atomic<int> interruptions{0};
        interruptions = 0;
        struct sigaction action {};
        struct sigaction previous {};
        action.sa_handler = [](int) { interruptions.fetch_add(1); };
        sigemptyset(&action.sa_mask);
        REQUIRE(::sigaction(SIGUSR1, &action, &previous) == 0);

        const SecretFactory factory;
        const std::vector<std::byte> content = pattern(3000, 8);
        Pipe p = make_pipe(O_CLOEXEC | (non_blocking ? O_NONBLOCK : 0));
        const pthread_t reader = ::pthread_self();
        const std::string stat_path = "/proc/self/task/" + std::to_string(::gettid()) + "/stat";
        std::thread interrupter([&] {
          // Wait until the reading thread sleeps in the kernel (read or poll), interrupt it once,
          // then hand over the data.
          for (long spins = 0; spins < 10'000'000; ++spins) {
            const std::string stat = read_text_file(stat_path.c_str());
            const std::size_t close_paren = stat.rfind(')');
            if (close_paren != std::string::npos && close_paren + 2 < stat.size() &&
                stat[close_paren + 2] == 'S') {
              break;
            }
            std::this_thread::yield();
          }
          ::pthread_kill(reader, SIGUSR1);
          while (interruptions.load() == 0) {
            std::this_thread::yield();
          }
          write_all(p.write.get(), content);
          p.write.reset();
        });
        std::optional<Secret> secret;
        const std::optional<Errc> code =
            error_code_of([&] { secret.emplace(factory.read_from(p.read.get(), 4096)); });
        interrupter.join();
        ::sigaction(SIGUSR1, &previous, nullptr);
        CHECK(interruptions.load() == 1);
        REQUIRE(code == std::nullopt);
        CHECK(holds(*secret, content));
      }
    }
  }

  TEST_CASE("read_from refuses more than max_size bytes with Errc::too_large")
  {
    TempDir dir;
    const SecretFactory factory;
    SUBCASE("regular file")
    {
      const std::vector<std::byte> content = pattern(1000, 6);
      const auto path = dir.write("secret", content);
      {
        Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        const Secret exact = factory.read_from(fd.get(), 1000);
        CHECK(holds(exact, content));
      }
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      CHECK(error_code_of([&] { (void)factory.read_from(fd.get(), 999); }) == Errc::too_large);
    }
    SUBCASE("pipe")
    {
      const std::vector<std::byte> content = pattern(200, 6);
      CHECK(holds(read_through_pipe(factory, content, 200), content));
      CHECK(error_code_of([&] { (void)read_through_pipe(factory, content, 199); }) == Errc::too_large);
      CHECK(error_code_of([&] { (void)read_through_pipe(factory, content, 0); }) == Errc::too_large);
      CHECK(read_through_pipe(factory, {}, 0).size() == 0);
    }
    SUBCASE("a pipe much larger than the limit")
    {
      const std::vector<std::byte> content = pattern(300000, 6);
      CHECK(error_code_of([&] { (void)read_through_pipe(factory, content, 70000); }) == Errc::too_large);
    }
    SUBCASE("leaves nothing behind")
    {
      const std::vector<std::byte> content = pattern(100000, 6);
      (void)error_code_of([&] { (void)read_through_pipe(factory, content, 50000); }); // warm up
      const std::size_t maps_before = mapping_count();
      const std::size_t registered_before = detail::registry_count();
      SysSpy spy;
      CHECK(error_code_of([&] { (void)read_through_pipe(factory, content, 50000); }) == Errc::too_large);
      CHECK(spy.net_mapped_bytes() == 0);
      CHECK(mapping_count() == maps_before);
      CHECK(detail::registry_count() == registered_before);
    }
  }

  TEST_CASE("read_from a descriptor that cannot be read fails with io or invalid_argument")
  {
    TempDir dir;
    const SecretFactory factory;
    SUBCASE("a directory")
    {
      Fd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      REQUIRE(fd.get() >= 0);
      const std::string message = error_message_of([&] { (void)factory.read_from(fd.get(), 100); });
      CHECK(error_code_of([&] { (void)factory.read_from(fd.get(), 100); }) == Errc::io);
      CHECK(message.find(std::strerror(EISDIR)) != std::string::npos);
    }
    SUBCASE("a write-only descriptor")
    {
      const auto path = dir.write("w", pattern(10));
      Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      REQUIRE(fd.get() >= 0);
      CHECK(error_code_of([&] { (void)factory.read_from(fd.get(), 100); }) == Errc::io);
    }
    SUBCASE("a closed descriptor")
    {
      int fds[2];
      REQUIRE(::pipe(fds) == 0);
      ::close(fds[0]);
      ::close(fds[1]);
      CHECK(error_code_of([&] { (void)factory.read_from(fds[0], 100); }) == Errc::io);
    }
    SUBCASE("a negative descriptor")
    {
      CHECK(error_code_of([&] { (void)factory.read_from(-1, 100); }) == Errc::invalid_argument);
    }
  }

  TEST_CASE("options() reports every automatic choice resolved")
  {
    const Options o = SecretFactory().options();
    CHECK(o.backend != Backend::automatic);
    CHECK(o.guard != Guard::automatic);
    CHECK(o.layout != Layout::automatic);
    CHECK(o.lock_failure == LockFailure::fail);
    // memfd_secret works on this machine kind; protection keys only where the CPU has them.
    CHECK(o.backend == Backend::secretmem);
    CHECK(o.guard == (detail::pkeys_available() ? Guard::pkey : Guard::mprotect));
    CHECK(o.layout == Layout::pooled);

    const Options warn = SecretFactory(Options{.lock_failure = LockFailure::warn}).options();
    CHECK(warn.lock_failure == LockFailure::warn);
    CHECK(warn.backend != Backend::automatic);

    for (const Variant& v : k_variants) {
      CAPTURE(v.name);
      const Options explicit_options = factory_for(v).options();
      CHECK(explicit_options.backend == v.backend);
      CHECK(explicit_options.guard == v.guard);
      CHECK(explicit_options.layout == Layout::isolated);
    }
  }

  TEST_CASE("Guard::pkey throws Errc::unsupported naming the alternative where the machine has no keys")
  {
    if (detail::pkeys_available()) {
      CHECK(SecretFactory(Options{.guard = Guard::pkey}).options().guard == Guard::pkey);
    } else {
      const std::string message = error_message_of([] { SecretFactory f(Options{.guard = Guard::pkey}); });
      CHECK(error_code_of([] { SecretFactory f(Options{.guard = Guard::pkey}); }) == Errc::unsupported);
      CHECK(message.find("Guard::mprotect") != std::string::npos);
    }
  }

  TEST_CASE("Backend::secretmem works on this machine")
  {
    CHECK(detail::secretmem_available());
    const SecretFactory factory(Options{.backend = Backend::secretmem});
    const std::vector<std::byte> content = pattern(100);
    std::vector<std::byte> source = content;
    const Secret secret = factory.create(source);
    CHECK(holds(secret, content));
  }

  TEST_CASE("a copied factory makes secrets with the same strategies")
  {
    const SecretFactory original(Options{.backend = Backend::mlock, .guard = Guard::none});
    const SecretFactory copy = original; // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(copy.options().backend == Backend::mlock);
    CHECK(copy.options().guard == Guard::none);
    const std::vector<std::byte> content = pattern(40);
    std::vector<std::byte> source = content;
    CHECK(holds(copy.create(source), content));
  }

#if defined(__x86_64__) && defined(SYS_memfd_secret)
  // Docker's default seccomp profile blocks memfd_secret. The availability probe runs once per
  // process, so this test re-executes the test binary under such a filter and runs itself there.
  TEST_CASE("where seccomp blocks memfd_secret automatic falls back to mlock and secretmem is unsupported")
  {
    if (std::getenv("SMEM_TEST_IN_SECCOMP_CHILD") != nullptr) {
      CHECK_FALSE(detail::secretmem_available());
      CHECK(SecretFactory().options().backend == Backend::mlock);
      CHECK(error_code_of([] { SecretFactory f(Options{.backend = Backend::secretmem}); }) ==
            Errc::unsupported);
      const std::vector<std::byte> content = pattern(50);
      std::vector<std::byte> source = content;
      CHECK(holds(SecretFactory().create(source), content));
      return;
    }
    const ChildResult r = run_in_child([] {
      sock_filter filter[] = {
          BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
          BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_secret, 0, 1),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
          ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        return 2;
      }
      ::setenv("SMEM_TEST_IN_SECCOMP_CHILD", "1", 1);
      ::dup2(STDERR_FILENO, STDOUT_FILENO); // the child's doctest report ends up in ChildResult::err
      const char* argv[] = {"smem_tests",
                            "--test-case=where seccomp blocks memfd_secret automatic falls back to mlock and "
                            "secretmem is unsupported",
                            "--no-version", "--no-intro", nullptr};
      ::execv("/proc/self/exe", const_cast<char* const*>(argv));
      return 3;
    });
    INFO(describe(r));
    INFO(r.err);
    CHECK(r.exited_with(0));
  }
#endif
}
