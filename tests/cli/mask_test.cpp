// Black-box tests of output masking in `smem run` (SPEC 1.1 "Masking"): what reaches smem's own
// stdout and stderr when the command prints its secrets.
#include "cli/process.hpp"
#include "cli/pty.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <sys/ioctl.h>
#include <sys/wait.h>

namespace smem::cli_test {
namespace {

constexpr std::string_view k_secret = "s3cr3t-Value-42";

Command masked(const TempDir& dir, std::vector<std::string> args)
{
  Command c;
  c.argv = smem_run(std::move(args));
  c.env = base_env(dir);
  c.stdin_data = std::string(k_secret);
  return c;
}

} // namespace

TEST_SUITE("cli/mask")
{
  TEST_CASE("a secret printed on stdout and on stderr reaches neither unmasked")
  {
    const TempDir dir;
    const Result r = run(masked(dir, {"-s", "x=stdin", "--fd", "3=x", "--mask=always", "--", "sh", "-c",
                                      "v=$(cat <&3); echo \"out: $v.\"; echo \"err: $v.\" >&2"}));
    CHECK(r.exited(0));
    CHECK(r.out == "out: ***.\n");
    CHECK(r.err == "err: ***.\n");
  }

  TEST_CASE("a secret written one byte per write is still masked")
  {
    const TempDir dir;
    // Each byte in its own write(2), so the masker sees the secret split across many reads.
    const Result r = run(masked(dir, {"-s", "x=stdin", "--fd", "3=x", "--mask=always", "--", "sh", "-c",
                                      "echo begin; dd bs=1 status=none <&3; echo; echo end"}));
    CHECK(r.exited(0));
    CHECK(r.out == "begin\n***\nend\n");
  }

  TEST_CASE("the base64 form of a secret is masked")
  {
    const TempDir dir;
    const Result r = run(masked(
        dir, {"-s", "x=stdin", "--fd", "3=x", "--mask=always", "--", "sh", "-c", "base64 <&3; echo done"}));
    CHECK(r.exited(0));
    CHECK(r.out == "***\ndone\n");
  }

  TEST_CASE("a held-back prefix of a secret is shown while the command waits for input")
  {
    const TempDir dir;
    Command c = masked(dir, {"-s", "x=file:" + dir.str("secret"), "--fd", "3=x", "--mask=always", "--", "sh",
                             "-c", "printf 's3cr'; read -r answer; echo \" got $answer\""});
    write_file(dir.path() / "secret", k_secret);
    c.stdin_data = std::nullopt; // keep the command's stdin open until the prompt is seen
    Process p(std::move(c));
    // "s3cr" could begin the secret, so the masker holds it back; after a quiet period it must be
    // released, or an interactive prompt would never appear. This blocks (bounded by the hang
    // detector) until it does; it measures no time.
    CHECK(p.wait_for_stdout("s3cr"));
    p.write_stdin("yes\n");
    p.close_stdin();
    const Result r = p.wait();
    CHECK(r.exited(0));
    CHECK(r.out == "s3cr got yes\n");
  }

  TEST_CASE("--mask=never passes the secret through and --mask=auto masks when output is not a terminal")
  {
    const TempDir dir;
    const std::vector<std::string> child = {"--", "sh", "-c", "cat <&3"};
    std::vector<std::string> never = {"-s", "x=stdin", "--fd", "3=x", "--mask=never"};
    never.insert(never.end(), child.begin(), child.end());
    CHECK(run(masked(dir, never)).out == k_secret);
    std::vector<std::string> automatic = {"-s", "x=stdin", "--fd", "3=x"};
    automatic.insert(automatic.end(), child.begin(), child.end());
    CHECK(run(masked(dir, automatic)).out == "***");
  }

  TEST_CASE("a secret shorter than 4 bytes is not masked and smem says so unless --quiet")
  {
    const TempDir dir;
    Command c = masked(dir, {"-s", "x=stdin", "--fd", "3=x", "--mask=always", "--", "sh", "-c", "cat <&3"});
    c.stdin_data = std::string("abc");
    const Result r = run(c);
    CHECK(r.exited(0));
    CHECK(r.out == "abc");
    CHECK(contains(r.err, "smem: warning: secret 'x' is shorter than 4 bytes"));
    Command quiet = masked(
        dir, {"-s", "x=stdin", "--fd", "3=x", "--mask=always", "--quiet", "--", "sh", "-c", "cat <&3"});
    quiet.stdin_data = std::string("abc");
    CHECK(run(quiet).err.empty());
  }

  TEST_CASE("on a terminal --mask=always runs the command on a pty: a terminal, its size, input, masking")
  {
    const TempDir dir;
    Pty pty;
    const winsize size{33, 111, 0, 0};
    REQUIRE(::ioctl(pty.slave, TIOCSWINSZ, &size) == 0);
    const termios before = pty.attributes();
    write_file(dir.path() / "secret", k_secret);
    Command c;
    c.argv = smem_run({"-s", "x=file:" + dir.str("secret"), "--fd", "3=x", "--mask=always", "--", "sh", "-c",
                       "test -t 0 && test -t 1 && test -t 2 && echo terminal; stty size; "
                       "echo \"value $(cat <&3).\"; printf 'name? '; read -r a; echo \"hello $a\""});
    c.env = base_env(dir);
    c.controlling_tty = pty.slave;
    c.fds = {{pty.slave, STDIN_FILENO}, {pty.slave, STDOUT_FILENO}, {pty.slave, STDERR_FILENO}};
    Process p(std::move(c));
    const auto deadline = std::chrono::steady_clock::now() + k_hang_limit;
    REQUIRE(pty.read_until("name? ", deadline));
    pty.type("smem\r");
    const Result r = p.wait();
    CHECK(r.exited(0));
    REQUIRE(pty.drain(deadline));
    CHECK(contains(pty.shown, "terminal\r\n"));
    CHECK(contains(pty.shown, "33 111\r\n"));
    CHECK(contains(pty.shown, "value ***.\r\n"));
    CHECK(contains(pty.shown, "hello smem\r\n"));
    CHECK_FALSE(contains(pty.shown, k_secret));
    // smem's own terminal was raw while the command ran, and is as it was afterwards.
    const termios after = pty.attributes();
    CHECK(after.c_lflag == before.c_lflag);
    CHECK(after.c_iflag == before.c_iflag);
    CHECK(after.c_oflag == before.c_oflag);
  }

  TEST_CASE("on a pty Ctrl-C reaches the command once and smem ends with its signal")
  {
    const TempDir dir;
    Pty pty;
    const termios before = pty.attributes();
    Command c;
    c.argv = smem_run({"-s", "x=random:16:hex", "--fd", "3=x", "--mask=always", "--", "sh", "-c",
                       "trap 'echo INT >> \"$0\"; exit 130' INT; echo ready; while :; do sleep 1; done",
                       dir.str("ints")});
    c.env = base_env(dir);
    c.controlling_tty = pty.slave;
    c.fds = {{pty.slave, STDIN_FILENO}, {pty.slave, STDOUT_FILENO}, {pty.slave, STDERR_FILENO}};
    Process p(std::move(c));
    const auto deadline = std::chrono::steady_clock::now() + k_hang_limit;
    REQUIRE(pty.read_until("ready", deadline));
    pty.type("\x03");
    const Result r = p.wait();
    CHECK((r.exited(130) || r.signaled(SIGINT)));
    CHECK(read_file(dir.path() / "ints") == "INT\n");
    const termios after = pty.attributes();
    CHECK(after.c_lflag == before.c_lflag);
  }

  TEST_CASE("output order within a stream is kept around masked secrets")
  {
    const TempDir dir;
    const Result r = run(masked(dir, {"-s", "x=stdin", "--fd", "3=x", "--mask=always", "--", "sh", "-c",
                                      "v=$(cat <&3); for i in 1 2 3 4 5; do echo \"$i $v $i\"; done"}));
    CHECK(r.exited(0));
    CHECK(r.out == "1 *** 1\n2 *** 2\n3 *** 3\n4 *** 4\n5 *** 5\n");
  }

  TEST_CASE("a large output arrives byte for byte with every secret masked, through a pipe and into a file")
  {
    // Megabytes, so the relay works in many reads, with secrets on and around 4 KiB boundaries
    // (pipe pages) and anywhere else. Through a pipe smem splices what passes; into a file it
    // writes from its buffer: both must give the same bytes.
    const TempDir dir;
    std::string text;
    std::string expected;
    std::size_t line = 0;
    while (text.size() < (3U << 20)) {
      std::string piece = "line " + std::to_string(line) + " of some output, fairly ordinary\n";
      if (line % 97 == 0 || (text.size() % 4096) > 4096 - 64) {
        piece = "key=" + std::string(k_secret) + (line % 2 == 0 ? "\n" : " ");
        expected += "key=***" + std::string(line % 2 == 0 ? "\n" : " ");
      } else {
        expected += piece;
      }
      text += piece;
      ++line;
    }
    write_file(dir.path() / "in.txt", text);
    const std::vector<std::string> args = {"-s", "x=stdin", "--fd",           "3=x", "--mask=always",
                                           "--", "cat",     dir.str("in.txt")};

    const Result piped = run(masked(dir, args));
    CHECK(piped.exited(0));
    CHECK(piped.out.size() == expected.size());
    CHECK_MESSAGE((piped.out == expected), "the output through a pipe differs from the masked text");

    Command to_file = masked(dir, args);
    to_file.argv.insert(to_file.argv.begin(), {"/bin/sh", "-c", "exec \"$@\" >\"$OUT\"", "sh"});
    to_file.env.push_back("OUT=" + dir.str("out.txt"));
    const Result filed = run(to_file);
    CHECK(filed.exited(0));
    const std::string written = read_file(dir.path() / "out.txt");
    CHECK(written.size() == expected.size());
    CHECK_MESSAGE((written == expected), "the output into a file differs from the masked text");
  }
}

} // namespace smem::cli_test
