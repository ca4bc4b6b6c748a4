// libFuzzer target: the prompt's line reader (src/run/line_reader.hpp) against a naive reference
// that takes one byte at a time.
//
// Input: a buffer size (1-64), then events: a piece of bytes as one read(2) returns it (cut to the
// space the reader offers, as read(2) would be), end of input (a read of 0), or a restart (Ctrl-Z).
// After every event the reader's state must equal the reference's; once the line is complete it
// must be the buffer's first length() bytes, equal to the reference's line; and space() must stay
// inside the buffer and be empty once the reader is done. Build and run with fuzz/run.
#include "fuzz/fuzz_util.hpp"
#include "run/line_reader.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using smem::fuzz::expect;
using smem::run::LineReader;
using State = LineReader::State;

// The reference: the line is every byte before the first newline; end of input ends it too, or
// means "nothing entered" when nothing came; a line of `capacity` bytes or more is too long.
struct Naive {
  std::size_t capacity;
  std::string line;
  State state = State::reading;

  void byte(char c)
  {
    if (state != State::reading) {
      return;
    }
    if (c == '\n') {
      state = State::line;
      return;
    }
    line += c;
    if (line.size() >= capacity) {
      state = State::too_long;
    }
  }
  void end_of_input()
  {
    if (state == State::reading) {
      state = line.empty() ? State::end : State::line;
    }
  }
  void restart()
  {
    line.clear();
    state = State::reading;
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  FuzzedDataProvider in(data, size);
  const std::size_t capacity = in.ConsumeIntegralInRange<std::size_t>(1, 64);
  // Guard bytes around the buffer catch a write outside it even without ASan's help.
  std::vector<std::byte> memory(capacity + 2, std::byte{0xa5});
  const std::span<std::byte> buffer(memory.data() + 1, capacity);
  LineReader reader(buffer);
  Naive naive{capacity, {}, State::reading};
  while (in.remaining_bytes() > 0) {
    const auto op = in.ConsumeIntegralInRange<int>(0, 15);
    if (op == 0) {
      reader.commit(0);
      naive.end_of_input();
    } else if (op == 1) {
      if (reader.state() == State::reading) {
        reader.restart();
        naive.restart();
      }
    } else {
      const std::string piece = in.ConsumeRandomLengthString(capacity + 4);
      if (piece.empty()) {
        continue; // a read of 0 is op 0; read(2) never returns 0 otherwise
      }
      const std::span<std::byte> space = reader.space();
      if (reader.state() == State::reading) {
        expect(!space.empty() && space.data() >= buffer.data() &&
                   space.data() + space.size() == buffer.data() + buffer.size(),
               "space() is not the non-empty rest of the buffer while reading");
      }
      if (space.empty()) {
        reader.commit(piece.size()); // must be ignored
      } else {
        const std::size_t n = std::min(piece.size(), space.size());
        std::memcpy(space.data(), piece.data(), n);
        reader.commit(n);
        for (std::size_t i = 0; i < n; ++i) {
          naive.byte(piece[i]);
        }
      }
    }
    expect(reader.state() == naive.state, "the reader's state differs from the reference's", naive.line);
    if (reader.state() != State::reading) {
      expect(reader.space().empty(), "space() is not empty once the line is done");
    }
    if (reader.state() == State::line) {
      expect(reader.length() == naive.line.size() &&
                 std::memcmp(buffer.data(), naive.line.data(), naive.line.size()) == 0,
             "the line differs from the reference's", naive.line);
    } else {
      expect(reader.length() == 0, "a length without a complete line");
    }
  }
  expect(memory.front() == std::byte{0xa5} && memory.back() == std::byte{0xa5}, "a write outside the buffer");
  return 0;
}
