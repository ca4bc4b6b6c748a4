// The receiving end of the streaming masker (masker.hpp), in its own header so the run pipeline's
// relays can implement it without the masker's tables.
#pragma once

#include <cstddef>
#include <span>

namespace smem::mask {

// Where a Masker's output goes, in order, without copying the bytes that pass unchanged: the
// caller can write them straight from its own buffer. Masker::feed() consumes its input from the
// start: each pass(n) or drop(n) takes the next n bytes of it, and together they take all of it.
class Sink {
public:
  // The next n bytes of the input are output as they are.
  virtual void pass(std::size_t n) = 0;
  // The next n bytes of the input are not output here: they are masked (a put() of `***` stands
  // for them) or held back (a later put() releases them).
  virtual void drop(std::size_t n) = 0;
  // Bytes to output that are not the input's at this point: `***`, or bytes held back earlier.
  // `bytes` is valid during the call only; it may be the start of a secret, so keep no copy of
  // it in ordinary memory.
  virtual void put(std::span<const std::byte> bytes) = 0;

protected:
  Sink() = default;
  Sink(const Sink&) = default;
  Sink& operator=(const Sink&) = default;
  ~Sink() = default;
};

} // namespace smem::mask
