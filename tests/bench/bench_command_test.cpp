// Black-box tests of `smem bench` (SPEC 1.2): the real binary (SMEM_BINARY), its exit statuses,
// its JSON, and a --save / --compare round trip. Figures are never judged, only their presence:
// no test asserts a time. Runs are bounded by a generous hang detector, not a timing assertion.
#include "bench/json.hpp"
#include "bench/report.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using smem::bench::Json;

// SPEC 1.2's scenario names.
constexpr std::array<std::string_view, 10> k_spec_names{"secret_with_bytes",
                                                        "secret_with_bytes_func",
                                                        "final_sequential",
                                                        "final_parallel",
                                                        "alloc",
                                                        "protect",
                                                        "cleanup",
                                                        "concurrency",
                                                        "mask_throughput",
                                                        "run_overhead"};

// A whole `smem bench --quick` takes well under a minute; this only catches a hang.
constexpr auto k_hang_limit = std::chrono::minutes(5);

struct Result {
  int status = -1; // exit status, or -1 when killed
  std::string out;
  std::string err;
};

// Runs `smem ARGS...` with stdin on /dev/null and stdout and stderr collected from pipes (so
// smem sees no terminal: no progress bar, plain output).
Result run_smem(const std::vector<std::string>& args)
{
  std::vector<std::string> argv{SMEM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);
  std::array<int, 2> out{};
  std::array<int, 2> err{};
  REQUIRE(::pipe2(out.data(), O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err.data(), O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  REQUIRE(rc == 0);
  Result result;
  const auto deadline = std::chrono::steady_clock::now() + k_hang_limit;
  std::array<pollfd, 2> fds{pollfd{out[0], POLLIN, 0}, pollfd{err[0], POLLIN, 0}};
  int open_fds = 2;
  bool hung = false;
  while (open_fds > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      hung = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      std::array<char, 65536> buffer{};
      const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) {
      ::close(p.fd);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CHECK_MESSAGE(!hung, "smem bench did not finish within the hang limit");
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A private directory, removed at the end of the scope.
class TempDir {
public:
  TempDir()
  {
    std::string pattern = (fs::temp_directory_path() / "smem-bench-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    m_path = pattern;
  }
  ~TempDir()
  {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const char* name) const { return (m_path / name).string(); }

private:
  fs::path m_path;
};

void write_file(const std::string& path, const std::string& text)
{
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool contains(std::string_view haystack, std::string_view needle)
{
  return haystack.find(needle) != std::string_view::npos;
}

// The row objects of a `smem bench --json` object.
const Json::Array& rows_of(const Json& object)
{
  const Json* scenarios = object.find("scenarios");
  REQUIRE(scenarios != nullptr);
  REQUIRE(scenarios->is_array());
  return scenarios->as_array();
}

} // namespace

TEST_SUITE("bench/command")
{
  TEST_CASE("smem bench --quick --json runs every SPEC scenario and prints the SPEC object")
  {
    const Result r = run_smem({"bench", "--quick", "--json"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK_FALSE(contains(r.err, "\r")); // no progress bar when stderr is not a terminal
    const Json object = smem::bench::parse_json(r.out);
    REQUIRE(object.is_object());
    CHECK(object.as_object().size() == 3);
    REQUIRE(object.find("options") != nullptr);
    CHECK(object.find("options")->is_object());
    REQUIRE(object.find("machine") != nullptr);
    CHECK(object.find("machine")->is_object());
    for (const Json& row : rows_of(object)) {
      REQUIRE(row.is_object());
      const auto& members = row.as_object();
      REQUIRE(members.size() == 6);
      const std::array<std::string_view, 6> keys{"name", "unit", "median", "min", "p99", "samples"};
      for (std::size_t i = 0; i < keys.size(); ++i) {
        CHECK(members[i].first == keys[i]);
      }
      const std::string& unit = row.find("unit")->as_string();
      CHECK((unit == "ns" || unit == "ms" || unit == "MB/s"));
    }
    for (const std::string_view name : k_spec_names) {
      CAPTURE(name);
      std::size_t found = 0;
      for (const Json& row : rows_of(object)) {
        const std::string& row_name = row.find("name")->as_string();
        if (row_name == name || row_name.rfind(std::string(name) + "/", 0) == 0) {
          ++found;
          CHECK(row.find("samples")->as_number() > 0);
        }
      }
#ifndef SMEM_BENCH_HAS_MASKER
      if (name == "mask_throughput") {
        // A build without src/mask says so instead of inventing a figure.
        const Json* unavailable = object.find("machine")->find("unavailable");
        REQUIRE(unavailable != nullptr);
        CHECK(unavailable->find("mask_throughput") != nullptr);
        continue;
      }
#endif
      CHECK(found > 0);
    }
  }

  TEST_CASE("smem bench --save then --compare prints Before / After / Change / p-value / verdict and exits 0")
  {
    const TempDir dir;
    const std::string saved = dir.file("before.json");
    const Result first = run_smem({"bench", "--quick", "--scenario", "secret_with_bytes", "--save", saved});
    REQUIRE_MESSAGE(first.status == 0, first.err);
    CHECK(contains(first.out, "secret_with_bytes"));
    const smem::bench::Report report =
        smem::bench::report_from_json(smem::bench::parse_json(read_file(saved)));
    REQUIRE(report.find("secret_with_bytes") != nullptr);
    CHECK_FALSE(report.find("secret_with_bytes")->samples.empty());
    CHECK(report.find("floor_mprotect_pair") != nullptr);

    // Without --scenario, --compare runs what the file holds.
    const Result second = run_smem({"bench", "--quick", "--compare", saved});
    REQUIRE_MESSAGE(second.status == 0, second.err);
    for (const char* column : {"Before", "After", "Change", "p-value", "Verdict"}) {
      CHECK(contains(second.out, column));
    }
    CHECK_FALSE(contains(second.out, "\nalloc "));
    bool verdict = false;
    for (std::string_view line : {std::string_view(second.out)}) {
      std::size_t at = 0;
      while ((at = line.find("\nsecret_with_bytes ", at)) != std::string_view::npos) {
        const std::string_view rest = line.substr(at + 1, line.find('\n', at + 1) - at - 1);
        for (const char* v : {"improved", "regressed", "no significant change", "within noise"}) {
          verdict = verdict || (contains(rest, v) && contains(rest, "%"));
        }
        ++at;
      }
    }
    CHECK_MESSAGE(verdict, second.out);

    // The same with --json: one object with a "comparison" array.
    const Result json = run_smem({"bench", "--quick", "--json", "--compare", saved});
    REQUIRE_MESSAGE(json.status == 0, json.err);
    const Json object = smem::bench::parse_json(json.out);
    const Json* comparison = object.find("comparison");
    REQUIRE(comparison != nullptr);
    REQUIRE(comparison->is_array());
    bool compared = false;
    for (const Json& row : comparison->as_array()) {
      if (row.find("name")->as_string() == "secret_with_bytes") {
        compared = true;
        CHECK(row.find("p")->is_number());
        CHECK(row.find("verdict")->is_string());
      }
    }
    CHECK(compared);
  }

  TEST_CASE("smem bench: a malformed or missing --compare file is an error (125) that says what is wrong")
  {
    const TempDir dir;
    SUBCASE("not JSON")
    {
      const std::string path = dir.file("broken.json");
      write_file(path, "{\"scenarios\": [\n  {\"name\": \"x\",}\n]}");
      const Result r = run_smem({"bench", "--quick", "--scenario", "secret_with_bytes", "--compare", path});
      CHECK(r.status == 125);
      CHECK(contains(r.err, "smem: error: --compare " + path + ": not valid JSON: line 2"));
      CHECK(r.out.empty()); // refused before measuring anything
    }
    SUBCASE("JSON without raw samples (--json output instead of --save)")
    {
      const std::string path = dir.file("no-raw.json");
      write_file(
          path,
          R"({"scenarios": [{"name": "alloc", "unit": "ns", "median": 1, "min": 1, "p99": 1, "samples": 1}], "options": {}, "machine": {}})");
      const Result r = run_smem({"bench", "--quick", "--compare", path});
      CHECK(r.status == 125);
      CHECK(contains(r.err, "not a report written by `smem bench --save`: scenarios[0]: missing \"raw\""));
    }
    SUBCASE("missing")
    {
      const Result r = run_smem({"bench", "--quick", "--compare", dir.file("absent.json")});
      CHECK(r.status == 125);
      CHECK(contains(r.err, "cannot open it"));
    }
  }

  TEST_CASE("smem bench: usage errors exit 125 with a message naming the choices")
  {
    SUBCASE("an unknown scenario lists the scenarios")
    {
      const Result r = run_smem({"bench", "--scenario", "nope"});
      CHECK(r.status == 125);
      CHECK(contains(r.err, "smem: error: unknown scenario 'nope' (scenarios: secret_with_bytes, "));
      CHECK(contains(r.err, "create_close)"));
    }
    SUBCASE("a --save file that cannot be written is refused before measuring")
    {
      const TempDir dir;
      const Result r = run_smem({"bench", "--quick", "--save", dir.file("missing-folder/x.json")});
      CHECK(r.status == 125);
      CHECK(contains(r.err, "smem: error: --save "));
      CHECK(r.out.empty());
    }
    SUBCASE("an unknown strategy value")
    {
      const Result r = run_smem({"bench", "--guard", "bogus"});
      CHECK(r.status == 125);
      CHECK(contains(r.err, "smem: error: "));
      CHECK(contains(r.err, "bogus"));
    }
    SUBCASE("a strategy this machine or build does not offer")
    {
      for (const auto& [flag, value, options] :
           {std::tuple{"--guard", "pkey", smem::Options{.guard = smem::Guard::pkey}},
            std::tuple{"--layout", "pooled", smem::Options{.layout = smem::Layout::pooled}},
            std::tuple{"--backend", "secretmem", smem::Options{.backend = smem::Backend::secretmem}}}) {
        bool offered = true;
        try {
          (void)smem::SecretFactory(options);
        } catch (const smem::Error& e) {
          offered = e.code() != smem::Errc::unsupported;
        }
        if (offered) {
          continue; // nothing to refuse here
        }
        CAPTURE(value);
        const Result r = run_smem({"bench", "--quick", "--scenario", "secret_with_bytes", flag, value});
        CHECK(r.status == 125);
        CHECK(contains(r.err, "is not available here"));
      }
    }
  }

  TEST_CASE("smem bench --matrix prints one table over the strategy combinations and exits 0")
  {
    const Result r =
        run_smem({"bench", "--quick", "--matrix", "--scenario", "secret_with_bytes", "--backend", "mlock"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(contains(r.out, "backend"));
    CHECK(contains(r.out, "\nmlock      mprotect  isolated"));
    CHECK(contains(r.out, "\nmlock      none      isolated"));
    CHECK_FALSE(contains(r.out, "\nsecretmem"));
  }
}
