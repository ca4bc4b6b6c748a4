#include "cli/cli.hpp"

#include "bench/scenarios.hpp"
#include "cli/command_line.hpp"
#include "run/error.hpp"
#include "run/run.hpp"

#include <smem/smem.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <sodium.h>

#include <algorithm>
#include <csignal>
#include <exception>
#include <sys/resource.h>

namespace smem::cli {
namespace {

// SPEC 1.1: 125 means smem itself failed.
constexpr int k_exit_failure = 125;

void print_version()
{
  const SecretFactory factory;
  const Options o = factory.options();
  fmt::print("smem {}\nlibsodium {}\nbackend {}, guard {}\n", SMEM_VERSION, sodium_version_string(),
             bench::name(o.backend), bench::name(o.guard));
}

// What smem found at start, before hardening changed it, to give back to the command.
run::InheritedState capture_inherited_state()
{
  run::InheritedState state;
  ::sigprocmask(SIG_SETMASK, nullptr, &state.mask);
  struct sigaction pipe_action {};
  ::sigaction(SIGPIPE, nullptr, &pipe_action);
  state.sigpipe_ignored = pipe_action.sa_handler == SIG_IGN;
  ::getrlimit(RLIMIT_CORE, &state.core);
  return state;
}

int error(const std::string& message, int status = k_exit_failure)
{
  fmt::print(stderr, "{}\n", error_line(message));
  return status;
}

int dispatch(int argc, char** argv, const run::InheritedState& inherited, run::Outcome& outcome)
{
  CommandLine line;
  try {
    line.parse(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const CLI::CallForHelp& e) {
    return line.app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return line.app.exit(e);
  } catch (const CLI::ParseError& e) {
    return error(std::string(e.what()) + " (see smem --help)");
  }
  if (line.version) {
    print_version();
    return 0;
  }
  if (line.run->parsed()) {
    const run::RunOptions options = to_run_options(line.run_args, std::move(line.command));
    outcome = run::run(options, inherited);
    return outcome.status;
  }
  if (line.doctor->parsed()) {
    return run_doctor(line.doctor_args, inherited.core);
  }
  if (line.bench->parsed()) {
    return run_bench(line.bench_args);
  }
  fmt::print("{}", line.app.help());
  return 0;
}

} // namespace

std::string error_line(std::string_view message)
{
  // Messages quote paths, variable names and arguments as given: one stray control character
  // must not break the line or reach the terminal as an escape sequence.
  return "smem: error: " + run::printable(message);
}

CommandLine::CommandLine()
    : app("smem holds secrets in protected memory and hands them to a child process.", "smem")
{
  app.add_flag("--version", version, "Print smem's and libsodium's versions and the protection in use");
  run = add_run_command(app, run_args);
  doctor = add_doctor_command(app, doctor_args);
  bench = add_bench_command(app, bench_args);
  app.add_subcommand("help", "Show the help of a command: smem help run");
}

void CommandLine::parse(std::vector<std::string> words)
{
  // The command after `--` is the command's own business: split it off before CLI11 parses.
  if (const auto run_at = std::find(words.begin(), words.end(), "run"); run_at != words.end()) {
    if (const auto dashes = std::find(run_at, words.end(), "--"); dashes != words.end()) {
      command.assign(dashes + 1, words.end());
      words.erase(dashes, words.end());
    }
  }
  // `smem help COMMAND` prints exactly what `smem COMMAND --help` does. Handled before CLI11,
  // which would take COMMAND for the subcommand itself.
  if (words.size() >= 2 && words[0] == "help") {
    try {
      app.get_subcommand(words[1]);
    } catch (const CLI::OptionNotFound&) {
      throw run::RunError("no command '" + words[1] + "'; see smem --help for the commands");
    }
    std::vector<std::string> as_help{words[1], "--help"};
    words = as_help;
  }
  std::reverse(words.begin(), words.end()); // CLI11 takes a reversed vector
  app.parse(words);
}

int main(int argc, char** argv)
{
  run::Outcome outcome;
  int status = 0;
  try {
    const run::InheritedState inherited = capture_inherited_state();
    harden_process();
    std::signal(SIGPIPE, SIG_IGN); // a reader that quits is an EPIPE to handle, not our death
    status = dispatch(argc, argv, inherited, outcome);
  } catch (const run::RunError& e) {
    return error(e.what(), e.status());
  } catch (const Error& e) {
    return error(e.what());
  } catch (const std::exception& e) {
    return error(e.what());
  }
  // Every secret is wiped by now; end the way the command ended.
  if (outcome.signal != 0) {
    run::finish(outcome);
  }
  return status;
}

} // namespace smem::cli
