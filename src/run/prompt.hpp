// The prompt source: one line from the controlling terminal with echo off.
#pragma once

#include <smem/smem.hpp>

#include <string>

namespace smem::run {

// Asks on /dev/tty (even when stdin is piped) with `text`, echo off; the newline is not part of
// the secret. The terminal state is restored on every exit path: on Ctrl-C it is restored and
// smem exits with status 130; on Ctrl-Z it is restored, smem stops, and the prompt is repeated
// after `fg`. Throws RunError when there is no terminal or the input is empty (Ctrl-D).
Secret prompt_secret(const SecretFactory& factory, const std::string& name, const std::string& text,
                     std::size_t max_size);

} // namespace smem::run
