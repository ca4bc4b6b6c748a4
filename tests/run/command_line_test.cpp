// Unit tests of src/cli/command_line.hpp: smem's command line parsed without running anything
// (the seam fuzz/cli_fuzz.cpp drives). Kept with the run tests: it is `smem run`'s front door.
#include "cli/command_line.hpp"
#include "run/error.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using smem::cli::CommandLine;
using Words = std::vector<std::string>;

bool one_clean_line(const std::string& s)
{
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') {
      return false;
    }
  }
  return true;
}

} // namespace

TEST_SUITE("cli/command_line")
{
  TEST_CASE("the command after -- is handed on untouched, smem-like options included")
  {
    CommandLine line;
    line.parse(
        {"run", "-s", "a=stdin", "--fd", "3=a", "--", "tool", "--fd", "4=a", "-s", "--", "run", "{a}"});
    REQUIRE(line.run->parsed());
    CHECK(line.command == Words{"tool", "--fd", "4=a", "-s", "--", "run", "{a}"});
    const auto options = smem::cli::to_run_options(line.run_args, line.command);
    CHECK(options.fds.size() == 1);
    CHECK(options.command == line.command);
  }

  TEST_CASE("help of an unknown command is a usage error")
  {
    CommandLine line;
    try {
      line.parse({"help", "nosuch"});
      FAIL("no error");
    } catch (const smem::run::RunError& e) {
      CHECK(e.status() == 125);
      CHECK(std::string(e.what()).find("'nosuch'") != std::string::npos);
    }
  }

  // Caught by fuzz/cli_fuzz (one-line messages): `smem run -s a=stdin $'x\n\e[2J'` (no --) printed
  // the stray word raw in "put -- between smem's options and the command". It is not repeated at all
  // now: `smem run -s pw hunter2` (a value where a source belongs) must not print hunter2.
  TEST_CASE("an error is printed on one line whatever the arguments hold, without the stray words")
  {
    CommandLine line;
    line.parse({"run", "-s", "a=stdin", "x\n\x1b[2J"});
    REQUIRE(line.run->parsed());
    std::string message;
    try {
      (void)smem::cli::to_run_options(line.run_args, line.command);
    } catch (const smem::run::RunError& e) {
      message = e.what();
    }
    REQUIRE(message.find("put --") != std::string::npos);
    const std::string printed = smem::cli::error_line(message);
    CHECK(printed.rfind("smem: error: ", 0) == 0);
    CHECK(one_clean_line(printed));
    CHECK(printed.find("x\\n") == std::string::npos);
    CHECK(printed.find("x\n") == std::string::npos);
  }
}
