// Unit tests of src/run/line_reader.hpp: how the prompt source turns what the terminal delivers
// into the secret (SPEC 1.1: one line, the newline is not part of the secret).
#include "run/line_reader.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using smem::run::LineReader;
using State = LineReader::State;

// A reader over its own buffer, fed as read(2) would: each piece cut to the space offered.
struct Typing {
  explicit Typing(std::size_t capacity) : buffer(capacity), reader(buffer) {}

  State piece(std::string_view bytes)
  {
    const auto space = reader.space();
    const std::size_t n = std::min(bytes.size(), space.size());
    if (n > 0) { // an empty piece may come with a null data()
      std::memcpy(space.data(), bytes.data(), n);
    }
    return reader.commit(n);
  }
  State end_of_input() { return reader.commit(0); }
  [[nodiscard]] std::string line() const
  {
    return {reinterpret_cast<const char*>(buffer.data()), reader.length()};
  }

  std::vector<std::byte> buffer;
  LineReader reader;
};

} // namespace

TEST_SUITE("run/line_reader")
{
  TEST_CASE("a line typed at once is the secret without its newline")
  {
    Typing t(64);
    CHECK(t.piece("hunter2\n") == State::line);
    CHECK(t.line() == "hunter2");
    CHECK(t.reader.space().empty());
  }

  TEST_CASE("a line arriving in pieces is assembled in the buffer")
  {
    Typing t(64);
    CHECK(t.piece("hun") == State::reading);
    CHECK(t.piece("te") == State::reading);
    CHECK(t.piece("r2\nignored") == State::line);
    CHECK(t.line() == "hunter2");
    CHECK(t.piece("more\n") == State::line); // done: later input is not taken
    CHECK(t.line() == "hunter2");
  }

  TEST_CASE("every byte but the newline is kept: erasing is the terminal's job in canonical mode")
  {
    Typing t(64);
    const std::string typed("a\0b\x7f\b\r\tc", 8);
    CHECK(t.piece(typed + "\n") == State::line);
    CHECK(t.line() == typed);
  }

  TEST_CASE("an empty line is an empty secret, end of input before any byte is nothing entered")
  {
    Typing empty(64);
    CHECK(empty.piece("\n") == State::line);
    CHECK(empty.line().empty());
    Typing none(64);
    CHECK(none.end_of_input() == State::end);
    CHECK(none.reader.length() == 0);
  }

  TEST_CASE("text ended by end of input (Ctrl-D twice) is the line, as cat takes it")
  {
    Typing t(64);
    CHECK(t.piece("abc") == State::reading); // Ctrl-D after abc hands over abc without a newline
    CHECK(t.piece("def") == State::reading); // typing goes on
    CHECK(t.end_of_input() == State::line);  // Ctrl-D on the empty rest
    CHECK(t.line() == "abcdef");
  }

  TEST_CASE("a line that does not fit in the buffer less one byte is too long")
  {
    Typing fits(8);
    CHECK(fits.piece("1234567\n") == State::line);
    CHECK(fits.line() == "1234567");
    Typing at_end(8);
    CHECK(at_end.piece("1234567") == State::reading);
    CHECK(at_end.end_of_input() == State::line);
    Typing too_long(8);
    CHECK(too_long.piece("12345678\n") == State::too_long);
    CHECK(too_long.reader.length() == 0);
    CHECK(too_long.reader.space().empty());
  }

  TEST_CASE("restart forgets a partly typed line (the prompt is asked again after Ctrl-Z)")
  {
    Typing t(64);
    CHECK(t.piece("wrong") == State::reading);
    t.reader.restart();
    CHECK(t.piece("right\n") == State::line);
    CHECK(t.line() == "right");
  }
}
