// `smem bench`: runs the scenarios of bench/ in-process and prints a table, JSON, a saved report
// or a comparison with a saved report (SPEC 1.2).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace smem::cli {

// The raw texts CLI11 collects for `smem bench`.
struct BenchArgs {
  std::vector<std::string> scenarios; // --scenario NAME (repeatable); empty: all
  bool quick = false;
  bool json = false;
  bool matrix = false;
  std::string save;    // --save FILE
  std::string compare; // --compare FILE
  std::string backend = "automatic";
  std::string guard = "automatic";
  std::string layout = "automatic";
  double noise_percent = 10; // --noise: the base of --compare's noise threshold (bench::k_noise_percent)
};

// Adds the `bench` subcommand to `app`, storing into `args`.
CLI::App* add_bench_command(CLI::App& app, BenchArgs& args);

// Runs the benchmark. Returns 0 when every selected scenario ran or was unavailable here (a
// regression found by --compare is a verdict, not a failure) and 125 when a scenario failed.
// Throws smem::Error(Errc::invalid_argument) for an unknown scenario, an unreadable or malformed
// --compare file, an unwritable --save file or a strategy this machine does not offer.
int run_bench(const BenchArgs& args);

} // namespace smem::cli
