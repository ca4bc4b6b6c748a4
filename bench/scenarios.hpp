// Benchmark scenarios on libsmem, the masker and `smem run`, and the raw system-call floors they
// are judged against. `smem bench` (src/cli/bench_command.cpp) runs them by name; smem_core_bench
// calls the primitives directly.
//
// Timing method. A per-call scenario (unit ns) times a batch of N calls with
// std::chrono::steady_clock and divides by N: one sample. N is calibrated once per scenario so
// that one batch lasts about Budget::batch_time, which keeps the clock's own cost (~20 ns) and
// its granularity far below the operation's; Budget::warmup_batches untimed batches run before
// the samples. Per-round scenarios (concurrency, run_overhead, mask_throughput) time one whole
// round per sample after a few untimed rounds. Scenarios measure and never judge: no time limit
// fails.
#pragma once

#include "bench/report.hpp"

#include <smem/options.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smem::bench {

// How much measuring each scenario does.
struct Budget {
  std::chrono::nanoseconds batch_time = std::chrono::milliseconds(2); // one per-call sample's target duration
  std::size_t samples = 1000;                                         // timed batches per per-call scenario
  std::size_t warmup_batches = 10;                                    // untimed batches before them
  std::size_t round_samples = 200;   // rounds timed per thread count of `concurrency`
  std::size_t process_samples = 300; // processes timed per run_overhead row
  std::size_t mask_samples = 60;     // passes over the text timed by mask_throughput (and floor_copy)
  std::size_t mask_bytes = std::size_t{8} << 20; // the text mask_throughput masks in one pass
  // Called outside every timed region after each sample with (samples done, samples planned) of
  // the current row; for progress bars. May be empty.
  std::function<void(std::size_t, std::size_t)> on_sample;
};

// A few seconds for smem_core_bench, well under 30 s for `smem bench --quick`: CI and smoke tests.
Budget quick_budget() noexcept;
// About a minute for smem_core_bench, a few minutes for `smem bench`: figures for notes and the README.
Budget full_budget() noexcept;

// One per-call measurement.
struct Samples {
  std::vector<double> ns_per_op; // one value per timed batch
  std::size_t batch = 0;         // operations per batch (per thread for the threaded scenarios)
};

// One with_bytes call at a time on a 32-byte secret, the callback reading its first and last byte.
Samples with_bytes_single(const Options& options, const Budget& budget);

// `threads` threads, started together, each doing the same number of with_bytes calls on one
// shared 32-byte secret; a sample is the wall time from the first start to the last finish
// divided by the total number of calls (aggregate ns per access).
Samples with_bytes_threads(const Options& options, unsigned threads, const Budget& budget);

// SecretFactory::create of a `size`-byte buffer followed by Secret::close: a secret's lifetime.
Samples create_close(const Options& options, std::size_t size, const Budget& budget);

// The reference floor for Guard::mprotect: mprotect(PROT_READ) then mprotect(PROT_NONE) on one
// locked page, i.e. what opening and closing a guarded page costs with no bookkeeping at all.
Samples raw_mprotect_pair(const Budget& budget);

// The cheapest system call: syscall(SYS_getppid), the kernel entry and exit cost.
Samples raw_syscall(const Budget& budget);

// The floor of an isolated secret's lifetime: mmap of three pages, mlock of the middle one, two
// guard-page mprotect(PROT_NONE) calls, munmap; no bookkeeping, no wipe, no randomness.
Samples raw_page_lifetime(const Budget& budget);

// The pieces mask_throughput feeds the masker, as the supervisor reads a pipe.
inline constexpr std::size_t k_mask_chunk = 64 * 1024;

// The floor of mask_throughput, in MB/s (10^6 bytes per second) per pass: appending
// Budget::mask_bytes of text to a cleared output buffer in k_mask_chunk pieces, exactly what a
// masker that finds nothing to mask must at least do.
std::vector<double> raw_copy_throughput(const Budget& budget);

// The floor of the parallel scenarios: `threads` threads, each toggling its own locked page
// between guard pages (an isolated secret's mapping) with mprotect READ then NONE, all at once;
// aggregate ns per pair. The threads share one address space, so the pairs contend in the kernel
// (mmap_lock) exactly as libsmem's accesses to different secrets do.
Samples raw_mprotect_pairs_parallel(unsigned threads, const Budget& budget);

// What a `smem bench` scenario needs besides its budget.
struct Context {
  Options options; // the strategies of the scenarios that use libsmem
  Budget budget;
  std::string smem_binary; // the smem executable run_overhead starts ("" makes it unavailable)
};

// What one scenario produced: its rows (the first is named after the scenario) and notes for
// the reader of the table (never part of the JSON).
struct Outcome {
  std::vector<Row> rows;
  std::vector<std::string> notes;
};

// Thrown by a scenario that cannot run in this build or on this machine (the masker is not
// built in, a strategy is missing). Reported as a note, never as a failure.
class Unavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// What a scenario is.
enum class Kind {
  floor,    // a raw system-call reference; ignores Options; always measured by `smem bench`
  scenario, // a SPEC 1.2 scenario
};

// A scenario by name, as `smem bench --scenario NAME` takes them.
struct Scenario {
  std::string_view name;        // stable, snake_case; the first row's name
  std::string_view unit;        // of its rows
  std::string_view description; // one line for --help and the README
  Kind kind;
  bool in_matrix;     // run by `smem bench --matrix` for each strategy combination
  std::size_t series; // how many times run() counts Budget::on_sample from 1 (progress)
  std::function<Outcome(const Context&)> run;
};

// Every scenario: the floors first (floor_syscall, floor_mprotect_pair, floor_mprotect_parallel,
// floor_page_lifetime, floor_copy), then the SPEC 1.2 scenarios in its order, then smem's own
// (create_close). Their rows:
//   secret_with_bytes            ns  one with_bytes on an idle 32-byte secret, callback touches 2 bytes
//   secret_with_bytes_func       ns  with_bytes returning a value computed from all 32 bytes
//   final_sequential             ns  the final_parallel loop on one thread (same harness)
//   final_parallel               ns  T threads (all CPUs, at least 2) on one shared secret: aggregate
//                                    wall time per access (the reference report's method)
//   final_parallel/per_thread    ns  the same samples x T: wall time per access seen by one thread
//   final_parallel/own_secret    ns  T threads, each on its own secret: aggregate per access
//   alloc                        ns  create_random(32) alone (closing is untimed)
//   protect                      ns  what the guard adds to one access: per batch, with_bytes on a
//                                    guarded idle secret minus with_bytes on a Guard::none one
//                                    (same backend and layout), batches interleaved
//   cleanup                      ns  close() alone of an idle 32-byte secret (creation untimed)
//   concurrency/4, /8, /16       ms  T threads x 1000 with_bytes on one shared secret: wall time
//   mask_throughput              MB/s  100 secrets of 16..64 bytes, log-like text, 64 KiB feeds
//   run_overhead                 ms  `smem run -s k=random:32 --fd 3=k -- /bin/true`, output to
//                                    /dev/null (so masking is on: the supervised path)
//   run_overhead/no_mask         ms  the same with --mask never (the exec-in-place fast path)
//   run_overhead/bare            ms  /bin/true alone
//   create_close                 ns  create_random(32) then close(), timed together: a secret's life
// The single-thread access and protection rows (and final_parallel/per_thread) refer to
// floor_mprotect_pair; final_parallel, its /own_secret and concurrency (per access) to
// floor_mprotect_parallel (as many threads as final_parallel); alloc, cleanup and create_close
// to floor_page_lifetime; mask_throughput to floor_copy; run_overhead to its /bare row.
const std::vector<Scenario>& scenarios();

// The scenario called `name`, or nullptr.
const Scenario* find_scenario(std::string_view name);

// The name `smem bench --matrix` gives a row measured with `options`:
// "secret_with_bytes" -> "secret_with_bytes[secretmem,mprotect,isolated]".
std::string matrix_row_name(std::string_view row, const Options& options);

// "automatic", "secretmem", ... as in smem::Options.
const char* name(Backend backend) noexcept;
const char* name(Guard guard) noexcept;
const char* name(Layout layout) noexcept;

// The masker scenario (mask_throughput.cpp, or mask_throughput_unavailable.cpp when the build
// has no masker: it throws Unavailable).
Outcome mask_throughput(const Context& context);

// The run_overhead scenario (run_overhead.cpp).
Outcome run_overhead(const Context& context);

} // namespace smem::bench
