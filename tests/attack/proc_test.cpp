// Attacks through /proc while `smem run` runs: another user, and another process of smem's own
// user, read /proc/PID/{environ,cmdline,mem,maps} of smem and of its command; root reads their
// environ and cmdline. smem claims (SPEC 1.1): no secret in any argv or, unless --env asked, any
// environment, and smem is not dumpable (its memory and environment are closed to everyone but
// root).
//
// Each test also reads the same files of the dumpable command, which is the control: the reader
// does see what the kernel lets it see there, so "refused" on smem means smem's protection.
#include "attack/attack_util.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace smem::attack_test;
using smem::cli_test::contains;
using smem::cli_test::read_file;

std::string describe_error(int error)
{
  return error == 0 ? "readable" : std::strerror(error);
}

// Whether Yama (or similar) stops a process from reading a same-user process that is not its
// descendant: then the same-user controls cannot succeed and are only reported.
bool same_user_controls_possible()
{
  const std::string scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
  return scope.empty() || scope[0] == '0';
}

// Two secrets: one smem took from its own environment (so it was in /proc/<smem>/environ when
// smem started), one from stdin.
struct Secrets {
  std::string from_env = random_secret();
  std::string from_stdin = random_secret();

  [[nodiscard]] bool in(const std::string& text) const
  {
    return contains(text, from_env) || contains(text, from_stdin);
  }
};

RunSetup setup_for(const Secrets& s, int uid, bool with_env)
{
  RunSetup setup;
  setup.smem_args = {"-s",           "a=env:SMEM_ATTACK_TOKEN", "-s", "b=stdin", "--fd", "3=a", "--fd", "4=b",
                     "--mask=always"};
  if (with_env) {
    setup.smem_args.insert(setup.smem_args.end(), {"--env", "SMEM_ATTACK_GIVEN=b", "--quiet"});
  }
  setup.env = {"SMEM_ATTACK_TOKEN=" + s.from_env};
  setup.stdin_data = s.from_stdin;
  setup.uid = uid;
  return setup;
}

} // namespace

TEST_SUITE("attack/proc")
{
  TEST_CASE("another user reads neither smem's environ nor memory and finds the secret in no cmdline or maps")
  {
    if (!is_root()) {
      MESSAGE("needs root to run smem and the attacker as two different users; skipped");
      return;
    }
    bool with_env = false;
    SUBCASE("pipe deliveries")
    {
      with_env = false;
    }
    SUBCASE("with --env too")
    {
      with_env = true;
    }
    TempDir dir;
    const Secrets secrets;
    RunningSmem smem(dir, setup_for(secrets, -1, with_env)); // smem runs as root, the attacker as nobody
    REQUIRE(smem.ready());

    for (const auto& [who, pid] : {std::pair{std::string("smem"), smem.smem_pid()},
                                   std::pair{std::string("command"), smem.command_pid()}}) {
      INFO(who << " (pid " << pid << ")");
      const ProcRead environ_read = read_as(k_nobody, proc_path(pid, "environ"));
      INFO("environ: " << describe_error(environ_read.error));
      CHECK(environ_read.error == EACCES);
      CHECK_FALSE(secrets.in(environ_read.content));

      const int mem_error = open_error_as(k_nobody, proc_path(pid, "mem"));
      INFO("mem: " << describe_error(mem_error));
      CHECK(mem_error == EACCES);

      const ProcRead cmdline = read_as(k_nobody, proc_path(pid, "cmdline"));
      CHECK(cmdline.error == 0); // world-readable by design: so it must never hold a secret
      CHECK(contains(cmdline.content, "sh"));
      CHECK_FALSE(secrets.in(cmdline.content));

      // The kernel decides whether maps is readable; whatever it shows holds no secret.
      const ProcRead maps = read_as(k_nobody, proc_path(pid, "maps"));
      INFO("maps: " << describe_error(maps.error));
      CHECK_FALSE(secrets.in(maps.content));
    }
    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }

  TEST_CASE("a process of smem's own user cannot read smem's environ or memory because smem is not dumpable")
  {
    const int uid = unprivileged_uid();
    bool with_env = false;
    SUBCASE("pipe deliveries")
    {
      with_env = false;
    }
    SUBCASE("with --env the command's environ holds it as documented")
    {
      with_env = true;
    }
    TempDir dir;
    const Secrets secrets;
    RunningSmem smem(dir, setup_for(secrets, uid, with_env)); // smem and the attacker: the same user
    REQUIRE(smem.ready());
    const pid_t smem_pid = smem.smem_pid();
    const pid_t command = smem.command_pid();

    const ProcRead smem_environ = read_as(uid, proc_path(smem_pid, "environ"));
    INFO("smem's environ: " << describe_error(smem_environ.error));
    CHECK(smem_environ.error == EACCES);
    CHECK_FALSE(secrets.in(smem_environ.content));
    const int smem_mem = open_error_as(uid, proc_path(smem_pid, "mem"));
    INFO("smem's mem: " << describe_error(smem_mem));
    CHECK(smem_mem == EACCES);
    const ProcRead smem_maps = read_as(uid, proc_path(smem_pid, "maps"));
    INFO("smem's maps: " << describe_error(smem_maps.error));
    CHECK_FALSE(secrets.in(smem_maps.content));
    for (const pid_t pid : {smem_pid, command}) {
      const ProcRead cmdline = read_as(uid, proc_path(pid, "cmdline"));
      CHECK(cmdline.error == 0);
      CHECK_FALSE(secrets.in(cmdline.content));
    }

    // The command is an ordinary (dumpable) process of the same user: readable, which is the
    // control for the refusals above, and its environment holds a secret only when --env asked.
    const ProcRead command_environ = read_as(uid, proc_path(command, "environ"));
    const int command_mem = open_error_as(uid, proc_path(command, "mem"));
    if (same_user_controls_possible()) {
      INFO("command's environ: " << describe_error(command_environ.error)
                                 << ", mem: " << describe_error(command_mem));
      CHECK(command_environ.error == 0);
      CHECK(command_mem == 0);
      CHECK(contains(command_environ.content, "PATH="));
      CHECK_FALSE(contains(command_environ.content, secrets.from_env));
      CHECK(contains(command_environ.content, "SMEM_ATTACK_GIVEN=" + secrets.from_stdin) == with_env);
    } else {
      MESSAGE("Yama ptrace_scope forbids reading a non-descendant: the same-user controls are skipped");
    }
    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }

  TEST_CASE("even root finds no secret in the environ or cmdline of smem or its command unless --env asked")
  {
    if (!is_root()) {
      MESSAGE("needs root to read a non-dumpable smem's environ; skipped");
      return;
    }
    std::string path_flag = "--mask=always";
    bool with_env = false;
    SUBCASE("supervised path")
    {
      path_flag = "--mask=always";
    }
    SUBCASE("supervised path with --env")
    {
      path_flag = "--mask=always";
      with_env = true;
    }
    SUBCASE("fast path: smem becomes the command")
    {
      path_flag = "--mask=never";
    }
    INFO(path_flag << (with_env ? " --env" : ""));
    TempDir dir;
    const Secrets secrets;
    RunSetup setup = setup_for(secrets, -1, with_env);
    setup.smem_args.at(8) = path_flag;
    RunningSmem smem(dir, setup);
    REQUIRE(smem.ready());

    // smem took `a` from its own environment: the block the kernel shows as environ was wiped.
    const std::string smem_environ = read_file(proc_path(smem.smem_pid(), "environ"));
    CHECK(contains(smem_environ, "PATH="));
    CHECK_FALSE(contains(smem_environ, secrets.from_env));
    if (smem.smem_pid() != smem.command_pid()) {
      CHECK_FALSE(secrets.in(smem_environ));
    }
    const std::string command_environ = read_file(proc_path(smem.command_pid(), "environ"));
    CHECK(contains(command_environ, "PATH="));
    CHECK_FALSE(contains(command_environ, secrets.from_env));
    CHECK(contains(command_environ, secrets.from_stdin) == with_env);
    for (const pid_t pid : {smem.smem_pid(), smem.command_pid()}) {
      CHECK_FALSE(secrets.in(read_file(proc_path(pid, "cmdline"))));
    }
    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }
}
