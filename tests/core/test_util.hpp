// Helpers shared by the libsmem unit tests: test content, /proc inspection, the sys() seam spy,
// forked children for death tests, temporary directories, and direct access to a SecretCore.
//
// Rules these helpers follow (STYLE.md): no secret byte ever reaches failure output (tests compare
// with booleans), no sleeps, no timing assertions.
#pragma once

#include "core/backend.hpp"
#include "core/guard.hpp"
#include "core/layout.hpp"
#include "core/memlock.hpp"
#include "core/page.hpp"
#include "core/pkey.hpp"
#include "core/release.hpp"
#include "core/secret_core.hpp"
#include "core/strategies.hpp"
#include "core/sys.hpp"
#include "sanitizers.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace doctest {
template <> struct StringMaker<smem::Errc> {
  static String convert(smem::Errc code)
  {
    switch (code) {
    case smem::Errc::closed:
      return "Errc::closed";
    case smem::Errc::would_deadlock:
      return "Errc::would_deadlock";
    case smem::Errc::memlock_limit:
      return "Errc::memlock_limit";
    case smem::Errc::out_of_memory:
      return "Errc::out_of_memory";
    case smem::Errc::too_large:
      return "Errc::too_large";
    case smem::Errc::io:
      return "Errc::io";
    case smem::Errc::unsupported:
      return "Errc::unsupported";
    case smem::Errc::invalid_argument:
      return "Errc::invalid_argument";
    }
    return "Errc::<unknown>";
  }
};
template <> struct StringMaker<std::optional<smem::Errc>> {
  static String convert(const std::optional<smem::Errc>& code)
  {
    return code ? StringMaker<smem::Errc>::convert(*code) : String("no smem::Error thrown");
  }
};
template <> struct StringMaker<smem::Backend> {
  static String convert(smem::Backend b)
  {
    switch (b) {
    case smem::Backend::automatic:
      return "Backend::automatic";
    case smem::Backend::secretmem:
      return "Backend::secretmem";
    case smem::Backend::mlock:
      return "Backend::mlock";
    }
    return "Backend::<unknown>";
  }
};
template <> struct StringMaker<smem::Guard> {
  static String convert(smem::Guard g)
  {
    switch (g) {
    case smem::Guard::automatic:
      return "Guard::automatic";
    case smem::Guard::pkey:
      return "Guard::pkey";
    case smem::Guard::mprotect:
      return "Guard::mprotect";
    case smem::Guard::none:
      return "Guard::none";
    }
    return "Guard::<unknown>";
  }
};
template <> struct StringMaker<smem::Layout> {
  static String convert(smem::Layout l)
  {
    switch (l) {
    case smem::Layout::automatic:
      return "Layout::automatic";
    case smem::Layout::isolated:
      return "Layout::isolated";
    case smem::Layout::pooled:
      return "Layout::pooled";
    }
    return "Layout::<unknown>";
  }
};
} // namespace doctest

namespace smem::test {

// Whether /proc/self/maps counts only change with the program's own mappings. The sanitizers'
// runtimes map memory of their own (ThreadSanitizer whenever the program maps memory), so counts
// drift there; the tests then rely on SysSpy::net_mapped_bytes() alone.
inline constexpr bool k_mapping_count_reliable = !k_tsan && !k_asan;

// ---------------------------------------------------------------------------------------------
// Content

// `n` deterministic bytes that include NUL bytes, newlines and high bytes, ending in "\n\n".
// A secret holding `content`; create() wipes its source, so it gets a copy, not `content` itself.
inline Secret make_secret(const SecretFactory& factory, std::span<const std::byte> content)
{
  std::vector<std::byte> source(content.begin(), content.end());
  return factory.create(source);
}

inline std::vector<std::byte> pattern(std::size_t n, unsigned seed = 1)
{
  std::vector<std::byte> out(n);
  std::uint32_t x = 2463534242u ^ (seed * 2654435761u);
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<std::byte>(i % 5 == 0 ? 0 : (i % 7 == 0 ? '\n' : x & 0xff));
  }
  if (n >= 2) {
    out[n - 1] = std::byte{'\n'};
    out[n - 2] = std::byte{'\n'};
  }
  return out;
}

inline bool all_zero(std::span<const std::byte> s)
{
  return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
}

inline bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b)
{
  return std::ranges::equal(a, b);
}

// The smem::Errc that `f` throws, or nullopt if it returns normally. Other exceptions propagate.
template <class F> std::optional<Errc> error_code_of(F&& f)
{
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

// The smem::Error message `f` throws ("" if none).
template <class F> std::string error_message_of(F&& f)
{
  try {
    std::forward<F>(f)();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// Whether `secret` currently holds exactly `expected`.
inline bool holds(const Secret& secret, std::span<const std::byte> expected)
{
  return secret.with_bytes([&](std::span<const std::byte> s) { return same_bytes(s, expected); });
}

// ---------------------------------------------------------------------------------------------
// Strategy variants

// Both backends, and their names for SUBCASE titles.
inline constexpr Backend k_backends[] = {Backend::secretmem, Backend::mlock};
inline const char* name_of(Backend b)
{
  return b == Backend::secretmem ? "secretmem" : "mlock";
}

struct Variant {
  Backend backend;
  Guard guard;
  const char* name;
};

inline constexpr Variant k_variants[] = {
    {Backend::secretmem, Guard::mprotect, "secretmem/mprotect"},
    {Backend::mlock, Guard::mprotect, "mlock/mprotect"},
    {Backend::secretmem, Guard::none, "secretmem/none"},
    {Backend::mlock, Guard::none, "mlock/none"},
};

inline SecretFactory factory_for(const Variant& v, LockFailure lf = LockFailure::fail)
{
  return SecretFactory(
      Options{.backend = v.backend, .guard = v.guard, .layout = Layout::isolated, .lock_failure = lf});
}

// Where an isolated secret lives, computed from the span a callback receives (the layout is
// documented in include/smem/secret.hpp: canary then data, ending at the trailing guard page).
struct Geometry {
  const std::byte* data = nullptr;
  std::size_t size = 0;
  std::byte* pages = nullptr; // the page range a guard protects (canary and data)
  std::size_t pages_length = 0;
};

inline Geometry geometry_of(std::span<const std::byte> s)
{
  Geometry g;
  g.data = s.data();
  g.size = s.size();
  g.pages_length = detail::round_to_pages(s.size() + detail::k_canary_size);
  g.pages = const_cast<std::byte*>(s.data()) + s.size() - g.pages_length;
  return g;
}

inline Geometry geometry_of(const Secret& secret)
{
  return secret.with_bytes([](std::span<const std::byte> s) { return geometry_of(s); });
}

// A SecretCore made the way SecretFactory makes one, for tests of the state word. Secret keeps its
// core private, so tests that read state() build the core themselves.
inline std::shared_ptr<detail::SecretCore> make_core(Backend backend, Guard guard,
                                                     std::span<const std::byte> content)
{
  const SecretFactory factory(Options{.backend = backend, .guard = guard, .layout = Layout::isolated});
  auto strategies = std::make_shared<const detail::Strategies>(detail::Strategies{
      backend == Backend::mlock ? &detail::mlock_backend() : &detail::secretmem_backend(),
      guard == Guard::none ? &detail::none_guard() : &detail::mprotect_guard(),
      &detail::isolated_layout(),
      LockFailure::fail,
      factory.options(),
  });
  detail::PendingAllocation pending(*strategies, content.size());
  if (!content.empty()) {
    std::memcpy(pending.bytes().data(), content.data(), content.size());
  }
  return std::make_shared<detail::SecretCore>(strategies, pending);
}

inline std::uint32_t readers_of(std::uint32_t state)
{
  return state & detail::SecretCore::k_readers_mask;
}
inline bool has(std::uint32_t state, std::uint32_t bit)
{
  return (state & bit) != 0;
}

// ---------------------------------------------------------------------------------------------
// /proc inspection

inline std::string read_text_file(const char* path)
{
  std::string text;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return text;
  }
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fd);
  return text;
}

struct MapsEntry {
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;
  std::string perms;
  std::string vm_flags; // from smaps; empty when read from maps
};

inline std::vector<MapsEntry> read_maps(const char* path)
{
  std::vector<MapsEntry> entries;
  std::istringstream in(read_text_file(path));
  std::string line;
  while (std::getline(in, line)) {
    unsigned long start = 0;
    unsigned long end = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &start, &end, perms) == 3 &&
        line.find('-') < line.find(' ')) {
      entries.push_back(MapsEntry{start, end, perms, {}});
    } else if (line.rfind("VmFlags:", 0) == 0 && !entries.empty()) {
      entries.back().vm_flags = line.substr(8) + " ";
    }
  }
  return entries;
}

// How many mappings this process has (0 where sanitizer mappings make the count drift).
inline std::size_t mapping_count()
{
  return k_mapping_count_reliable ? read_maps("/proc/self/maps").size() : 0;
}

// How many file descriptors this process has open.
inline std::size_t fd_count()
{
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] != '.') {
        ++n;
      }
    }
    ::closedir(dir);
  }
  return n - 1; // the directory stream's own descriptor
}

inline std::optional<MapsEntry> mapping_at(const void* address, const char* path = "/proc/self/maps")
{
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  for (const MapsEntry& e : read_maps(path)) {
    if (a >= e.start && a < e.end) {
      return e;
    }
  }
  return std::nullopt;
}

// The "rwxp" permissions of the page holding `address` ("unmapped" if none).
inline std::string protection_of(const void* address)
{
  const auto e = mapping_at(address);
  return e ? e->perms.substr(0, 3) : std::string("unmapped");
}

// Whether the smaps VmFlags of the mapping holding `address` include `flag` ("lo", "dd", "wf", "dc").
inline bool has_vm_flag(const void* address, const char* flag)
{
  const auto e = mapping_at(address, "/proc/self/smaps");
  return e && e->vm_flags.find(std::string(" ") + flag + " ") != std::string::npos;
}

// Whether mlock(2) really locks in this process (AddressSanitizer turns it into a no-op).
inline bool mlock_is_real()
{
  const std::size_t page = detail::page_size();
  void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return false;
  }
  const bool locked = ::mlock(p, page) == 0 && has_vm_flag(p, "lo");
  ::munmap(p, page);
  return locked;
}

// ---------------------------------------------------------------------------------------------
// The sys() seam

// Saves the sys() table and restores it on scope exit.
class ScopedSys {
public:
  ScopedSys() : m_saved(detail::sys()) {}
  ~ScopedSys() { detail::sys() = m_saved; }
  ScopedSys(const ScopedSys&) = delete;
  ScopedSys& operator=(const ScopedSys&) = delete;

private:
  detail::Sys m_saved;
};

enum class Call {
  mmap,
  munmap,
  mprotect,
  pkey_mprotect,
  mlock,
  munlock,
  madvise,
  memfd_secret,
  ftruncate,
  close,
  count_
};

inline constexpr int k_any = -1000;

// Which calls of one kind to fail: after letting `skip` matching calls through, fail `times` of
// them (-1: all) with errno `error`. `prot` matches mprotect's protection or madvise's advice;
// `fd` matches mmap's descriptor (k_any, -1 for anonymous, or >= 0 meaning "any file").
struct Fault {
  Call call;
  int error = ENOMEM;
  int skip = 0;
  int times = -1;
  int prot = k_any;
  int fd = k_any;
};

// Counts calls through sys() and injects failures. One at a time; restores the table on
// destruction. Configure it before starting threads that use it.
class SysSpy {
public:
  SysSpy()
  {
    REQUIRE_FALSE(state().active.exchange(true));
    state().saved = detail::sys();
    heal_all();
    reset();
    watch(nullptr, SIZE_MAX);
    detail::Sys& s = detail::sys();
    s.mmap = &spy_mmap;
    s.munmap = &spy_munmap;
    s.mprotect = &spy_mprotect;
    s.pkey_mprotect = &spy_pkey_mprotect;
    s.mlock = &spy_mlock;
    s.munlock = &spy_munlock;
    s.madvise = &spy_madvise;
    s.memfd_secret = &spy_memfd_secret;
    s.ftruncate = &spy_ftruncate;
    s.close = &spy_close;
  }
  ~SysSpy()
  {
    heal_all();
    detail::sys() = state().saved;
    state().active.store(false);
  }
  SysSpy(const SysSpy&) = delete;
  SysSpy& operator=(const SysSpy&) = delete;

  // Replaces the fault for `f.call`.
  void fail(const Fault& f)
  {
    Rule& r = state().rules[index(f.call)];
    r.fault = f;
    r.matched.store(0);
    r.enabled.store(true);
  }
  void heal(Call c) { state().rules[index(c)].enabled.store(false); }
  void heal_all()
  {
    for (Rule& r : state().rules) {
      r.enabled.store(false);
    }
  }

  // Calls seen since the last reset (failed ones included).
  int calls(Call c) const { return state().calls[index(c)].load(); }
  // Bytes mapped (mmap without MAP_FIXED) minus bytes unmapped through sys() since the last reset.
  long long net_mapped_bytes() const { return state().net_mapped.load(); }
  // Calls failed on purpose since the last reset.
  int failures(Call c) const { return state().failures[index(c)].load(); }
  // mprotect calls with protection `prot` touching the watched range, since the last reset.
  int mprotect_calls(int prot) const
  {
    switch (prot) {
    case PROT_NONE:
      return state().prot_none.load();
    case PROT_READ:
      return state().prot_read.load();
    case PROT_READ | PROT_WRITE:
      return state().prot_rw.load();
    default:
      return -1;
    }
  }
  // Only mprotect calls overlapping [address, address + length) count in mprotect_calls().
  void watch(const void* address, std::size_t length)
  {
    state().watch_lo = reinterpret_cast<std::uintptr_t>(address);
    state().watch_hi = length == SIZE_MAX ? UINTPTR_MAX : state().watch_lo + length;
  }
  void reset()
  {
    for (auto& c : state().calls) {
      c.store(0);
    }
    for (auto& c : state().failures) {
      c.store(0);
    }
    state().net_mapped.store(0);
    state().prot_none.store(0);
    state().prot_read.store(0);
    state().prot_rw.store(0);
  }

private:
  struct Rule {
    Fault fault{Call::count_};
    std::atomic<bool> enabled{false};
    std::atomic<int> matched{0};
  };
  struct State {
    std::atomic<bool> active{false};
    detail::Sys saved{};
    Rule rules[static_cast<int>(Call::count_)];
    std::atomic<int> calls[static_cast<int>(Call::count_)];
    std::atomic<int> failures[static_cast<int>(Call::count_)];
    std::uintptr_t watch_lo = 0;
    std::uintptr_t watch_hi = UINTPTR_MAX;
    std::atomic<long long> net_mapped{0};
    std::atomic<int> prot_none{0};
    std::atomic<int> prot_read{0};
    std::atomic<int> prot_rw{0};
  };
  static State& state()
  {
    static State s;
    return s;
  }
  static int index(Call c) { return static_cast<int>(c); }

  // Counts the call; true (errno set) if it must fail.
  static bool should_fail(Call c, int prot = k_any, int fd = k_any)
  {
    State& s = state();
    s.calls[index(c)].fetch_add(1);
    Rule& r = s.rules[index(c)];
    if (!r.enabled.load()) {
      return false;
    }
    const Fault& f = r.fault;
    if (f.prot != k_any && f.prot != prot) {
      return false;
    }
    if (f.fd != k_any && ((f.fd < 0) != (fd < 0))) {
      return false;
    }
    const int n = r.matched.fetch_add(1);
    if (n < f.skip || (f.times >= 0 && n >= f.skip + f.times)) {
      return false;
    }
    s.failures[index(c)].fetch_add(1);
    errno = f.error;
    return true;
  }

  static void* spy_mmap(void* a, std::size_t l, int p, int flags, int fd, off_t o)
  {
    if (should_fail(Call::mmap, p, fd)) {
      return MAP_FAILED;
    }
    void* result = state().saved.mmap(a, l, p, flags, fd, o);
    if (result != MAP_FAILED && (flags & MAP_FIXED) == 0) {
      state().net_mapped.fetch_add(static_cast<long long>(l));
    }
    return result;
  }
  static int spy_munmap(void* a, std::size_t l)
  {
    if (should_fail(Call::munmap)) {
      return -1;
    }
    const int result = state().saved.munmap(a, l);
    if (result == 0) {
      state().net_mapped.fetch_sub(static_cast<long long>(l));
    }
    return result;
  }
  static int spy_mprotect(void* a, std::size_t l, int p)
  {
    State& s = state();
    const auto lo = reinterpret_cast<std::uintptr_t>(a);
    if (lo < s.watch_hi && lo + l > s.watch_lo) {
      if (p == PROT_NONE) {
        s.prot_none.fetch_add(1);
      } else if (p == PROT_READ) {
        s.prot_read.fetch_add(1);
      } else if (p == (PROT_READ | PROT_WRITE)) {
        s.prot_rw.fetch_add(1);
      }
    }
    return should_fail(Call::mprotect, p) ? -1 : s.saved.mprotect(a, l, p);
  }
  static int spy_mlock(const void* a, std::size_t l)
  {
    return should_fail(Call::mlock) ? -1 : state().saved.mlock(a, l);
  }
  static int spy_munlock(const void* a, std::size_t l)
  {
    return should_fail(Call::munlock) ? -1 : state().saved.munlock(a, l);
  }
  static int spy_madvise(void* a, std::size_t l, int advice)
  {
    return should_fail(Call::madvise, advice) ? -1 : state().saved.madvise(a, l, advice);
  }
  static int spy_memfd_secret(unsigned int flags)
  {
    return should_fail(Call::memfd_secret) ? -1 : state().saved.memfd_secret(flags);
  }
  static int spy_ftruncate(int fd, off_t length)
  {
    return should_fail(Call::ftruncate) ? -1 : state().saved.ftruncate(fd, length);
  }
  static int spy_close(int fd) { return should_fail(Call::close) ? -1 : state().saved.close(fd); }
  static int spy_pkey_mprotect(void* a, std::size_t l, int p, int key)
  {
    return should_fail(Call::pkey_mprotect, p) ? -1 : state().saved.pkey_mprotect(a, l, p, key);
  }

public:
  // Every call made through sys() while this spy was active.
  [[nodiscard]] int total_calls() const
  {
    int n = 0;
    for (int i = 0; i < static_cast<int>(Call::count_); ++i) {
      n += state().calls[i].load();
    }
    return n;
  }
};

// ---------------------------------------------------------------------------------------------
// Forked children (death tests). The child runs `body` (which returns its exit code) and always
// ends with _exit, never returning into doctest. Its stderr is captured; fatal signals are reset to
// their default action (sanitizers and doctest install handlers), and an alarm ends a child that
// hangs, so a hang shows up as SIGALRM instead of blocking the suite.

inline constexpr int k_child_threw = 120;    // body threw an exception
inline constexpr int k_child_no_fault = 121; // the bad access did not fault
inline constexpr unsigned k_child_alarm_seconds = 30;

struct ChildResult {
  int status = -1;
  std::string err; // the child's stderr

  [[nodiscard]] bool exited_with(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
  [[nodiscard]] bool killed_by(int sig) const { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }
};

inline std::string describe(const ChildResult& r)
{
  if (WIFEXITED(r.status)) {
    return "child exited with status " + std::to_string(WEXITSTATUS(r.status));
  }
  if (WIFSIGNALED(r.status)) {
    return "child killed by signal " + std::to_string(WTERMSIG(r.status)) + " (" +
           ::strsignal(WTERMSIG(r.status)) + ")";
  }
  return "child status " + std::to_string(r.status);
}

inline void reset_fatal_signals() noexcept
{
  for (const int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGALRM, SIGPIPE}) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    ::sigaction(sig, &action, nullptr);
  }
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
}

template <class F> ChildResult run_in_child(F&& body)
{
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    reset_fatal_signals();
    ::alarm(k_child_alarm_seconds);
    int code = k_child_threw;
    try {
      code = body();
    } catch (...) {
      code = k_child_threw;
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  ChildResult result;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.err.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

// Reads one byte at `address` so the compiler cannot drop the access.
inline void touch(const void* address)
{
  [[maybe_unused]] const std::byte b = *static_cast<const volatile std::byte*>(address);
}

// Writes one byte at `address`.
inline void poke(const void* address)
{
  *static_cast<volatile std::byte*>(const_cast<void*>(address)) = std::byte{0x5a};
}

// Drops root in a forked child: supplementary groups, gid, uid (nobody). False if refused.
inline bool become_nobody()
{
  constexpr unsigned k_nobody = 65534;
  return ::setgroups(0, nullptr) == 0 && ::setgid(k_nobody) == 0 && ::setuid(k_nobody) == 0 &&
         ::geteuid() == k_nobody;
}

// In a forked child: RLIMIT_MEMLOCK soft and hard = `limit` bytes, then nobody (no CAP_IPC_LOCK), so
// the limit binds. False if either is refused.
inline bool become_nobody_with_memlock(rlim_t limit)
{
  const rlimit r{limit, limit};
  return ::setrlimit(RLIMIT_MEMLOCK, &r) == 0 && become_nobody();
}

// ---------------------------------------------------------------------------------------------
// Files

// A fresh temporary directory, removed with its contents on scope exit.
class TempDir {
public:
  TempDir()
  {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/smem-test.XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    m_path = templ;
  }
  ~TempDir()
  {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

  // Writes `bytes` to a new file `name` in this directory; returns its path.
  std::filesystem::path write(const std::string& name, std::span<const std::byte> bytes) const
  {
    const std::filesystem::path p = m_path / name;
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      REQUIRE(n > 0);
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return p;
  }

private:
  std::filesystem::path m_path;
};

// An open file descriptor, closed on scope exit.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept
  {
    reset(std::exchange(o.m_fd, -1));
    return *this;
  }
  [[nodiscard]] int get() const { return m_fd; }
  void reset(int fd = -1)
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

inline Pipe make_pipe(int flags = O_CLOEXEC)
{
  int fds[2];
  REQUIRE(::pipe2(fds, flags) == 0);
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// Writes all of `bytes` to a blocking fd.
inline bool write_all(int fd, std::span<const std::byte> bytes)
{
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace smem::test
