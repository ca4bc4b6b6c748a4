#include "cli/cli.hpp"

#include <smem/smem.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <sodium.h>

#include <exception>

namespace smem::cli {
namespace {

// SPEC 1.1: 125 means smem itself failed.
constexpr int k_exit_failure = 125;

const char* name(Backend b)
{
  switch (b) {
  case Backend::automatic:
    return "automatic";
  case Backend::secretmem:
    return "secretmem";
  case Backend::mlock:
    return "mlock";
  }
  return "?";
}

const char* name(Guard g)
{
  switch (g) {
  case Guard::automatic:
    return "automatic";
  case Guard::pkey:
    return "pkey";
  case Guard::mprotect:
    return "mprotect";
  case Guard::none:
    return "none";
  }
  return "?";
}

void print_version()
{
  const SecretFactory factory;
  const Options o = factory.options();
  fmt::print("smem {}\nlibsodium {}\nbackend {}, guard {}\n", SMEM_VERSION, sodium_version_string(),
             name(o.backend), name(o.guard));
}

} // namespace

int main(int argc, char** argv)
{
  try {
    harden_process();
    CLI::App app("smem holds secrets in protected memory and hands them to a child process.", "smem");
    app.set_version_flag("--version", [] {
      print_version();
      return std::string();
    });
    app.require_subcommand(0, 1);
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      fmt::print(stderr, "smem: error: {}\n", e.what());
      return k_exit_failure;
    }
    if (app.get_subcommands().empty()) {
      fmt::print("{}", app.help());
    }
    return 0;
  } catch (const Error& e) {
    fmt::print(stderr, "smem: error: {}\n", e.what());
    return k_exit_failure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "smem: error: {}\n", e.what());
    return k_exit_failure;
  }
}

} // namespace smem::cli
