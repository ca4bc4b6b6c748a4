#include "run/launch.hpp"

#include "run/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace smem::run {
namespace {

// Marks every descriptor from `first` on close-on-exec; falls back to a loop on old kernels.
void cloexec_from(int first) noexcept
{
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
    return;
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const int end =
      limit.rlim_cur == RLIM_INFINITY ? 65536 : static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
  for (int fd = first; fd < end; ++fd) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

// Shared by both launch paths; async-signal-safe only. Returns 0 or an errno.
int prepare_process(const LaunchSpec& spec, bool reset_handlers) noexcept
{
  // Move every source above all targets first, so no dup2 overwrites a source still needed.
  int moved[256];
  const std::size_t count = std::min<std::size_t>(spec.fds.size(), 256);
  for (std::size_t i = 0; i < count; ++i) {
    moved[i] = ::fcntl(spec.fds[i].first, F_DUPFD_CLOEXEC, spec.highest_fd + 1);
    if (moved[i] < 0) {
      return errno == EINVAL ? EMFILE : errno; // EINVAL: no number that high is allowed (RLIMIT_NOFILE)
    }
  }
  // Only the planned descriptors reach the command: everything from 3 on closes at exec ...
  cloexec_from(3);
  // ... except the targets, which dup2 leaves without FD_CLOEXEC.
  for (std::size_t i = 0; i < count; ++i) {
    if (::dup2(moved[i], spec.fds[i].second) < 0) {
      return errno;
    }
  }
  if (spec.controlling_tty >= 0 && (::setsid() < 0 || ::ioctl(spec.controlling_tty, TIOCSCTTY, 0) != 0)) {
    return errno;
  }
  if (reset_handlers) {
    // Handlers of smem must never run in the child (they would run on smem's memory).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction current {};
      if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler != SIG_IGN &&
          current.sa_handler != SIG_DFL) {
        ::sigaction(sig, &dfl, nullptr);
      }
    }
  }
  if (!spec.inherited->sigpipe_ignored) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
  }
  ::setrlimit(RLIMIT_CORE, &spec.inherited->core);
  ::sigprocmask(SIG_SETMASK, &spec.inherited->mask, nullptr);
  return 0;
}

// The error's text, and which limit to raise when it is one smem runs into.
std::string explain(int error)
{
  std::string text = std::strerror(error);
  if (error == EMFILE) {
    text += " (RLIMIT_NOFILE, `ulimit -n`, is too low)";
  } else if (error == EAGAIN) {
    text += " (RLIMIT_NPROC, `ulimit -u`, or the system's process limit is reached)";
  }
  return text;
}

[[noreturn]] void throw_cannot_pass(const char* command, int error)
{
  throw RunError(std::string("cannot pass descriptors to ") + command + ": " + explain(error));
}

struct ChildArgs {
  const LaunchSpec* spec;
  pid_t parent;
  int error;        // written by the child (shared memory), read by the parent after clone returns
  bool before_exec; // the error came from arranging descriptors, not from execve
};

int child_main(void* raw)
{
  auto* args = static_cast<ChildArgs*>(raw);
  // A child never outlives a killed smem silently.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != args->parent) {
    ::_exit(125);
  }
  if (const int error = prepare_process(*args->spec, true); error != 0) {
    args->error = error;
    args->before_exec = true;
    ::_exit(125);
  }
  ::execvpe(args->spec->argv[0], args->spec->argv, args->spec->envp);
  args->error = errno;
  ::_exit(127);
}

} // namespace

void throw_exec_error(const char* command, int error)
{
  const std::string name = command;
  if (error == ENOENT || error == ENOTDIR) {
    throw RunError(Exit::not_found, name + ": command not found");
  }
  throw RunError(Exit::not_executable, name + ": cannot execute: " + std::strerror(error));
}

int exec_in_place(const LaunchSpec& spec)
{
  if (const int error = prepare_process(spec, false); error != 0) {
    // smem's own failure (a limit), not the command's: 125, never "cannot execute" (126).
    throw_cannot_pass(spec.argv[0], error);
  }
  ::execvpe(spec.argv[0], spec.argv, spec.envp);
  return errno;
}

pid_t spawn_child(const LaunchSpec& spec)
{
  constexpr std::size_t k_stack = 256 * 1024;
  void* stack =
      ::mmap(nullptr, k_stack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    const int error = errno;
    throw RunError(std::string("cannot start ") + spec.argv[0] + ": " + explain(error));
  }
  ChildArgs args{&spec, ::getpid(), 0, false};
  // No handler of smem may run in the child before it resets them: block everything across clone.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid =
      ::clone(child_main, static_cast<char*>(stack) + k_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  const int clone_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::munmap(stack, k_stack);
  if (pid < 0) {
    throw RunError(std::string("cannot start ") + spec.argv[0] + ": " + explain(clone_error));
  }
  if (args.error != 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (args.before_exec) {
      throw_cannot_pass(spec.argv[0], args.error);
    }
    throw_exec_error(spec.argv[0], args.error);
  }
  return pid;
}

} // namespace smem::run
