// The smem command line: parses arguments, runs a subcommand, maps errors to exit statuses.
#pragma once

namespace smem::cli {

// Runs the smem command; returns the process exit status.
int main(int argc, char** argv);

} // namespace smem::cli
