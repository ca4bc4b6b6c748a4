// Sources: read each secret straight into protected memory (SPEC 1.1 "SOURCE").
#pragma once

#include "run/spec.hpp"

#include <smem/smem.hpp>

namespace smem::run {

struct AcquireOptions {
  std::size_t max_size = std::size_t{1} << 20;
  bool trim = false;
};

// Reads the secret `spec` describes. Throws RunError (125) with a message that names the secret
// and the source, never the value. env:VAR is wiped in place and removed from the environment.
Secret acquire(const SecretFactory& factory, const SecretSpec& spec, const AcquireOptions& options);

// Strips one trailing "\n" or "\r\n" (--trim): returns a new secret, closes `secret`.
Secret trim_newline(const SecretFactory& factory, Secret& secret);

} // namespace smem::run
