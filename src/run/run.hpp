// `smem run`: sources -> secrets -> deliveries -> child -> supervisor (SPEC 1.1).
#pragma once

#include "run/launch.hpp"
#include "run/spec.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace smem::run {

enum class MaskMode { automatic, always, never };

struct RunOptions {
  std::vector<SecretSpec> secrets;
  std::vector<FdDelivery> fds;
  std::optional<std::string> stdin_name;
  std::vector<EnvDelivery> envs;
  std::vector<std::string> command;
  MaskMode mask = MaskMode::automatic;
  bool pristine = false;
  bool quiet = false;
  bool trim = false;
  std::size_t max_size = std::size_t{1} << 20;
  std::optional<std::chrono::milliseconds> timeout;
};

// How smem should end: with an exit status, or by raising the signal that ended the child.
struct Outcome {
  int status = 0;
  int signal = 0; // non-zero: the child was killed by this signal
};

// Checks everything that can be checked before a secret is read (a usage error must not cost the
// user a prompt); throws RunError.
void validate(const RunOptions& options);

// Runs the command. On the fast path it does not return (smem becomes the command). Every secret
// is wiped before it returns or throws. `inherited` is the state smem started with.
Outcome run(const RunOptions& options, const InheritedState& inherited);

// Ends smem the way `outcome` says, after all secrets are gone.
[[noreturn]] void finish(const Outcome& outcome);

} // namespace smem::run
