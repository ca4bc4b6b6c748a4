// The supervised path: one poll loop that feeds the deliveries, relays the child's output through
// filters, forwards signals and collects the child's exit, so a child that never reads, reads
// part, or closes early never makes smem hang.
#pragma once

#include "run/output.hpp"

#include <smem/smem.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <sys/types.h>
#include <vector>

namespace smem::run {

// One delivery pipe smem still has to fill: `fd` is its non-blocking write end (owned).
struct PipeWriter {
  int fd = -1;
  const Secret* secret = nullptr;
  std::size_t offset = 0;
};

// One child output stream: `from` is the read end of the child's pipe (owned), `to` smem's fd.
// Bytes the filter holds back are released after k_quiet without new output, so a prompt
// without a newline still shows.
struct Relay {
  int from = -1;
  int to = -1;
  StreamFilter* filter = nullptr;
};

inline constexpr std::chrono::milliseconds k_quiet{50};

// The command runs on a pseudo-terminal smem relays (--mask=always on a terminal).
struct PtyRelay {
  int input = -1;                         // smem's stdin, in raw mode: its bytes go to `master` unchanged
  int master = -1;                        // the pty master for input (owned; output is read through a Relay)
  int size_source = -1;                   // smem's terminal, whose window size the pty follows on SIGWINCH
  std::function<void()> on_child_stopped; // the command stopped (Ctrl-Z): stop smem likewise
};

struct SuperviseSpec {
  pid_t child = -1;
  int signal_fd = -1; // signalfd for the forwarded signals and SIGCHLD (blocked by the caller)
  std::vector<PipeWriter> writers;
  std::vector<Relay> relays;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<PtyRelay> pty;
};

// The signals smem forwards to the child (SPEC 1.1), plus SIGCHLD for the loop.
sigset_t supervised_signals();

// Runs the loop until the child has exited and its output is drained; returns its wait status.
int supervise(SuperviseSpec spec);

} // namespace smem::run
