// smem's command line, parsed but not acted upon: the seam that lets tests and the fuzzer
// (fuzz/cli_fuzz.cpp) drive the real parser without running a command. Implemented in cli.cpp.
#pragma once

#include "cli/bench_command.hpp"
#include "cli/doctor.hpp"
#include "cli/run_command.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace smem::cli {

// The CLI11 application with every subcommand wired to the argument structs below.
struct CommandLine {
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Parses argv without the program name. The words after `run ... --` go to `command` untouched;
  // `help COMMAND` is parsed as `COMMAND --help`. Throws CLI::ParseError (CallForHelp included)
  // for CLI11's errors, run::RunError for `help` of an unknown command.
  void parse(std::vector<std::string> words);

  CLI::App app;
  bool version = false;
  RunArgs run_args;
  DoctorArgs doctor_args;
  BenchArgs bench_args;
  CLI::App* run = nullptr;
  CLI::App* doctor = nullptr;
  CLI::App* bench = nullptr;
  std::vector<std::string> command; // the command of `smem run`, after `--`
};

// The line smem prints for a failure: `smem: error: MESSAGE`, control characters escaped.
std::string error_line(std::string_view message);

} // namespace smem::cli
