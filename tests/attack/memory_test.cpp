// Attacks on smem's memory by root while `smem run` supervises a command: root reads every byte
// of smem that /proc/PID/mem gives it (the way a debugger or a memory forensics tool would,
// PROT_NONE pages included) and looks for the secrets and their base64 forms; and it reads
// /proc/PID/smaps to see whether a page holding secret memory could ever be swapped out.
//
// The claims (SPEC 1.1 and DESIGN.md): on the secretmem backend (memfd_secret, the default where
// the kernel offers it) no copy of a secret is readable even by root; on the mlock backend (the
// fallback, e.g. where seccomp forbids memfd_secret) root can read secrets, which is out of scope,
// but every copy lies in locked, never-dumped memory, so none can reach swap or a core file.
//
// Controls: the command reads one secret into its shell variable, and the same scan finds it in
// the command's memory; on the mlock backend the scan must find every secret in smem itself.
#include "attack/attack_util.hpp"
#include "core/test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace smem::attack_test;
using smem::cli_test::write_file;

// The sanitizers reserve terabytes of shadow memory; scanning smem's memory then measures them.
constexpr bool k_sanitized = smem::test::k_asan || smem::test::k_tsan;

// Three secrets from three sources, each delivered on its own pipe, masked in the output (so the
// masker's tables, which hold the secrets and their encoded forms, are in memory too).
struct Secrets {
  std::string from_env = random_secret();
  std::string from_stdin = random_secret();
  std::string from_file = random_secret();

  [[nodiscard]] std::vector<std::string> values() const { return {from_env, from_stdin, from_file}; }
  // The values, then their base64 forms.
  [[nodiscard]] std::vector<std::string> needles() const
  {
    std::vector<std::string> n = values();
    for (const std::string& v : values()) {
      n.push_back(base64(v));
    }
    return n;
  }
};

RunSetup setup_for(const TempDir& dir, const Secrets& s, bool hide)
{
  write_file(dir.path() / "key", s.from_file);
  RunSetup setup;
  setup.smem_args = {"-s",           "a=env:SMEM_ATTACK_TOKEN",
                     "-s",           "b=stdin",
                     "-s",           "c=file:" + dir.str("key"),
                     "--fd",         "3=a",
                     "--fd",         "4=b",
                     "--fd",         "5=c",
                     "--mask=always"};
  setup.env = {"SMEM_ATTACK_TOKEN=" + s.from_env};
  setup.stdin_data = s.from_stdin;
  // The control: the command takes `b` into its own (ordinary) memory.
  setup.command_prelude = "read -r v <&4 || :";
  setup.hide_memfd_secret = hide;
  return setup;
}

std::size_t hits_of(const MemoryScan& scan, std::size_t needle)
{
  return static_cast<std::size_t>(
      std::count_if(scan.hits.begin(), scan.hits.end(), [&](const Hit& h) { return h.needle == needle; }));
}

// A libsmem guard page as smaps shows it: anonymous, private, no access, not locked.
bool is_guard(const Region& r)
{
  return r.path.empty() && r.perms == "---p" && !r.has_flag("lo");
}

// The regions libsmem put secret memory in: every mapping between two guard pages.
std::vector<std::size_t> guarded_regions(const std::vector<Region>& regions)
{
  std::vector<std::size_t> result;
  for (std::size_t i = 1; i + 1 < regions.size(); ++i) {
    const Region& before = regions[i - 1];
    const Region& after = regions[i + 1];
    if (is_guard(before) && is_guard(after) && !is_guard(regions[i]) && before.end == regions[i].start &&
        regions[i].end == after.start) {
      result.push_back(i);
    }
  }
  return result;
}

bool skip_unless_root_and_unsanitized()
{
  if (!is_root()) {
    MESSAGE("needs root (the attacker here is root); skipped");
    return true;
  }
  if (k_sanitized) {
    MESSAGE("a sanitizer's shadow memory makes a whole-process scan meaningless; skipped");
    return true;
  }
  return false;
}

} // namespace

TEST_SUITE("attack/memory")
{
  TEST_CASE("root scanning all of smem's readable memory finds no copy of a secret on the secretmem backend")
  {
    if (skip_unless_root_and_unsanitized()) {
      return;
    }
    TempDir dir;
    const std::string backend = doctor_backend(dir, false);
    if (backend != "secretmem") {
      MESSAGE("smem uses the " << backend << " backend on this machine; the secretmem claim is not tested");
      return;
    }
    const Secrets secrets;
    RunningSmem smem(dir, setup_for(dir, secrets, false));
    REQUIRE(smem.ready());
    const MemoryScan scan = scan_memory(smem.smem_pid(), secrets.needles());
    REQUIRE(scan.opened);
    INFO("read " << scan.bytes_read << " bytes of smem in " << scan.regions.size() << " mappings");
    CHECK(scan.bytes_read > 100'000); // the scan read smem: its binary, heap and stack
    CHECK(scan.hits.empty());
    for (const Hit& h : scan.hits) {
      FAIL_CHECK("needle " << h.needle << " at " << hex(h.address) << " in "
                           << scan.regions[h.region].describe());
    }
    // Where the secrets are: memfd_secret mappings, which the kernel does not let even root read.
    std::size_t secretmem = 0;
    for (std::size_t i = 0; i < scan.regions.size(); ++i) {
      const Region& r = scan.regions[i];
      if (r.is_secretmem()) {
        ++secretmem;
        INFO(r.describe());
        CHECK(std::find(scan.unreadable.begin(), scan.unreadable.end(), i) != scan.unreadable.end());
      }
    }
    CHECK(secretmem > 0);

    // Control: the same scan finds the secret the command read into its own memory.
    const MemoryScan command = scan_memory(smem.command_pid(), secrets.needles());
    CHECK(command.opened);
    CHECK(hits_of(command, 1) > 0);

    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }

  TEST_CASE("with memfd_secret blocked smem falls back to mlock and every copy of a secret is locked and "
            "never dumped")
  {
    if (skip_unless_root_and_unsanitized()) {
      return;
    }
    TempDir dir;
    REQUIRE(doctor_backend(dir, true) == "mlock");
    const Secrets secrets;
    RunningSmem smem(dir, setup_for(dir, secrets, true));
    REQUIRE(smem.ready());
    const MemoryScan scan = scan_memory(smem.smem_pid(), secrets.needles());
    REQUIRE(scan.opened);
    INFO("read " << scan.bytes_read << " bytes of smem in " << scan.regions.size() << " mappings");
    // Root reads mlock memory (out of scope, SECURITY.md): the scan must see every secret, or it
    // proves nothing about where the copies are.
    for (std::size_t n = 0; n < secrets.values().size(); ++n) {
      INFO("secret " << n);
      CHECK(hits_of(scan, n) > 0);
    }
    for (const Hit& h : scan.hits) {
      const Region& r = scan.regions[h.region];
      INFO("needle " << h.needle << " at " << hex(h.address) << " in " << r.describe());
      CHECK(r.fully_locked());
      CHECK(r.has_flag("dd"));
    }
    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }

  TEST_CASE("every mapping that holds secret memory is secretmem or locked so no secret page is ever swapped")
  {
    if (skip_unless_root_and_unsanitized()) {
      return;
    }
    bool hide = false;
    SUBCASE("default backend")
    {
      hide = false;
    }
    SUBCASE("mlock backend (memfd_secret blocked)")
    {
      hide = true;
    }
    TempDir dir;
    const std::string backend = doctor_backend(dir, hide);
    INFO("backend " << backend);
    const Secrets secrets;
    RunningSmem smem(dir, setup_for(dir, secrets, hide));
    REQUIRE(smem.ready());
    const MemoryScan scan = scan_memory(smem.smem_pid(), secrets.needles());
    REQUIRE(scan.opened);

    // The mappings that can hold a secret: libsmem's guarded ones (found by their shape, whatever
    // the backend), every secretmem mapping, and wherever the scan saw a copy.
    std::set<std::size_t> holders;
    for (const std::size_t i : guarded_regions(scan.regions)) {
      holders.insert(i);
    }
    for (std::size_t i = 0; i < scan.regions.size(); ++i) {
      if (scan.regions[i].is_secretmem()) {
        holders.insert(i);
      }
    }
    for (const Hit& h : scan.hits) {
      holders.insert(h.region);
    }
    // The shape is the layout's business (several secrets may share a mapping); there is one.
    CHECK_FALSE(guarded_regions(scan.regions).empty());
    for (const std::size_t i : holders) {
      const Region& r = scan.regions[i];
      INFO(r.describe());
      CHECK(r.fully_locked());
      CHECK(r.has_flag("dd"));
      CHECK((r.is_secretmem() || backend == "mlock"));
    }
    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }

  // Found a bug: the supervisor read the command's output into a 1 MiB heap buffer
  // (src/run/supervise.cpp) and never wiped it, so a secret the command printed stayed in smem's
  // ordinary, swappable, root-readable memory until later output overwrote it. The bytes are now
  // wiped as soon as they are relayed.
  TEST_CASE("a secret the command prints is masked and leaves no copy in smem's readable memory")
  {
    if (skip_unless_root_and_unsanitized()) {
      return;
    }
    TempDir dir;
    if (const std::string backend = doctor_backend(dir, false); backend != "secretmem") {
      MESSAGE("smem uses the " << backend << " backend on this machine; skipped");
      return;
    }
    const Secrets secrets;
    RunSetup setup = setup_for(dir, secrets, false);
    // A careless command echoes its token (the reason masking exists): smem reads it to mask it.
    setup.command_prelude = "cat <&3; echo";
    RunningSmem smem(dir, setup);
    REQUIRE(smem.ready());
    // Later output overwrites part of whatever buffer held it: look for either half as well.
    const std::string& token = secrets.from_env;
    const std::size_t half = token.size() / 2;
    const MemoryScan scan = scan_memory(smem.smem_pid(), {token, token.substr(0, half), token.substr(half)});
    REQUIRE(scan.opened);
    INFO("read " << scan.bytes_read << " bytes of smem in " << scan.regions.size() << " mappings");
    CHECK(scan.hits.empty());
    for (const Hit& h : scan.hits) {
      const Region& r = scan.regions[h.region];
      FAIL_CHECK("needle " << h.needle << " at " << hex(h.address) << " in " << r.describe());
    }
    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
    CHECK_FALSE(smem::cli_test::contains(r.out, secrets.from_env));
  }
}
