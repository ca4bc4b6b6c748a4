// A pseudo-terminal for black-box tests: the test plays the user at the master side.
#pragma once

#include "cli/process.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <string>
#include <string_view>
#include <termios.h>
#include <unistd.h>

namespace smem::cli_test {

struct Pty {
  Pty()
  {
    REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  }
  ~Pty()
  {
    ::close(master);
    ::close(slave);
  }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  [[nodiscard]] termios attributes() const
  {
    termios t{};
    ::tcgetattr(slave, &t);
    return t;
  }
  [[nodiscard]] bool echo_on() const { return (attributes().c_lflag & ECHO) != 0; }

  // Reads what the terminal shows until it contains `needle`; false at the deadline.
  bool read_until(std::string_view needle, std::chrono::steady_clock::time_point deadline)
  {
    char buffer[4096];
    while (!contains(shown, needle)) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        return false;
      }
      pollfd p{master, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
      const ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n > 0) {
        shown.append(buffer, static_cast<std::size_t>(n));
      }
    }
    return true;
  }

  // Everything the programs wrote to the terminal so far: a marker written on the slave after
  // they are done arrives after all of it.
  bool drain(std::chrono::steady_clock::time_point deadline)
  {
    constexpr std::string_view marker = "\n<<end of transcript>>";
    if (::write(slave, marker.data(), marker.size()) != static_cast<ssize_t>(marker.size())) {
      return false;
    }
    return read_until(marker, deadline);
  }

  void type(std::string_view keys) const
  {
    REQUIRE(::write(master, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }

  int master = -1;
  int slave = -1;
  std::string shown;
};

} // namespace smem::cli_test
