// run_overhead: what `smem run` adds to starting a trivial command. Each sample is one process
// started with posix_spawn and waited for, stdin/stdout/stderr on /dev/null, timed from just
// before posix_spawn to waitpid's return.
#include "bench/scenarios.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace smem::bench {
namespace {

// The trivial command; /bin/true is where Debian and most distributions have it.
constexpr const char* k_true = "/bin/true";

class DevNull {
public:
  DevNull() : m_fd(::open("/dev/null", O_RDWR | O_CLOEXEC))
  {
    if (m_fd < 0) {
      throw std::system_error(errno, std::generic_category(), "open /dev/null");
    }
  }
  ~DevNull() { ::close(m_fd); }
  DevNull(const DevNull&) = delete;
  DevNull& operator=(const DevNull&) = delete;
  [[nodiscard]] int fd() const noexcept { return m_fd; }

private:
  int m_fd;
};

// Starts argv with stdio on /dev/null, waits, returns milliseconds; throws unless it exits 0.
double spawn_and_wait(const std::vector<std::string>& argv, const DevNull& null)
{
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  if (::posix_spawn_file_actions_init(&actions) != 0) {
    throw std::system_error(ENOMEM, std::generic_category(), "posix_spawn_file_actions_init");
  }
  struct Destroy {
    posix_spawn_file_actions_t* a;
    ~Destroy() { ::posix_spawn_file_actions_destroy(a); }
  } destroy{&actions};
  for (int target = 0; target <= 2; ++target) {
    if (const int rc = ::posix_spawn_file_actions_adddup2(&actions, null.fd(), target); rc != 0) {
      throw std::system_error(rc, std::generic_category(), "posix_spawn_file_actions_adddup2");
    }
  }
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ); rc != 0) {
    throw std::system_error(rc, std::generic_category(), std::string("posix_spawn ") + argv[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "waitpid");
    }
  }
  const auto end = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                                        : "was killed by signal " + std::to_string(WTERMSIG(status));
    std::string command;
    for (const std::string& a : argv) {
      command += (command.empty() ? "" : " ") + a;
    }
    throw std::runtime_error("`" + command + "` " + how);
  }
  return std::chrono::duration<double, std::milli>(end - start).count();
}

} // namespace

Outcome run_overhead(const Context& context)
{
  if (context.smem_binary.empty()) {
    throw Unavailable("no smem binary to start (run it through `smem bench`)");
  }
  if (::access(k_true, X_OK) != 0) {
    throw Unavailable(std::string(k_true) + " is not executable here");
  }
  const DevNull null;
  const std::vector<std::string> smem_run{
      context.smem_binary, "run", "-s", "k=random:32", "--fd", "3=k", "--", k_true};
  std::vector<std::string> no_mask = smem_run;
  no_mask.insert(no_mask.begin() + 2, "--mask=never");
  const std::vector<std::string> bare{k_true};
  const Budget& b = context.budget;
  constexpr std::size_t k_warmup = 5;
  std::vector<double> masked;
  std::vector<double> fast;
  std::vector<double> plain;
  for (std::size_t i = 0; i < k_warmup; ++i) {
    (void)spawn_and_wait(smem_run, null);
    (void)spawn_and_wait(no_mask, null);
    (void)spawn_and_wait(bare, null);
  }
  // Interleaved, one process at a time, so a drift of the machine hits the three rows alike.
  for (std::size_t i = 0; i < b.process_samples; ++i) {
    masked.push_back(spawn_and_wait(smem_run, null));
    fast.push_back(spawn_and_wait(no_mask, null));
    plain.push_back(spawn_and_wait(bare, null));
    if (b.on_sample) {
      b.on_sample(i + 1, b.process_samples);
    }
  }
  Outcome out;
  out.rows.push_back(Row{"run_overhead", "ms", std::move(masked), "run_overhead/bare", 1});
  out.rows.push_back(Row{"run_overhead/no_mask", "ms", std::move(fast), "run_overhead/bare", 1});
  out.rows.push_back(Row{"run_overhead/bare", "ms", std::move(plain), "", 1});
  out.notes.emplace_back(
      "run_overhead: `smem run -s k=random:32 --fd 3=k -- /bin/true` with its output on /dev/null, "
      "so masking is on (the supervised path); /no_mask adds --mask=never (the exec-in-place "
      "path); /bare is /bin/true alone; samples interleaved. smem run uses its automatic "
      "backend and guard whatever --backend/--guard/--layout say.");
  return out;
}

} // namespace smem::bench
