// Load (issue 8 part 4, the `smem run` half): 1000 runs of the smem binary, 100 at a time, each
// with its own secret. The command (the `digest` child program) exits with a status computed from
// every byte it read, so a status that matches proves the run delivered exactly its own secret;
// smem's status must be that status, and no process of any run may be left.
#include "fault/fault_util.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <string>

namespace {

using namespace smem::fault_test;
using namespace smem::cli_test;

constexpr int k_runs = 1000;
constexpr int k_parallel = 100;

struct Run {
  int index;
  int expected;
  std::unique_ptr<Process> process;
};

// Run `index`: a secret of its own (17..400 bytes, with its index in it), delivered on a pipe or
// a memfd, on the fast path or one of the supervised ones.
Run start(const TempDir& dir, int index)
{
  std::string secret = "load-secret-" + std::to_string(index) + "-";
  secret += std::string(static_cast<std::size_t>(index * 37 % 384), static_cast<char>('a' + index % 26));
  Args flags;
  switch (index % 3) {
  case 0:
    flags = {"--mask=never"}; // fast path: smem becomes the command
    break;
  case 1:
    flags = {"--mask=always"};
    break;
  default:
    flags = {"--mask=never", "--timeout", "1h"};
    break;
  }
  const std::string delivery = index % 2 == 0 ? "3=x" : "3=x:memfd";
  Command c = smem_command(dir, Args{"-s", "x=env:SMEM_LOAD_SECRET", "--fd", delivery} + flags +
                                    child_program({"3"}));
  c.env.push_back("SMEM_LOAD_SECRET=" + secret);
  c.env.push_back(child_env("digest"));
  return Run{index, digest_status(secret), std::make_unique<Process>(std::move(c))};
}

} // namespace

TEST_SUITE("load/run")
{
  TEST_CASE("1000 smem runs 100 at a time: every status right, no process left")
  {
    TempDir dir;
    const auto began = std::chrono::steady_clock::now();
    std::deque<Run> running;
    std::set<int> statuses;
    int finished = 0;
    int wrong = 0;
    int left_behind = 0;
    int next = 0;
    while (finished < k_runs) {
      while (next < k_runs && running.size() < k_parallel) {
        running.push_back(start(dir, next++));
      }
      Run run = std::move(running.front());
      running.pop_front();
      const pid_t pid = run.process->pid();
      const Result r = run.process->wait();
      ++finished;
      statuses.insert(run.expected);
      if (!r.exited(run.expected) || !r.err.empty()) {
        if (++wrong <= 5) { // the first few, not a thousand lines
          FAIL_CHECK("run " << run.index << ": expected exit " << run.expected << ", smem " << r.describe()
                            << ", stderr: " << r.err);
        }
      }
      if (!group_empty(pid) && ++left_behind <= 5) {
        FAIL_CHECK("run " << run.index << ": a process of its group outlived smem");
      }
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    MESSAGE(k_runs << " runs, " << k_parallel << " at a time, in " << seconds << " s");
    CHECK(wrong == 0);
    CHECK(left_behind == 0);
    CHECK(statuses.size() > 50); // the statuses really differ from run to run
    CHECK(no_files_left(dir));
  }
}
