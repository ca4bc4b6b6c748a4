// cli_fuzz's stand-in for src/cli/bench_command.cpp, which clang 14 cannot compile against
// libstdc++ 12 (its static_assert builds a BenchArgs, whose std::string members are not constexpr
// there). `smem bench` is a bare subcommand in the fuzzer; `smem run` is what it is for.
#include "cli/bench_command.hpp"

#include <cstdlib>

namespace smem::cli {

CLI::App* add_bench_command(CLI::App& app, BenchArgs& /*args*/)
{
  return app.add_subcommand("bench", "Run the benchmark scenarios (a stand-in in the fuzzer)");
}

int run_bench(const BenchArgs& /*args*/)
{
  std::abort(); // the fuzzer never runs a command
}

} // namespace smem::cli
