// Crashing smem to make it write a core file: SIGSEGV and SIGABRT sent to a running `smem run`
// whose RLIMIT_CORE is unlimited. smem claims (SPEC 1.1) that it never dumps core: it is
// non-dumpable and sets its own soft RLIMIT_CORE to 0, and its fatal-signal handlers wipe live
// secrets before the signal ends it. What a user notices: smem ends with that signal, no core file
// appears, and no file the run could write holds the secret.
//
// The control: a dumpable process under the same limit, core pattern and directory does write a
// core file, so "no core" means smem's protection and not this machine's settings.
//
// Core files go where /proc/sys/kernel/core_pattern says. A relative pattern ("core") writes into
// the crashing process's directory, which the test chooses; an absolute or piped one is replaced,
// as root, by one pointing into the test's directory for the length of the test and then restored.
#include "attack/attack_util.hpp"
#include "core/test_util.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <vector>

namespace {

using namespace smem::attack_test;
using smem::cli_test::contains;
using smem::cli_test::read_file;
namespace fs = std::filesystem;

const std::string k_core_pattern_file = "/proc/sys/kernel/core_pattern";

std::string trimmed(std::string s)
{
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

bool write_core_pattern(const std::string& pattern)
{
  std::ofstream out(k_core_pattern_file);
  out << pattern << "\n";
  out.flush();
  return static_cast<bool>(out) && trimmed(read_file(k_core_pattern_file)) == pattern;
}

// Where core files of this test land: `cwd` of the crashing process when the system pattern is
// relative; otherwise (root only) a pattern into `dir`, restored by the destructor.
class CoreCapture {
public:
  explicit CoreCapture(const TempDir& dir) : m_original(trimmed(read_file(k_core_pattern_file)))
  {
    if (!m_original.empty() && m_original[0] != '/' && m_original[0] != '|') {
      m_possible = true;
      return;
    }
    const std::string pattern = dir.str("cores") + "/core.%p";
    fs::create_directories(dir.path() / "cores");
    if (is_root() && write_core_pattern(pattern)) {
      m_replaced = true;
      m_possible = true;
    } else {
      MESSAGE("core_pattern '" << m_original << "' cannot be pointed at the test's directory");
    }
  }
  ~CoreCapture()
  {
    if (m_replaced && !write_core_pattern(m_original)) {
      FAIL_CHECK("could not restore core_pattern to '" << m_original << "'");
    }
  }
  CoreCapture(const CoreCapture&) = delete;
  CoreCapture& operator=(const CoreCapture&) = delete;

  [[nodiscard]] bool possible() const noexcept { return m_possible; }

  // Core files of `pid`, which ran in `cwd` under `dir`.
  [[nodiscard]] std::vector<fs::path> cores_of(pid_t pid, const fs::path& cwd, const TempDir& dir) const
  {
    std::vector<fs::path> found;
    const fs::path where = m_replaced ? dir.path() / "cores" : cwd;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(where, ec)) {
      const std::string name = entry.path().filename().string();
      if (contains(name, "core") && (!m_replaced || name == "core." + std::to_string(pid))) {
        found.push_back(entry.path());
      }
    }
    return found;
  }

private:
  std::string m_original;
  bool m_possible = false;
  bool m_replaced = false;
};

std::string unlimited_cores()
{
  rlimit core{};
  ::getrlimit(RLIMIT_CORE, &core);
  core.rlim_max = is_root() ? RLIM_INFINITY : core.rlim_max;
  core.rlim_cur = core.rlim_max;
  return ::setrlimit(RLIMIT_CORE, &core) == 0 ? std::string() : "cannot raise RLIMIT_CORE";
}

// Every file under `dir` whose bytes contain `secret`.
std::vector<fs::path> files_holding(const fs::path& dir, const std::string& secret)
{
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && contains(read_file(it->path()), secret)) {
      found.push_back(it->path());
    }
  }
  return found;
}

} // namespace

TEST_SUITE("attack/crash")
{
  TEST_CASE("SIGSEGV or SIGABRT sent to smem ends it with that signal and no core file or secret on disk")
  {
    int sig = SIGSEGV;
    SUBCASE("SIGSEGV")
    {
      sig = SIGSEGV;
    }
    SUBCASE("SIGABRT")
    {
      sig = SIGABRT;
    }
    INFO("signal " << sig);
    TempDir dir;
    const CoreCapture capture(dir);
    const fs::path control_cwd = dir.path() / "control";
    const fs::path smem_cwd = dir.path() / "smem";
    fs::create_directories(control_cwd);
    fs::create_directories(smem_cwd);

    // Control: a dumpable shell killed by the same signal in the same conditions dumps core.
    smem::cli_test::Command control;
    control.argv = {"/bin/sh", "-c", "kill -" + std::to_string(sig) + " $$"};
    control.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
    control.cwd = control_cwd.string();
    control.before_exec = unlimited_cores;
    smem::cli_test::Process control_process(control);
    const pid_t control_pid = control_process.pid();
    const Result control_result = control_process.wait();
    CHECK(control_result.signaled(sig));
    const bool cores_observable =
        capture.possible() && !capture.cores_of(control_pid, control_cwd, dir).empty();
    if (!cores_observable) {
      MESSAGE(
          "this machine wrote no core file for a dumpable process either: only the exit status is checked");
    }

    const std::string secret = random_secret();
    RunSetup setup;
    setup.smem_args = {"-s", "k=stdin", "--fd", "3=k", "--mask=always"};
    setup.stdin_data = secret;
    setup.cwd = smem_cwd.string();
    setup.before_exec = unlimited_cores;
    RunningSmem smem(dir, setup);
    REQUIRE(smem.ready());
    const pid_t smem_pid = smem.smem_pid();
    REQUIRE(::kill(smem_pid, sig) == 0);
    const Result r = smem.process().wait();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    if (smem::test::k_asan && sig == SIGSEGV) {
      // AddressSanitizer's SIGSEGV handler comes first (libsmem leaves a handler it finds alone)
      // and ends smem with its own exit status.
      MESSAGE("AddressSanitizer handles SIGSEGV in this build: the exit status is its own");
      CHECK_FALSE(r.exited(0));
    } else {
      CHECK(r.signaled(sig));
    }
    CHECK_FALSE(WCOREDUMP(r.status));
    if (cores_observable) {
      CHECK(capture.cores_of(smem_pid, smem_cwd, dir).empty());
    }
    CHECK_FALSE(contains(r.out, secret));
    CHECK_FALSE(contains(r.err, secret));
    CHECK(files_holding(dir.path(), secret).empty());
  }
}
