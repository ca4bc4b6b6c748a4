// Launch: turn a plan into a running command, either by replacing smem (fast path) or as a child
// smem supervises. The child side runs between clone(CLONE_VM | CLONE_VFORK) and execve, so it
// allocates nothing and calls only async-signal-safe functions, like glibc's posix_spawn.
#pragma once

#include <csignal>
#include <sys/resource.h>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace smem::run {

// The process state smem found at start, restored for the command.
struct InheritedState {
  sigset_t mask{}; // signal mask smem was started with
  bool sigpipe_ignored = false;
  rlimit core{}; // RLIMIT_CORE before harden_process()
};

// Everything the command gets. Pointers stay valid (and readable) until launch returns.
struct LaunchSpec {
  std::vector<std::pair<int, int>> fds; // (descriptor in smem, number in the command)
  char* const* argv = nullptr;          // argv[0] is looked up in PATH (execvpe)
  char* const* envp = nullptr;
  const InheritedState* inherited = nullptr;
  int highest_fd = 2; // above every descriptor in `fds`, both columns
  // When >= 0: the command starts a new session whose controlling terminal is its descriptor
  // number `controlling_tty` (a pseudo-terminal slave in `fds`), as a login shell's job would.
  int controlling_tty = -1;
};

// Replaces smem with the command. Returns only if execve failed, with its errno.
int exec_in_place(const LaunchSpec& spec);

// Starts the command as a child that is killed if smem dies (PR_SET_PDEATHSIG). Throws RunError
// with 126 (not executable) or 127 (not found) when execve fails, 125 when clone fails.
pid_t spawn_child(const LaunchSpec& spec);

// The RunError for an execve failure of `command` with `error`.
[[noreturn]] void throw_exec_error(const char* command, int error);

} // namespace smem::run
