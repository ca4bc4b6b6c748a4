// The `smem run` subcommand: CLI11 wiring for run::RunOptions.
#pragma once

#include "run/run.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace smem::cli {

// The raw texts CLI11 collects; turned into run::RunOptions after parsing.
struct RunArgs {
  std::vector<std::string> secrets;
  std::vector<std::string> fds;
  std::string stdin_name;
  std::vector<std::string> envs;
  std::string mask = "auto";
  bool pristine = false;
  bool quiet = false;
  bool trim = false;
  std::string max_size;
  std::string timeout;
  std::vector<std::string> stray_command; // a command given without `--` (an error)
};

// Adds the `run` subcommand to `app`, storing into `args`.
CLI::App* add_run_command(CLI::App& app, RunArgs& args);

// Converts parsed arguments (plus `command`, the words after `--`) to options; throws run::RunError.
run::RunOptions to_run_options(const RunArgs& args, std::vector<std::string> command);

} // namespace smem::cli
