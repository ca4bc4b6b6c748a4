// Helpers for the attacker's-eye tests (tests/attack/): what an attacker with a given identity can
// see of a running smem. Built on cli/process.hpp (start, talk to and reap processes with a hang
// detector); this file adds the attacker's tools: /proc/PID/smaps parsing, a scan of a process's
// readable memory for byte strings, becoming another user, a seccomp filter that hides
// memfd_secret(2), and a running `smem run` whose command waits on a FIFO the test controls.
//
// Rules: no sleeps (the command prints "ready PID" and then blocks until the test releases it);
// no secret byte in any failure message (tests report counts and addresses, never contents).
#pragma once

#include "cli/process.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace smem::attack_test {

using cli_test::Command;
using cli_test::Process;
using cli_test::Result;
using cli_test::TempDir;

// The unprivileged attacker of these tests when they run as root: "nobody".
constexpr int k_nobody = 65534;

// Whether the test binary runs as root (root-only attacks are skipped otherwise, with a message).
bool is_root();

// The identity an unprivileged attacker takes: nobody when the tests run as root, else -1 (the
// tests' own user, which is then also unprivileged).
int unprivileged_uid();

// `n` random letters and digits: a test-only secret that is valid in an environment variable and
// cannot be confused with anything else in a process's memory.
std::string random_secret(std::size_t n = 40);

// Standard base64 with padding: one of the encoded forms the masker keeps of a secret.
std::string base64(std::string_view bytes);

// In a forked child before exec: drops supplementary groups, then gid and uid, to `uid` (no-op
// for uid < 0). Returns an error text or "".
std::string become_user(int uid);

// A path to the smem binary that `uid` may execute (a copy under `dir` when the build tree is not
// reachable for it).
std::string smem_binary_for(int uid, const TempDir& dir);

// In a forked child before exec: installs a seccomp filter under which memfd_secret(2) fails with
// ENOSYS, as in containers whose profile does not allow it. libsmem's automatic backend then
// falls back to mlock. Returns an error text or "".
std::string hide_memfd_secret();

// A file read by a forked process as `uid` (-1: as the tests' own user).
struct ProcRead {
  int error = 0; // errno of open() or read(), 0 when the whole file was read
  std::string content;
};
ProcRead read_as(int uid, const std::string& path);

// errno of open(path, O_RDONLY) by a forked process as `uid`, 0 if it opened.
int open_error_as(int uid, const std::string& path);

// "/proc/PID/NAME".
std::string proc_path(pid_t pid, std::string_view name);

// One mapping of /proc/PID/smaps.
struct Region {
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;
  std::string perms; // "rw-p", "---s", ...
  std::string path;  // "" for anonymous memory, "[heap]", "/secretmem (deleted)", ...
  std::size_t size_kb = 0;
  std::size_t rss_kb = 0;
  std::size_t locked_kb = 0;
  std::size_t swap_kb = 0;
  std::vector<std::string> vm_flags; // "lo" (VM_LOCKED), "dd" (VM_DONTDUMP), ...

  [[nodiscard]] bool has_flag(std::string_view flag) const;
  [[nodiscard]] bool is_secretmem() const;
  // Locked by the kernel: VM_LOCKED and every page of it resident and locked (Locked == Size), so
  // no page of it can be swapped out.
  [[nodiscard]] bool fully_locked() const;
  [[nodiscard]] std::string describe() const; // "7f..-7f.. rw-p [heap] Size 132 kB Locked 0 kB"
};

// The mappings of `pid` (needs the right to read its smaps: root, for a non-dumpable smem).
std::vector<Region> read_smaps(pid_t pid);

// Where a scan found a needle.
struct Hit {
  std::uintptr_t address = 0;
  std::size_t needle = 0; // index into the needles
  std::size_t region = 0; // index into MemoryScan::regions
};

// "0x7f..." for failure messages.
std::string hex(std::uintptr_t address);

// Everything /proc/PID/mem let the caller read of `pid`, searched for every needle.
struct MemoryScan {
  std::vector<Region> regions;
  std::vector<Hit> hits;
  std::vector<std::size_t> unreadable; // regions of which no byte could be read
  std::size_t bytes_read = 0;
  bool opened = false; // /proc/PID/mem could be opened at all
  int open_error = 0;
};

// Reads every mapping of `pid` through /proc/PID/mem, skipping what the kernel refuses (page by
// page), and records every occurrence of every needle. Reading also covers PROT_NONE mappings:
// /proc/PID/mem reads with FOLL_FORCE, as a debugger does.
MemoryScan scan_memory(pid_t pid, const std::vector<std::string>& needles);

// A FIFO in a test directory, held open read-write by the test so that the command can open it
// without waiting; a `read` from it blocks until release(). The test's descriptor is
// close-on-exec, and the FIFO is removed with the directory.
class Gate {
public:
  explicit Gate(const TempDir& dir);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return m_path; }
  void release(); // writes one line: the waiting `read` returns

private:
  std::string m_path;
  int m_fd = -1;
};

// Options of a RunningSmem.
struct RunSetup {
  std::vector<std::string> smem_args; // between `smem run` and `--`, e.g. {"-s", "k=stdin", ...}
  std::vector<std::string> env;       // added to a minimal environment
  std::optional<std::string> stdin_data = std::string();
  // Shell code the command runs before it says "ready $$ :ready" and waits ("" for none), e.g.
  // `read -r v <&3` to take the secret into its own memory.
  std::string command_prelude;
  int uid = -1; // run smem as this user (needs root; -1: the tests' own)
  bool hide_memfd_secret = false;
  std::string cwd;                          // "" : "/"
  std::function<std::string()> before_exec; // extra setup in the child, after the above
};

// A `smem run ... -- sh -c '<prelude>; echo "ready $$ :ready"; read x < GATE'` that has started: smem
// has acquired its secrets, launched the command and is supervising it; the command is blocked on
// the gate until release(). The destructor kills and reaps anything still running.
class RunningSmem {
public:
  RunningSmem(const TempDir& dir, RunSetup setup);
  // false (with a test failure) if the command never said ready.
  [[nodiscard]] bool ready() const noexcept { return m_ready; }
  [[nodiscard]] pid_t smem_pid() const noexcept { return m_process->pid(); }
  [[nodiscard]] pid_t command_pid() const noexcept { return m_command; }
  [[nodiscard]] Process& process() noexcept { return *m_process; }
  // Lets the command finish and collects smem's result.
  Result finish();

private:
  std::unique_ptr<Gate> m_gate;
  std::unique_ptr<Process> m_process;
  pid_t m_command = -1;
  bool m_ready = false;
};

// What `smem doctor --json` reports as "backend" under the same conditions (uid, seccomp).
std::string doctor_backend(const TempDir& dir, bool hide_memfd_secret);

} // namespace smem::attack_test
