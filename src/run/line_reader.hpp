// The line handling of the prompt source (prompt.cpp), apart from the terminal, so it can be
// unit-tested and fuzzed (fuzz/line_fuzz.cpp) as a pure function of the bytes read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

namespace smem::run {

// Assembles one typed line from the pieces read(2) returns, in place in a caller's buffer (the
// protected memory the secret lives in: no byte is copied anywhere else).
//
// The terminal is in canonical mode, so erase and kill characters are already applied by the
// kernel and every byte that arrives is meant: all bytes but the newline are part of the line.
// A line ends at the first newline (not part of the line; anything after it in the same piece is
// ignored), or at end of input (a read of 0) when something was typed: text ended by Ctrl-D twice,
// as `cat` takes it. End of input before any byte is State::end. A line that does not fit in
// buffer.size() - 1 bytes is State::too_long.
class LineReader {
public:
  enum class State { reading, line, end, too_long };

  explicit LineReader(std::span<std::byte> buffer) noexcept : m_buffer(buffer) {}

  // Where the next read(2) must go: the unused rest of the buffer; empty once no longer reading.
  [[nodiscard]] std::span<std::byte> space() const noexcept
  {
    return m_state == State::reading ? m_buffer.subspan(m_used) : std::span<std::byte>{};
  }

  // Takes note that read(2) wrote `n` (<= space().size()) bytes at space(); 0 means end of input.
  State commit(std::size_t n) noexcept
  {
    if (m_state != State::reading) {
      return m_state;
    }
    if (n == 0) {
      m_state = m_used == 0 ? State::end : State::line;
      return m_state;
    }
    const auto fresh = m_buffer.subspan(m_used, std::min(n, m_buffer.size() - m_used));
    const auto newline = std::find(fresh.begin(), fresh.end(), std::byte{'\n'});
    m_used += static_cast<std::size_t>(newline - fresh.begin());
    if (newline != fresh.end()) {
      m_state = State::line;
    } else if (m_used == m_buffer.size()) {
      m_state = State::too_long;
    }
    return m_state;
  }

  // Forgets a partly read line (after Ctrl-Z the prompt is shown afresh).
  void restart() noexcept
  {
    m_used = 0;
    m_state = State::reading;
  }

  [[nodiscard]] State state() const noexcept { return m_state; }

  // The line's length without the newline: its bytes are the buffer's first length() bytes.
  [[nodiscard]] std::size_t length() const noexcept { return m_state == State::line ? m_used : 0; }

private:
  std::span<std::byte> m_buffer;
  std::size_t m_used = 0;
  State m_state = State::reading;
};

} // namespace smem::run
