// Unit tests of src/mask/table.hpp: what a table holds, what it reports, and that it lives and
// dies as libsmem memory.
#include "mask/mask_test_util.hpp"

#include "mask/table.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace smem::mask;
using smem::mask::test::bytes_of;
using smem::mask::test::Secrets;

namespace {

std::optional<smem::Errc> error_of(const std::function<void()>& f)
{
  try {
    f();
  } catch (const smem::Error& e) {
    return e.code();
  }
  return std::nullopt;
}

} // namespace

TEST_SUITE("mask/table")
{
  TEST_CASE("secrets shorter than 4 bytes are skipped and reported by index")
  {
    const Secrets s{"abc", "long enough", "", "xy", "four"};
    CHECK(s.table()->skipped() == std::vector<std::size_t>{0, 2, 3});
    CHECK(s.table()->pattern_count() > 0);
    CHECK(s.table()->shortest() == 4);
  }

  TEST_CASE("no secret or only short ones: an empty table")
  {
    const Secrets none{};
    CHECK(none.table()->pattern_count() == 0);
    CHECK(none.table()->longest() == 0);
    CHECK(none.table()->memory_size() == 0);
    const Secrets short_ones{"a", "bc"};
    CHECK(short_ones.table()->pattern_count() == 0);
    CHECK(short_ones.table()->skipped().size() == 2);
  }

  TEST_CASE("the table holds each distinct pattern once")
  {
    const Secrets one{"abc123XYZ"};
    const Secrets twice{"abc123XYZ", "abc123XYZ"};
    CHECK(one.table()->pattern_count() == one.patterns().size());
    CHECK(twice.table()->pattern_count() == one.table()->pattern_count());
  }

  TEST_CASE("longest and shortest span every form")
  {
    const Secrets s{"a\"b\\c\nd\x01", "zzzzzz"};
    std::size_t longest = 0;
    std::size_t shortest = SIZE_MAX;
    for (const auto& p : s.patterns()) {
      longest = std::max(longest, p.size());
      shortest = std::min(shortest, p.size());
    }
    CHECK(s.table()->longest() == longest);
    CHECK(s.table()->shortest() == shortest);
  }

  TEST_CASE("encode_limit: longer secrets lose their encoded forms and are reported")
  {
    const Secrets s({"short secret", "a much longer secret value"}, TableOptions{.encode_limit = 16});
    CHECK(s.table()->unencoded() == std::vector<std::size_t>{1});
    CHECK(s.table()->pattern_count() == s.patterns(16).size());
  }

  TEST_CASE("the table lives in libsmem memory: closing it makes every masker refuse")
  {
    const Secrets s{"hunter2hunter2"};
    CHECK(s.table()->memory_size() > 0);
    Masker masker(s.table());
    std::vector<std::byte> out;
    masker.feed(bytes_of("hunt"), out);
    s.table()->close();
    s.table()->close(); // idempotent
    CHECK(error_of([&] { masker.feed(bytes_of("er2"), out); }) == smem::Errc::closed);
    CHECK(error_of([&] { masker.flush(out); }) == smem::Errc::closed);
  }

  TEST_CASE("building from a closed secret fails with Errc::closed")
  {
    const smem::SecretFactory factory;
    std::vector<std::byte> value = bytes_of("a closed secret");
    smem::Secret secret = factory.create(value);
    secret.close();
    const smem::Secret* secrets[] = {&secret};
    CHECK(error_of([&] { MaskTable::build(factory, secrets); }) == smem::Errc::closed);
  }

  TEST_CASE("a large secret keeps a small index (the sampling step is capped)")
  {
    std::string big(256 * 1024, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) {
      big[i] = static_cast<char>('a' + (i * 7919 + i / 26) % 26);
    }
    const Secrets s{big};
    // Pattern bytes dominate: raw, base64 forms (4/3) and nothing else for lowercase letters.
    CHECK(s.table()->memory_size() < 16 * big.size());
  }
}
