// Helpers of the fault-injection and load suites (issue 8, parts 3 and 4): black-box runs of the
// smem binary under hostile limits and signals, built on cli/process.hpp, and the checks every
// fault test ends with: one clear `smem: error:` line, the documented status, nothing left behind.
#pragma once

#include "cli/process.hpp"
#include "sanitizers.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

namespace smem::fault_test {

// Whether this build (and so the smem binary under test) runs with sanitizer runtimes, which need
// descriptors and threads of their own and print their own reports when limits refuse them.
inline constexpr bool k_sanitized = test::k_asan || test::k_tsan;

using cli_test::Command;
using cli_test::Result;
using cli_test::TempDir;
using Args = std::vector<std::string>;

Args operator+(Args a, const Args& b);

// An unprivileged uid for the tests that need limits to bind (root bypasses RLIMIT_MEMLOCK and
// RLIMIT_NPROC). Not 65534: other suites run as nobody at the same time, and RLIMIT_NPROC counts
// every process of the uid.
constexpr int k_limited_uid = 64917;

// The child programs of fault_children.cpp, selected by this variable (not SMEM_TEST_CHILD, whose
// dispatcher in cli/child_programs.cpp exits 99 for names it does not know).
constexpr std::string_view k_child_variable = "SMEM_FAULT_CHILD";

// The status the `digest` child program exits with for `bytes`: 0..119, so it never collides
// with smem's own 125..127 or a signal's 128+N. FNV-1a: any changed byte changes it (almost
// always), so a status that matches means the child got exactly these bytes.
int digest_status(std::string_view bytes);

// `smem run ARGS` in `dir` with the tests' environment (HOME and TMPDIR under `dir`, which
// no_files_left() watches) and `stdin_data` on stdin (nullopt: kept open).
Command smem_command(const TempDir& dir, Args args, std::optional<std::string> stdin_data = std::string());

// argv tail `-- <this binary>` running child program `program` with `args`; the caller adds
// SMEM_FAULT_CHILD=program to the environment with child_env().
Args child_program(const std::vector<std::string>& args = {});
std::string child_env(std::string_view program);

// Becomes `uid` (groups too), for Command::before_exec. Returns an error text, or empty.
std::string become(int uid);

// Sets `resource` to `limit` (soft and hard) and, when uid >= 0, becomes that uid: for
// Command::before_exec. Returns an error text, or empty.
std::string limit_and_become(int resource, rlim_t limit, int uid);

// The smem binary where `uid` can execute it (copied into `dir` if needed), and `dir` made
// traversable (0711) with a subdirectory "out" owned by `uid` for the child's results.
std::string prepare_for_uid(int uid, const TempDir& dir);

// Whether process group `pgid` has no process left running (a zombie that ended but waits for
// whoever reaps orphans does not count).
bool group_empty(pid_t pgid);

// Whether process `pid` has ended, waiting at most the hang limit (a hang detector, not timing).
bool ends(pid_t pid);

// The pid a child wrote (decimal, maybe with a newline) to `path`, or -1.
pid_t read_pid(const std::string& path);

// No file appeared in the TMPDIR and HOME that smem_command() gives smem.
bool no_files_left(const TempDir& dir);

// stderr ends with exactly one `smem: error: ` line (provider messages may come before it).
bool one_error_line(const Result& r);

} // namespace smem::fault_test
