#include "cli/run_command.hpp"

#include "run/error.hpp"

namespace smem::cli {

CLI::App* add_run_command(CLI::App& app, RunArgs& args)
{
  CLI::App* run = app.add_subcommand("run", "Read secrets into protected memory and hand them to a command.");
  run->footer(R"(SOURCE is one of: prompt, prompt:TEXT, stdin, env:VAR, file:PATH, fd:N, cmd:COMMAND,
random:BYTES, random:BYTES:hex, random:BYTES:base64. `-s NAME` alone means NAME=prompt.

Examples:
  smem run -s pass=cmd:'pass show db/pgpass' --fd 3=pass:memfd -- env PGPASSFILE=/dev/fd/3 psql -h db app
  smem run -s t=env:TOKEN --fd 3=t -- tool --token-file /dev/fd/3
  smem run -s key=cmd:'pass show api' -- curl -H @{key} https://example.com/
  smem run -s pw=file:pw.txt --trim --stdin pw -- docker login -u me --password-stdin

Exit status: the command's; 128+N if it was killed by signal N; 125 if smem failed;
126 if the command is not executable; 127 if it was not found.)");
  run->add_option("-s,--secret", args.secrets, "Define secret NAME from SOURCE (repeatable)")
      ->type_name("NAME=SOURCE")
      ->allow_extra_args(false);
  run->add_option("--fd", args.fds,
                  "Give the command descriptor N (>= 3) reading secret NAME: a pipe, or a sealed memfd")
      ->type_name("N=NAME[:memfd]")
      ->allow_extra_args(false);
  run->add_option("--stdin", args.stdin_name, "Give the command secret NAME as its standard input")
      ->type_name("NAME");
  run->add_option("--env", args.envs,
                  "Set the command's environment variable VAR to secret NAME (visible in /proc)")
      ->type_name("VAR=NAME")
      ->allow_extra_args(false);
  run->add_option("--mask", args.mask,
                  "Mask secrets in the command's output: auto (when not a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->type_name("WHEN");
  run->add_flag("--pristine", args.pristine,
                "Give the command only PATH, HOME, USER, LANG, TERM and the deliveries");
  run->add_option("--timeout", args.timeout, "Send TERM after DURATION (30s, 500ms, 5m), KILL 5 s later")
      ->type_name("DURATION");
  run->add_flag("-q,--quiet", args.quiet, "Do not warn about --env");
  run->add_flag("--trim", args.trim, "Strip one trailing newline (\\n or \\r\\n) from every secret");
  run->add_option("--max-size", args.max_size,
                  "Largest secret accepted, in bytes (K, M, G suffixes); default 1M")
      ->type_name("BYTES");
  // Shown in help; the command itself is split off at `--` before CLI11 sees it (cli.cpp), so its
  // own options never reach our parser. Anything landing here means `--` was missing.
  run->add_option("COMMAND", args.stray_command, "The command to run, after --");
  return run;
}

run::RunOptions to_run_options(const RunArgs& args, std::vector<std::string> command)
{
  run::RunOptions o;
  for (const std::string& s : args.secrets) {
    o.secrets.push_back(run::parse_secret(s));
  }
  for (const std::string& s : args.fds) {
    o.fds.push_back(run::parse_fd_delivery(s));
  }
  if (!args.stdin_name.empty()) {
    o.stdin_name = args.stdin_name;
  }
  for (const std::string& s : args.envs) {
    o.envs.push_back(run::parse_env_delivery(s));
  }
  o.mask = args.mask == "always"  ? run::MaskMode::always
           : args.mask == "never" ? run::MaskMode::never
                                  : run::MaskMode::automatic;
  o.pristine = args.pristine;
  o.quiet = args.quiet;
  o.trim = args.trim;
  if (!args.max_size.empty()) {
    o.max_size = run::parse_size(args.max_size);
  }
  if (!args.timeout.empty()) {
    o.timeout = run::parse_duration(args.timeout);
  }
  if (!args.stray_command.empty()) {
    // The stray words are not repeated: a mistyped `-s pw hunter2` must not print hunter2 again.
    throw run::RunError("put -- between smem's options and the command: smem run [OPTIONS] -- COMMAND "
                        "[ARGS...]");
  }
  o.command = std::move(command);
  return o;
}

} // namespace smem::cli
