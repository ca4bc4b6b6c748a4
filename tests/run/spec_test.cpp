// Unit tests of src/run/spec.hpp: the texts of `smem run` (secret specs, deliveries, {NAME}
// placeholders, sizes, durations). SPEC 1.1 fixes the forms; every rejection is a RunError with
// status 125 whose message names the offending text.
#include "run/error.hpp"
#include "run/spec.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using smem::run::Arg;
using smem::run::Encoding;
using smem::run::RunError;
using smem::run::SourceKind;

struct Failure {
  int status = 0;
  std::string message;
};

// The RunError `f` throws, or nullopt when it does not throw one.
std::optional<Failure> failure_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const RunError& e) {
    return Failure{e.status(), e.what()};
  }
  return std::nullopt;
}

void check_rejected(const std::function<void()>& f, const std::string& named)
{
  const auto failure = failure_of(f);
  REQUIRE(failure.has_value());
  CHECK(failure->status == 125);
  INFO("message: " << failure->message);
  CHECK(failure->message.find(named) != std::string::npos);
}

// (text, name) pairs: a literal part has an empty name, a placeholder an empty text.
std::vector<std::pair<std::string, std::string>> parts(const Arg& arg)
{
  std::vector<std::pair<std::string, std::string>> result;
  for (const auto& part : arg) {
    result.emplace_back(part.text, part.name);
  }
  return result;
}

using Parts = std::vector<std::pair<std::string, std::string>>;

} // namespace

TEST_SUITE("run/spec")
{
  TEST_CASE("is_identifier accepts letters digits and underscores not starting with a digit")
  {
    using smem::run::is_identifier;
    for (const char* good : {"a", "Z", "_", "_x1", "db_password", "A9"}) {
      INFO(good);
      CHECK(is_identifier(good));
    }
    for (const char* bad : {"", "1a", "a-b", "a b", "a.b", "a=b", "é", "a:b", "{a}"}) {
      INFO(bad);
      CHECK_FALSE(is_identifier(bad));
    }
  }

  TEST_CASE("parse_secret reads every source kind")
  {
    using smem::run::parse_secret;
    SUBCASE("NAME alone means NAME=prompt")
    {
      const auto s = parse_secret("pw");
      CHECK(s.name == "pw");
      CHECK(s.kind == SourceKind::prompt);
      CHECK(s.argument.empty());
    }
    SUBCASE("prompt")
    {
      const auto s = parse_secret("pw=prompt");
      CHECK(s.kind == SourceKind::prompt);
      CHECK(s.argument.empty());
    }
    SUBCASE("prompt:TEXT keeps the text as written, spaces and '=' included")
    {
      const auto s = parse_secret("pw=prompt:Password for db=main: ");
      CHECK(s.name == "pw");
      CHECK(s.kind == SourceKind::prompt);
      CHECK(s.argument == "Password for db=main: ");
    }
    SUBCASE("stdin")
    {
      const auto s = parse_secret("_in=stdin");
      CHECK(s.name == "_in");
      CHECK(s.kind == SourceKind::stdin_);
    }
    SUBCASE("env:VAR")
    {
      const auto s = parse_secret("t=env:GITHUB_TOKEN");
      CHECK(s.kind == SourceKind::env);
      CHECK(s.argument == "GITHUB_TOKEN");
    }
    SUBCASE("file:PATH splits at the first '=' only")
    {
      const auto s = parse_secret("k=file:/etc/a=b/key.pem");
      CHECK(s.kind == SourceKind::file);
      CHECK(s.argument == "/etc/a=b/key.pem");
    }
    SUBCASE("fd:N")
    {
      const auto s = parse_secret("k=fd:3");
      CHECK(s.kind == SourceKind::fd);
      CHECK(s.fd == 3);
      CHECK(parse_secret("k=fd:0").fd == 0);
      CHECK(parse_secret("k=fd:63").fd == 63);
    }
    SUBCASE("cmd:COMMAND keeps the whole command")
    {
      const auto s = parse_secret("db=cmd:vault kv get -field=pw secret/db");
      CHECK(s.kind == SourceKind::cmd);
      CHECK(s.argument == "vault kv get -field=pw secret/db");
    }
    SUBCASE("random:BYTES with each encoding")
    {
      const auto raw = parse_secret("r=random:32");
      CHECK(raw.kind == SourceKind::random);
      CHECK(raw.random_bytes == 32);
      CHECK(raw.encoding == Encoding::raw);
      const auto hex = parse_secret("r=random:16:hex");
      CHECK(hex.random_bytes == 16);
      CHECK(hex.encoding == Encoding::hex);
      const auto b64 = parse_secret("r=random:24:base64");
      CHECK(b64.random_bytes == 24);
      CHECK(b64.encoding == Encoding::base64);
    }
  }

  TEST_CASE("parse_secret rejects bad names with status 125")
  {
    using smem::run::parse_secret;
    for (const char* text : {"=stdin", "1pw=stdin", "p-w=stdin", "p w=stdin", "pw:x=stdin", "é=stdin"}) {
      INFO(text);
      check_rejected([&] { parse_secret(text); }, "not a valid secret name");
    }
    check_rejected([&] { parse_secret(""); }, "not a valid secret name");
  }

  TEST_CASE("parse_secret rejects unknown and malformed sources naming the secret")
  {
    using smem::run::parse_secret;
    SUBCASE("unknown source")
    {
      for (const char* text : {"pw=bogus", "pw=", "pw=prompt2", "pw=Stdin", "pw=file", "pw=random"}) {
        INFO(text);
        check_rejected([&] { parse_secret(text); }, "'pw=...'");
      }
    }
    SUBCASE("fd:N needs a number")
    {
      for (const char* text :
           {"pw=fd:x", "pw=fd:", "pw=fd:-1", "pw=fd:3x", "pw=fd: 3", "pw=fd:99999999999"}) {
        INFO(text);
        check_rejected([&] { parse_secret(text); }, "fd:N");
      }
    }
    SUBCASE("random:BYTES needs a positive number and a known encoding")
    {
      for (const char* text :
           {"pw=random:0", "pw=random:", "pw=random:x", "pw=random:-4", "pw=random:0:hex"}) {
        INFO(text);
        check_rejected([&] { parse_secret(text); }, "random:BYTES");
      }
      check_rejected([&] { parse_secret("pw=random:4:bin"); }, ":bin");
      check_rejected([&] { parse_secret("pw=random:4:"); }, "random:BYTES");
      check_rejected([&] { parse_secret("pw=random:4:HEX"); }, "random:BYTES");
    }
    SUBCASE("env:, file: and cmd: need their argument")
    {
      check_rejected([&] { parse_secret("pw=env:"); }, "env:");
      check_rejected([&] { parse_secret("pw=env:A=B"); }, "env:VAR");
      check_rejected([&] { parse_secret("pw=file:"); }, "file:");
      check_rejected([&] { parse_secret("pw=cmd:"); }, "cmd:");
    }
  }

  TEST_CASE("parse_fd_delivery")
  {
    using smem::run::parse_fd_delivery;
    SUBCASE("N=NAME is a pipe")
    {
      const auto d = parse_fd_delivery("3=db");
      CHECK(d.fd == 3);
      CHECK(d.name == "db");
      CHECK_FALSE(d.memfd);
      CHECK(parse_fd_delivery("10=_x1").fd == 10);
    }
    SUBCASE("N=NAME:memfd")
    {
      const auto d = parse_fd_delivery("7=key:memfd");
      CHECK(d.fd == 7);
      CHECK(d.name == "key");
      CHECK(d.memfd);
    }
    SUBCASE("N below 3 is refused: 0 is --stdin, 1 and 2 are output")
    {
      for (const char* text : {"0=db", "1=db", "2=db", "2=db:memfd"}) {
        INFO(text);
        check_rejected([&] { parse_fd_delivery(text); }, "3 or more");
      }
    }
    SUBCASE("N must be a number")
    {
      for (const char* text : {"-1=db", "x=db", "=db", "3x=db", " 3=db"}) {
        INFO(text);
        check_rejected([&] { parse_fd_delivery(text); }, "--fd");
      }
    }
    SUBCASE("only :memfd may follow the name")
    {
      for (const char* text : {"3=db:other", "3=db:", "3=db:memfd:x", "3=db:MEMFD"}) {
        INFO(text);
        check_rejected([&] { parse_fd_delivery(text); }, "memfd");
      }
    }
    SUBCASE("the name must be a valid secret name, and '=' is required")
    {
      check_rejected([&] { parse_fd_delivery("3=1db"); }, "not a valid secret name");
      check_rejected([&] { parse_fd_delivery("3="); }, "not a valid secret name");
      check_rejected([&] { parse_fd_delivery("3"); }, "N=NAME");
    }
  }

  TEST_CASE("parse_env_delivery")
  {
    using smem::run::parse_env_delivery;
    const auto d = parse_env_delivery("PGPASSWORD=db");
    CHECK(d.variable == "PGPASSWORD");
    CHECK(d.name == "db");
    check_rejected([&] { parse_env_delivery("PGPASSWORD"); }, "VAR=NAME");
    check_rejected([&] { parse_env_delivery("=db"); }, "empty");
    check_rejected([&] { parse_env_delivery("V="); }, "not a valid secret name");
    check_rejected([&] { parse_env_delivery("V=1db"); }, "not a valid secret name");
    check_rejected([&] { parse_env_delivery("V=db:memfd"); }, "not a valid secret name");
  }

  TEST_CASE("parse_arg substitutes placeholders of defined secrets only")
  {
    using smem::run::parse_arg;
    const std::vector<std::string> defined{"x", "db_pw", "tok"};
    SUBCASE("a lone placeholder")
    {
      CHECK(parts(parse_arg("{x}", defined)) == Parts{{"", "x"}});
    }
    SUBCASE("text around a placeholder")
    {
      CHECK(parts(parse_arg("--password-file={db_pw}", defined)) ==
            Parts{{"--password-file=", ""}, {"", "db_pw"}});
      CHECK(parts(parse_arg("pre{x}post", defined)) == Parts{{"pre", ""}, {"", "x"}, {"post", ""}});
    }
    SUBCASE("several placeholders in one argument")
    {
      CHECK(parts(parse_arg("{x}:{tok}", defined)) == Parts{{"", "x"}, {":", ""}, {"", "tok"}});
      CHECK(parts(parse_arg("{x}{x}", defined)) == Parts{{"", "x"}, {"", "x"}});
    }
    SUBCASE("{{ and }} are literal braces, also around a defined name")
    {
      CHECK(parts(parse_arg("a{{b}}c", defined)) == Parts{{"a{b}c", ""}});
      CHECK(parts(parse_arg("{{x}}", defined)) == Parts{{"{x}", ""}});
      CHECK(parts(parse_arg("{{{x}}}", defined)) == Parts{{"{", ""}, {"", "x"}, {"}", ""}});
      CHECK(parts(parse_arg("{{", defined)) == Parts{{"{", ""}});
    }
    SUBCASE("brace text that is not an identifier stays literal")
    {
      for (const char* text : {R"({"a":1})", "awk '{print $1}'", "{}", "{", "}", "{x", "x}", "{ x }", "{1x}",
                               "a{b-c}d", "{x-y}"}) {
        INFO(text);
        CHECK(parts(parse_arg(text, defined)) == Parts{{text, ""}});
      }
    }
    SUBCASE("plain text and the empty argument")
    {
      CHECK(parts(parse_arg("hello", defined)) == Parts{{"hello", ""}});
      CHECK(parse_arg("", defined).empty());
    }
    SUBCASE("{undefined} is a usage error naming it")
    {
      check_rejected([&] { parse_arg("{nope}", defined); }, "{nope}");
      check_rejected([&] { parse_arg("--token={db_pass}", defined); }, "{db_pass}");
      check_rejected([&] { parse_arg("{x}{X}", defined); }, "{X}");
      check_rejected([&] { parse_arg("{x}", {}); }, "{x}");
    }
    SUBCASE("${VAR}-like text whose inside is an undefined identifier is refused too")
    {
      // `$` is outside the braces, so {HOME} is an undefined placeholder: a typo must not pass.
      check_rejected([&] { parse_arg("${HOME}", defined); }, "{HOME}");
    }
  }

  TEST_CASE("parse_size")
  {
    using smem::run::parse_size;
    CHECK(parse_size("1048576") == 1048576);
    CHECK(parse_size("1") == 1);
    CHECK(parse_size("64K") == 64 * 1024);
    CHECK(parse_size("64k") == 64 * 1024);
    CHECK(parse_size("64KiB") == 64 * 1024);
    CHECK(parse_size("1M") == 1024 * 1024);
    CHECK(parse_size("2MiB") == 2 * 1024 * 1024);
    CHECK(parse_size("1G") == std::size_t{1} << 30);
    CHECK(parse_size("3GiB") == std::size_t{3} << 30);
    SUBCASE("junk")
    {
      for (const char* text : {"", "K", "12X", "1.5M", "-1", " 1", "1 M", "1MB", "0x10", "1e6", "M1"}) {
        INFO(text);
        check_rejected([&] { parse_size(text); }, "--max-size");
      }
    }
    SUBCASE("overflow")
    {
      for (const char* text : {"18446744073709551616", "99999999999999999999999", "17179869184G",
                               "18446744073709551615K", "18014398509481984K"}) {
        INFO(text);
        check_rejected([&] { parse_size(text); }, "--max-size");
      }
    }
  }

  TEST_CASE("parse_duration")
  {
    using smem::run::parse_duration;
    using std::chrono::milliseconds;
    CHECK(parse_duration("500ms") == milliseconds(500));
    CHECK(parse_duration("2s") == milliseconds(2000));
    CHECK(parse_duration("1.5s") == milliseconds(1500));
    CHECK(parse_duration("30") == milliseconds(30000));
    CHECK(parse_duration("5m") == milliseconds(300000));
    CHECK(parse_duration("1h") == milliseconds(3600000));
    CHECK(parse_duration("0.5m") == milliseconds(30000));
    SUBCASE("zero is refused")
    {
      for (const char* text : {"0", "0s", "0ms", "0.0s", "0h", "0.0001s"}) {
        INFO(text);
        check_rejected([&] { parse_duration(text); }, "--timeout");
      }
    }
    SUBCASE("junk")
    {
      for (const char* text :
           {"", "s", "ms", "abc", "5x", "-1s", "1.2.3s", "5 s", "5S", "1e3", "inf", "nan", "5sec", ".s"}) {
        INFO(text);
        check_rejected([&] { parse_duration(text); }, "--timeout");
      }
    }
    SUBCASE("absurdly long is refused, not wrapped")
    {
      check_rejected([&] { parse_duration("99999999999999999999h"); }, "--timeout");
    }
  }

  // Caught by fuzz/spec_fuzz (a refused --secret must not echo SOURCE): the bad-name message
  // quoted the whole NAME=SOURCE text.
  TEST_CASE("a rejected --secret never shows its SOURCE, which a user may have taken for the value")
  {
    using smem::run::parse_secret;
    for (const char* text : {"my-pw=hunter2", "1pw=cmd:echo hunter2", "p w=prompt:hunter2"}) {
      INFO(text);
      const auto failure = failure_of([&] { parse_secret(text); });
      REQUIRE(failure.has_value());
      CHECK(failure->message.find("hunter2") == std::string::npos);
      CHECK(failure->message.find("not a valid secret name") != std::string::npos);
    }
    check_rejected([&] { parse_secret("my-pw=hunter2"); }, "'my-pw=...'");
    check_rejected([&] { parse_secret("my-pw"); }, "'my-pw'");
  }

  // Caught by fuzz/spec_fuzz and fuzz/cli_fuzz (one-line messages): texts were quoted raw, so a newline or an
  // escape sequence typed into an argument broke `smem: error: ...` over lines or reached the terminal.
  TEST_CASE("error messages stay on one line: control characters in quoted texts are escaped")
  {
    using namespace smem::run;
    const std::vector<std::string> defined{"x"};
    const std::vector<std::pair<std::function<void()>, std::string>> cases{
        {[] { parse_fd_delivery("3=a\nb"); }, "'3=a\\nb'"},
        {[] { parse_env_delivery("V=a\tb"); }, "'V=a\\tb'"},
        {[] { parse_secret("a\rb=stdin"); }, "'a\\rb=...'"},
        {[] { parse_secret("pw=random:4:\x1b[2J"); }, "':\\x1b[2J'"},
        {[] { parse_size("1\n"); }, "'1\\n'"},
        {[] { parse_duration("5\x1b[31m"); }, "'5\\x1b[31m'"},
        {[&] { parse_arg("{nope}\n\x7f", defined); }, "'{nope}\\n\\x7f'"},
    };
    for (const auto& [f, shown] : cases) {
      INFO(shown);
      const auto failure = failure_of(f);
      REQUIRE(failure.has_value());
      CHECK(failure->message.find(shown) != std::string::npos);
      for (const char c : failure->message) {
        CHECK(static_cast<unsigned char>(c) >= 0x20);
        CHECK(c != '\x7f');
      }
    }
  }

  // Caught by fuzz/spec_fuzz: `--env $'A\nB=x'` passed, and validate() then printed the name raw.
  TEST_CASE("environment variable names with control characters are refused")
  {
    using namespace smem::run;
    check_rejected([] { parse_env_delivery("A\nB=db"); }, "control character");
    check_rejected(
        [] {
          parse_env_delivery("A\x1b"
                             "B=db");
        },
        "control character");
    check_rejected([] { parse_secret("db=env:A\nB"); }, "control character");
    CHECK(parse_env_delivery("A B=db").variable == "A B"); // odd but printable: the environment allows it
    CHECK(parse_secret("db=env:A.B").argument == "A.B");
  }
}
