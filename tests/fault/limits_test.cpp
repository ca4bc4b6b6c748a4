// Fault injection, resource limits (issue 8 part 3): smem under a tiny RLIMIT_MEMLOCK, a tiny
// RLIMIT_NOFILE and a reached RLIMIT_NPROC. Each run either works (the command's status, the
// exact secret) or ends with one `smem: error:` line naming the problem and status 125 (SPEC 1.1:
// "125: smem itself failed (... limits)"); never a crash, a hang, 126/127, a secret in any
// output, a process left behind or a file in TMPDIR/HOME.
//
// Root bypasses RLIMIT_MEMLOCK and RLIMIT_NPROC, so those runs drop to an unprivileged uid in the
// forked child before smem is executed; RLIMIT_NOFILE binds root too.
#include "fault/fault_util.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace {

using namespace smem::fault_test;
using namespace smem::cli_test;
namespace fs = std::filesystem;

const std::string k_secret = "f4ult-limit-secret";

struct Path {
  std::string name;
  Args flags;
};
const Path k_fast{"fast path (--mask=never)", {"--mask=never"}};
const Path k_supervised{"supervised path (--mask=always)", {"--mask=always"}};

// The number of tasks (threads count: RLIMIT_NPROC counts them) whose real uid is `uid`.
int tasks_of(int uid)
{
  int count = 0;
  std::error_code ec;
  for (const auto& process : fs::directory_iterator("/proc", ec)) {
    const std::string pid = process.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::error_code task_ec;
    for (const auto& task : fs::directory_iterator(process.path() / "task", task_ec)) {
      const std::string status = read_file(task.path() / "status");
      const auto at = status.find("\nUid:\t");
      int real = -1;
      if (at != std::string::npos) {
        const char* begin = status.data() + at + 6;
        std::from_chars(begin, status.data() + status.size(), real);
      }
      count += real == uid ? 1 : 0;
    }
  }
  return count;
}

// A child that needs no fork and no extra descriptor (RLIMIT_NPROC and RLIMIT_NOFILE bind it
// too): saves descriptor 3's line to "$0" and exits 7.
Args saving_child(const std::string& out)
{
  return Args{"--", "sh", "-c", R"(IFS= read -r v <&3; printf %s "$v" > "$0"; exit 7)", out};
}

void check_nothing_left(const TempDir& dir, const Result& r, pid_t smem_pid)
{
  CHECK_FALSE(contains(r.out, k_secret));
  CHECK_FALSE(contains(r.err, k_secret));
  CHECK_MESSAGE(group_empty(smem_pid), "a process of smem's group outlived it");
  CHECK_MESSAGE(no_files_left(dir), "a file appeared in TMPDIR or HOME");
}

} // namespace

TEST_SUITE("fault/limits")
{
  TEST_CASE("a tiny RLIMIT_MEMLOCK either still works or is 125 naming the limit and how to raise it")
  {
    if (::geteuid() != 0) {
      MESSAGE("needs root to drop to an unprivileged uid with a binding limit; skipped");
      return;
    }
    TempDir dir;
    const std::string binary = prepare_for_uid(k_limited_uid, dir);
    Path path = k_fast;
    SUBCASE("fast path")
    {
      path = k_fast;
    }
    SUBCASE("supervised path")
    {
      path = k_supervised;
    }
    const std::string out = dir.str("out/got");
    const auto run_with = [&](rlim_t limit) {
      fs::remove(out);
      Command c = smem_command(dir, Args{"-s", "x=env:SMEM_FAULT_SECRET", "--fd", "3=x"} + path.flags +
                                        saving_child(out));
      c.argv[0] = binary;
      c.env.push_back("SMEM_FAULT_SECRET=" + k_secret);
      c.before_exec = [limit] { return limit_and_become(RLIMIT_MEMLOCK, limit, k_limited_uid); };
      Process process(c);
      const pid_t pid = process.pid();
      const Result r = process.wait();
      check_nothing_left(dir, r, pid);
      return r;
    };
    INFO(path.name);
    // Control: with the limit this test was given, the same uid and command work, so a failure
    // below is the tiny limit's.
    rlimit given{};
    ::getrlimit(RLIMIT_MEMLOCK, &given);
    const Result roomy = run_with(given.rlim_max);
    INFO("RLIMIT_MEMLOCK " << given.rlim_max << ": smem " << roomy.describe() << ", stderr: " << roomy.err);
    REQUIRE(roomy.exited(7));
    CHECK(read_file(out) == k_secret);

    for (const rlim_t limit : {rlim_t{0}, rlim_t{4096}}) {
      const Result r = run_with(limit);
      INFO("RLIMIT_MEMLOCK " << limit << ": smem " << r.describe() << ", stderr: " << r.err);
      if (r.exited(7)) {
        MESSAGE(path.name << ", RLIMIT_MEMLOCK " << limit << ": works (this kernel does not charge it)");
        CHECK(read_file(out) == k_secret);
        continue;
      }
      MESSAGE(path.name << ", RLIMIT_MEMLOCK " << limit << ": smem refuses with 125");
      CHECK(r.exited(125));
      CHECK(one_error_line(r));
      CHECK(contains(r.err, "RLIMIT_MEMLOCK"));
      CHECK(contains(r.err, "ulimit -l"));
      CHECK_FALSE(fs::exists(out)); // the command never ran
    }
  }

  TEST_CASE("the memlock message of smem run offers only what a command-line user can do")
  {
    TempDir dir;
    const std::string binary = prepare_for_uid(k_limited_uid, dir);
    Command c = smem_command(dir, Args{"-s", "x=random:8", "--fd", "3=x", "--", "true"});
    c.argv[0] = binary;
    c.before_exec = [] { return limit_and_become(RLIMIT_MEMLOCK, 0, k_limited_uid); };
    const Result r = run(c);
    INFO("smem " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(125));
    CHECK_FALSE(contains(r.err, "LockFailure::warn")); // a C++ option of libsmem, not of smem run
  }

  TEST_CASE("a tiny RLIMIT_NOFILE never crashes smem: it works or is 125 with a clear message")
  {
    if (k_sanitized) {
      MESSAGE("the sanitizer runtimes in this build need descriptors of their own: skipped");
      return;
    }
    TempDir dir;
    // Three kinds of descriptor smem needs: a pipe (--fd), a memfd and the provider's pipe
    // (cmd:), a /dev/fd/N placeholder; the child reads all three.
    const std::string provided = "provider-value";
    const int expected = digest_status(k_secret + provided + k_secret);
    for (const Path& path : {k_fast, k_supervised}) {
      bool worked_at_64 = false;
      for (const rlim_t limit : {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 24, 64}) {
        Command c = smem_command(dir, Args{"-s", "x=env:SMEM_FAULT_SECRET", "-s", "y=cmd:printf " + provided,
                                           "--fd", "3=x", "--fd", "4=y:memfd"} +
                                          path.flags + child_program({"3", "4", "{x}"}));
        c.env.push_back("SMEM_FAULT_SECRET=" + k_secret);
        c.env.push_back(child_env("digest"));
        c.before_exec = [limit] { return limit_and_become(RLIMIT_NOFILE, limit, -1); };
        Process process(c);
        const pid_t pid = process.pid();
        const Result r = process.wait();
        INFO(path.name << ", RLIMIT_NOFILE " << limit << ": smem " << r.describe() << ", stderr: " << r.err);
        if (r.exited(expected)) {
          worked_at_64 = worked_at_64 || limit == 64;
        } else {
          CHECK(r.exited(125));
          CHECK(one_error_line(r));
          CHECK(contains(r.err, "Too many open files"));
        }
        check_nothing_left(dir, r, pid);
      }
      CHECK_MESSAGE(worked_at_64, path.name << ": the control run with RLIMIT_NOFILE 64 did not work");
    }
  }

  TEST_CASE("RLIMIT_NPROC reached: a process smem cannot start is 125 with a clear message")
  {
    if (::geteuid() != 0) {
      MESSAGE("needs root to drop to an unprivileged uid with a binding limit; skipped");
      return;
    }
    if (k_sanitized) {
      MESSAGE("LeakSanitizer needs a thread of its own, which the limit refuses: skipped in this build");
      return;
    }
    TempDir dir;
    const std::string binary = prepare_for_uid(k_limited_uid, dir);
    const std::string out = dir.str("out/got");
    const auto run_limited = [&](Args args) {
      fs::remove(out);
      Command c = smem_command(dir, std::move(args));
      c.argv[0] = binary;
      c.env.push_back("SMEM_FAULT_SECRET=" + k_secret);
      // The limit is the number of processes the uid has once this one has become it: one more
      // (any fork or clone of smem) is refused.
      c.before_exec = [] {
        std::string error = become(k_limited_uid);
        if (!error.empty()) {
          return error;
        }
        const auto count = static_cast<rlim_t>(tasks_of(k_limited_uid));
        const rlimit reached{count, count};
        return ::setrlimit(RLIMIT_NPROC, &reached) == 0 ? std::string() : std::string("setrlimit failed");
      };
      Process process(c);
      const pid_t pid = process.pid();
      const Result r = process.wait();
      check_nothing_left(dir, r, pid);
      return r;
    };
    const Args secret{"-s", "x=env:SMEM_FAULT_SECRET", "--fd", "3=x"};

    SUBCASE("the fast path needs no new process and still works")
    {
      const Result r = run_limited(secret + k_fast.flags + saving_child(out));
      INFO("smem " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(7));
      CHECK(read_file(out) == k_secret);
    }
    SUBCASE("the supervised command cannot be started")
    {
      const Result r = run_limited(secret + k_supervised.flags + saving_child(out));
      INFO("smem " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(125));
      CHECK(one_error_line(r));
      CHECK(contains(r.err, "cannot start sh"));
      CHECK(contains(r.err, "ulimit -u"));
      CHECK_FALSE(fs::exists(out));
    }
    SUBCASE("a cmd: provider cannot be started")
    {
      const Result r = run_limited(Args{"-s", "p=cmd:printf %s never-provided", "--fd", "3=p"} +
                                   k_fast.flags + saving_child(out));
      INFO("smem " << r.describe() << ", stderr: " << r.err);
      CHECK(r.exited(125));
      CHECK(one_error_line(r));
      CHECK(contains(r.err, "secret 'p'"));
      CHECK(contains(r.err, "ulimit -u"));
      CHECK_FALSE(fs::exists(out));
    }
  }
}
