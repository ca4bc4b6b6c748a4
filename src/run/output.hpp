// Where the masker plugs in: the supervisor passes each of the child's output streams through a
// StreamFilter before writing it to smem's own stdout or stderr.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace smem::run {

class StreamFilter {
public:
  virtual ~StreamFilter() = default;
  // Bytes the child wrote; appends what may be shown now to `out` (may hold some back).
  virtual void feed(std::span<const std::byte> in, std::vector<std::byte>& out) = 0;
  // End of stream or a quiet period: appends everything held back.
  virtual void flush(std::vector<std::byte>& out) = 0;
  // How many bytes feed() is holding back (the supervisor flushes them after a quiet period).
  [[nodiscard]] virtual std::size_t held() const noexcept = 0;
};

} // namespace smem::run
