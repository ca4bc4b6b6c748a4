#include "cli/doctor.hpp"

#include "bench/scenarios.hpp"

#include <smem/smem.hpp>

#include <fmt/core.h>

#include <fstream>
#include <optional>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

namespace smem::cli {
namespace {

struct Facts {
  bool memfd_secret = false;
  bool pkeys = false;
  long long memlock_soft = -1; // bytes, -1 = unlimited
  long long memlock_hard = -1;
  long long capacity_32b = 0;
  bool core_dumps = false;
  std::optional<int> ptrace_scope;
  Options chosen;
};

long long as_bytes(rlim_t value)
{
  return value == RLIM_INFINITY ? -1 : static_cast<long long>(value);
}

std::optional<long long> read_number(const char* path)
{
  std::ifstream in(path);
  long long value = 0;
  if (in >> value) {
    return value;
  }
  return std::nullopt;
}

bool probe_memfd_secret()
{
#ifdef SYS_memfd_secret
  const long fd = ::syscall(SYS_memfd_secret, 0);
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return true;
  }
#endif
  return false;
}

Facts gather(const rlimit& core)
{
  Facts f;
  f.memfd_secret = probe_memfd_secret();
  rlimit memlock{};
  ::getrlimit(RLIMIT_MEMLOCK, &memlock);
  f.memlock_soft = as_bytes(memlock.rlim_cur);
  f.memlock_hard = as_bytes(memlock.rlim_max);
  f.chosen = SecretFactory().options();
  // libsmem picks the pkey guard exactly when this machine has a key to give (its own probe).
  f.pkeys = f.chosen.guard == Guard::pkey;
  // libsmem raises the soft limit to the hard one when it needs to, so the hard limit is what
  // counts. The pooled layout puts a 32-byte secret in a 48-byte slot (canary included), whole
  // slots per locked page, in arenas of about three mappings each (up to 64 pages, one page under
  // Guard::mprotect); the isolated layout locks a page and maps three areas per secret.
  const long long page = ::sysconf(_SC_PAGESIZE);
  const long long max_maps = read_number("/proc/sys/vm/max_map_count").value_or(65530);
  const bool pooled = f.chosen.layout == Layout::pooled;
  const long long per_page = pooled ? page / 48 : 1;
  const long long arena_pages = f.chosen.guard == Guard::mprotect ? 1 : 64;
  const long long by_maps = pooled ? max_maps / 3 * arena_pages * per_page : max_maps / 3;
  f.capacity_32b = f.memlock_hard < 0 ? by_maps : std::min(by_maps, f.memlock_hard / page * per_page);
  f.core_dumps = core.rlim_cur != 0;
  if (const auto scope = read_number("/proc/sys/kernel/yama/ptrace_scope")) {
    f.ptrace_scope = static_cast<int>(*scope);
  }
  return f;
}

std::string limit_text(long long bytes)
{
  if (bytes < 0) {
    return "unlimited";
  }
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) {
    return fmt::format("{} MiB", bytes >> 20);
  }
  if (bytes >= 1024 && bytes % 1024 == 0) {
    return fmt::format("{} KiB", bytes >> 10);
  }
  return fmt::format("{} bytes", bytes);
}

void print_json(const Facts& f)
{
  fmt::print(
      "{{\"backend\": \"{}\", \"guard\": \"{}\", \"layout\": \"{}\", \"memfd_secret\": {}, \"pkeys\": {}, "
      "\"memlock_soft\": {}, \"memlock_hard\": {}, \"secrets_32b_capacity\": {}, \"core_dumps\": {}, "
      "\"ptrace_scope\": {}}}\n",
      bench::name(f.chosen.backend), bench::name(f.chosen.guard), bench::name(f.chosen.layout),
      f.memfd_secret, f.pkeys, f.memlock_soft, f.memlock_hard, f.capacity_32b, f.core_dumps,
      f.ptrace_scope ? std::to_string(*f.ptrace_scope) : std::string("null"));
}

void line(const char* what, const std::string& value, const std::string& note)
{
  fmt::print("{:<16} {:<10} {}\n", what, value, note);
}

void print_text(const Facts& f)
{
  line("memfd_secret", f.memfd_secret ? "yes" : "no",
       f.memfd_secret ? "secrets leave the kernel's direct map: not even root can read them"
                      : "secrets use mlock'd memory that root can read; boot Linux >= 5.14 with "
                        "secretmem.enable=1 (and allow memfd_secret in seccomp) to fix");
  line("protection keys", f.pkeys ? "yes" : "no",
       f.pkeys ? "each access is granted to its own thread only, with no system call"
               : "each access costs an mprotect pair (about 2 us) instead of ~40 ns and opens the secret's "
                 "page to every thread; needs a CPU with PKU (Intel Xeon Skylake-SP or later, AMD Zen 3 "
                 "or later) and a kernel with pkeys");
  line("RLIMIT_MEMLOCK", limit_text(f.memlock_soft) + " / " + limit_text(f.memlock_hard),
       fmt::format(
           "soft / hard: room for about {} secrets of 32 bytes{}", f.capacity_32b,
           f.memlock_hard >= 0 && f.capacity_32b < 10000
               ? "; raise it with `ulimit -l`, systemd LimitMEMLOCK=, or `docker run --ulimit memlock=-1`"
               : ""));
  line("core dumps", f.core_dumps ? "enabled" : "disabled",
       f.core_dumps ? "for this user's programs; smem disables them for itself (non-dumpable, RLIMIT_CORE 0)"
                    : "smem also disables them for itself");
  line("ptrace_scope", f.ptrace_scope ? std::to_string(*f.ptrace_scope) : std::string("absent"),
       f.ptrace_scope && *f.ptrace_scope >= 1
           ? "same-user processes cannot attach to smem (it is non-dumpable as well)"
           : "smem is non-dumpable, so same-user processes cannot attach; set kernel.yama.ptrace_scope=1 "
             "to protect your other programs too");
  fmt::print("\nsmem run uses backend {}, guard {}, layout {}: {}; {}; {}.\n", bench::name(f.chosen.backend),
             bench::name(f.chosen.guard), bench::name(f.chosen.layout),
             f.memfd_secret ? "memfd_secret works here" : "memfd_secret is unavailable, so mlock",
             f.chosen.guard == Guard::pkey ? "protection keys work here" : "no protection keys, so mprotect",
             "secrets up to 1 KiB share locked arenas, larger ones get their own guarded pages");
}

} // namespace

CLI::App* add_doctor_command(CLI::App& app, DoctorArgs& args)
{
  CLI::App* doctor =
      app.add_subcommand("doctor", "Show what protections this machine offers, and how to get the rest.");
  doctor->add_flag("--json", args.json, "Print one JSON object instead of the table");
  return doctor;
}

int run_doctor(const DoctorArgs& args, const rlimit& core)
{
  const Facts facts = gather(core);
  if (args.json) {
    print_json(facts);
  } else {
    print_text(facts);
  }
  return 0;
}

} // namespace smem::cli
