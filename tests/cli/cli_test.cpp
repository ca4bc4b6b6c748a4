// Black-box tests of the smem command itself: doctor, help, version and usage errors.
#include "cli/process.hpp"

#include <doctest/doctest.h>

#include <string>
#include <sys/resource.h>

namespace smem::cli_test {
namespace {

Result smem(const TempDir& dir, std::vector<std::string> args, std::function<std::string()> before_exec = {})
{
  Command c;
  c.argv = {smem_binary()};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  c.env = base_env(dir);
  c.before_exec = std::move(before_exec);
  return run(std::move(c));
}

} // namespace

TEST_SUITE("cli/cli")
{
  TEST_CASE("smem doctor --json has every SPEC field and follows RLIMIT_MEMLOCK")
  {
    const TempDir dir;
    // 64 KiB soft and hard, as in a tight container: 16 pages of 85 pooled 48-byte slots.
    const Result r = smem(dir, {"doctor", "--json"}, [] {
      const rlimit tight{64 * 1024, 64 * 1024};
      return ::setrlimit(RLIMIT_MEMLOCK, &tight) == 0 ? std::string() : std::string("setrlimit failed");
    });
    REQUIRE(r.exited(0));
    for (const char* key : {"\"backend\": ", "\"guard\": ", "\"layout\": ", "\"memfd_secret\": ",
                            "\"pkeys\": ", "\"core_dumps\": ", "\"ptrace_scope\": "}) {
      CHECK_MESSAGE(contains(r.out, key), key);
    }
    CHECK(contains(r.out, "\"memlock_soft\": 65536"));
    CHECK(contains(r.out, "\"memlock_hard\": 65536"));
    CHECK(contains(r.out, "\"secrets_32b_capacity\": 1360"));
    CHECK(contains(r.out, "\"layout\": \"pooled\""));
    CHECK(r.out.front() == '{');
    CHECK(r.out.substr(r.out.size() - 2) == "}\n");
  }

  TEST_CASE("smem doctor says what a tight memlock limit costs and how to raise it")
  {
    const TempDir dir;
    const Result r = smem(dir, {"doctor"}, [] {
      const rlimit tight{64 * 1024, 64 * 1024};
      return ::setrlimit(RLIMIT_MEMLOCK, &tight) == 0 ? std::string() : std::string("setrlimit failed");
    });
    REQUIRE(r.exited(0));
    CHECK(contains(r.out, "64 KiB / 64 KiB"));
    CHECK(contains(r.out, "ulimit -l"));
    CHECK(contains(r.out, "smem run uses backend "));
  }

  TEST_CASE("smem help COMMAND prints what smem COMMAND --help prints")
  {
    const TempDir dir;
    for (const char* command : {"run", "doctor", "bench"}) {
      const Result help = smem(dir, {"help", command});
      const Result flag = smem(dir, {command, "--help"});
      CHECK(help.exited(0));
      CHECK(flag.exited(0));
      CHECK_MESSAGE(help.out == flag.out, command);
      CHECK(!help.out.empty());
    }
    const Result unknown = smem(dir, {"help", "nope"});
    CHECK(unknown.exited(125));
    CHECK(contains(unknown.err, "smem: error: no command 'nope'"));
  }

  TEST_CASE("smem --version names smem, libsodium and the protection in use")
  {
    const TempDir dir;
    const Result r = smem(dir, {"--version"});
    CHECK(r.exited(0));
    CHECK(contains(r.out, "smem "));
    CHECK(contains(r.out, "libsodium "));
    CHECK(contains(r.out, "backend "));
    CHECK(contains(r.out, "guard "));
  }

  TEST_CASE("a usage error from the parser keeps the smem: error: form and exits 125")
  {
    const TempDir dir;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--bogus"},
          std::vector<std::string>{"run", "--mask=sometimes", "--", "true"},
          std::vector<std::string>{"doctor", "extra"}}) {
      const Result r = smem(dir, args);
      CHECK(r.exited(125));
      CHECK(r.err.rfind("smem: error: ", 0) == 0);
      CHECK(lines(r.err).size() == 1);
    }
  }
}

} // namespace smem::cli_test
