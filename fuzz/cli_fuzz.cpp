// libFuzzer target: the whole `smem ...` command line, through the same CommandLine that smem's
// main uses (src/cli/command_line.hpp), then to_run_options and run::validate: everything smem does
// with its arguments before it reads a secret. Nothing is executed.
//
// Input: argv words separated by NUL bytes (argv[0] excluded). Checked:
// - only CLI11's ParseError family or a usage error (RunError, status 125) ever comes out, nothing
//   else is thrown, and the line smem prints for it (error_line) is one line without a control
//   character;
// - the command is exactly the words after the first `--` that follows `run`, never parsed;
// - options that validate() accepts satisfy SPEC 1.1: identifier names defined once, every
//   delivery names a defined secret, every secret is delivered, --fd numbers >= 3 and distinct,
//   standard input read by at most one secret, a non-empty command, a timeout >= 1 ms.
// Build and run with fuzz/run.
#include "cli/command_line.hpp"
#include "fuzz/fuzz_util.hpp"
#include "run/error.hpp"
#include "run/run.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace smem;
using fuzz::expect;
using fuzz::fail;

std::string joined(const std::vector<std::string>& words)
{
  std::string s;
  for (const std::string& w : words) {
    s += w;
    s += ' ';
  }
  return s;
}

void check_printed(std::string_view message, const std::string& argv)
{
  for (const char c : cli::error_line(message)) {
    const auto u = static_cast<unsigned char>(c);
    expect(u >= 0x20 && u != 0x7f, "a control character in a printed error", argv);
  }
}

void check_usage_error(const run::RunError& e, const std::string& argv)
{
  expect(e.status() == 125, "a usage error whose status is not 125", argv);
  check_printed(e.what(), argv);
}

void check_valid(const run::RunOptions& o, const std::string& argv)
{
  std::set<std::string> names;
  int stdin_readers = 0;
  for (const run::SecretSpec& s : o.secrets) {
    expect(run::is_identifier(s.name) && names.insert(s.name).second, "a bad or duplicate secret name passed",
           argv);
    if (s.kind == run::SourceKind::stdin_ || (s.kind == run::SourceKind::fd && s.fd == 0)) {
      ++stdin_readers;
    }
  }
  expect(stdin_readers <= 1, "two secrets read standard input", argv);
  std::set<std::string> delivered;
  std::set<int> fds;
  for (const run::FdDelivery& d : o.fds) {
    expect(d.fd >= 3 && fds.insert(d.fd).second, "a --fd below 3 or given twice passed", argv);
    expect(names.count(d.name) == 1, "--fd of an undefined secret passed", argv);
    delivered.insert(d.name);
  }
  if (o.stdin_name) {
    expect(names.count(*o.stdin_name) == 1, "--stdin of an undefined secret passed", argv);
    delivered.insert(*o.stdin_name);
  }
  for (const run::EnvDelivery& e : o.envs) {
    expect(names.count(e.name) == 1, "--env of an undefined secret passed", argv);
    expect(!e.variable.empty() && e.variable.find('=') == std::string::npos, "a bad --env VAR passed", argv);
    delivered.insert(e.name);
  }
  const std::vector<std::string> all(names.begin(), names.end());
  for (const std::string& arg : o.command) {
    for (const run::ArgPart& p : run::parse_arg(arg, all)) {
      if (!p.name.empty()) {
        delivered.insert(p.name);
      }
    }
  }
  expect(delivered == names, "a defined secret is never delivered", argv);
  expect(!o.command.empty(), "an empty command passed", argv);
  expect(!o.timeout || o.timeout->count() >= 1, "a zero timeout passed", argv);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::vector<std::string> words;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty() && words.size() < 64) {
    const auto end = input.find('\0');
    words.emplace_back(input.substr(0, end));
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  }
  const std::string argv = joined(words);

  // The command smem must hand on untouched: everything after the first `--` after `run`.
  std::vector<std::string> expected_command;
  if (const auto r = std::find(words.begin(), words.end(), "run"); r != words.end()) {
    if (const auto d = std::find(r, words.end(), "--"); d != words.end()) {
      expected_command.assign(d + 1, words.end());
    }
  }

  cli::CommandLine line;
  try {
    line.parse(words);
  } catch (const CLI::CallForHelp&) {
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    return 0;
  } catch (const CLI::ParseError& e) {
    check_printed(e.what(), argv); // CLI11's own usage errors
    return 0;
  } catch (const run::RunError& e) {
    check_usage_error(e, argv);
    return 0;
  } catch (const std::exception& e) {
    fail(std::string("the command line parser threw ") + e.what(), argv);
  }
  expect(line.command == expected_command, "the command after -- is not handed on as given", argv);
  if (!line.run->parsed()) {
    return 0;
  }
  try {
    const run::RunOptions options = cli::to_run_options(line.run_args, line.command);
    expect(options.command == expected_command, "to_run_options changes the command", argv);
    run::validate(options);
    check_valid(options, argv);
  } catch (const run::RunError& e) {
    check_usage_error(e, argv);
  } catch (const std::exception& e) {
    fail(std::string("checking the options threw ") + e.what(), argv);
  }
  return 0;
}
