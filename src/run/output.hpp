// Where the masker plugs in: the supervisor passes each of the child's output streams through a
// StreamFilter before writing it to smem's own stdout or stderr.
#pragma once

#include "mask/sink.hpp"

#include <cstddef>
#include <span>

namespace smem::run {

// Receives a filter's output: the input bytes that pass unchanged by count (the supervisor writes
// them from its read buffer, or splices them from the child's pipe), the others as bytes.
using OutputSink = mask::Sink;

class StreamFilter {
public:
  virtual ~StreamFilter() = default;
  // Bytes the child wrote; tells `out` what may be shown now (may hold some back).
  virtual void feed(std::span<const std::byte> in, OutputSink& out) = 0;
  // End of stream or a quiet period: puts everything held back.
  virtual void flush(OutputSink& out) = 0;
  // How many bytes feed() is holding back (the supervisor flushes them after a quiet period).
  [[nodiscard]] virtual std::size_t held() const noexcept = 0;
};

} // namespace smem::run
