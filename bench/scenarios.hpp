// Benchmark scenarios on libsmem and the raw system-call floors they are judged against.
//
// Every scenario returns nanoseconds per operation, one sample per timed batch: a batch of N
// operations is timed with std::chrono::steady_clock and divided by N, so the clock's own cost
// (~20 ns) and its granularity stay far below the operation's. N is calibrated once per scenario
// so that one batch lasts about Budget::batch_time, then Budget::warmup_batches untimed batches
// run before the samples are taken. Scenarios measure and never judge: no time limit fails.
//
// smem_core_bench prints them as a table; `smem bench` (a later issue) links this library and
// looks scenarios up by name.
#pragma once

#include <smem/options.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

namespace smem::bench {

// How much measuring each scenario does.
struct Budget {
  std::chrono::nanoseconds batch_time = std::chrono::milliseconds(2); // one sample's target duration
  std::size_t samples = 1000;                                         // timed batches per scenario
  std::size_t warmup_batches = 10;                                    // untimed batches before them
};

// A few seconds for the whole of smem_core_bench: for CI and smoke tests.
Budget quick_budget() noexcept;
// About a minute for the whole of smem_core_bench: for the figures in notes and the README.
Budget full_budget() noexcept;

// One scenario's measurement.
struct Samples {
  std::vector<double> ns_per_op;  // one value per timed batch
  std::size_t batch = 0;          // operations per batch (per thread for the threaded scenario)
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

// A scenario by name, as `smem bench --scenario NAME` will list them.
struct Scenario {
  std::string_view name;         // stable, snake_case
  std::string_view description;  // one line for tables and --help
  bool uses_options;             // false for the raw references, which ignore Options
  std::function<Samples(const Options&, const Budget&)> run;
};

// Every scenario of this library, references first.
const std::vector<Scenario>& scenarios();

// The scenario called `name`, or nullptr.
const Scenario* find_scenario(std::string_view name);

} // namespace smem::bench
