// bench/compare.hpp: verdicts from the change, the p-value and the noise threshold.
#include "bench/compare.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using smem::bench::compare;
using smem::bench::judge;
using smem::bench::Report;
using smem::bench::Row;
using smem::bench::to_string;
using smem::bench::Verdict;

namespace {

// 60 samples around `centre`: centre + 0, 1, ..., 59 (a spread of 59).
std::vector<double> around(double centre)
{
  std::vector<double> v;
  for (int i = 0; i < 60; ++i) {
    v.push_back(centre + i);
  }
  return v;
}

Report one_row(const std::string& name, const std::string& unit, std::vector<double> samples,
               std::vector<double> floor = {})
{
  Report r;
  const bool has_floor = !floor.empty();
  if (has_floor) {
    r.rows.push_back(Row{"floor_x", "ns", std::move(floor), "", 1});
  }
  r.rows.push_back(Row{name, unit, std::move(samples), has_floor ? "floor_x" : "", 1});
  return r;
}

} // namespace

TEST_SUITE("bench/compare")
{
  TEST_CASE("judge: significance first then the noise threshold then the direction")
  {
    CHECK(judge(-30, 0.2, 5, false) == Verdict::no_change);
    CHECK(judge(-30, 0.05, 5, false) == Verdict::no_change); // p >= 0.05
    CHECK(judge(-3, 0.001, 5, false) == Verdict::within_noise);
    CHECK(judge(-30, 0.001, 5, false) == Verdict::improved); // time went down
    CHECK(judge(30, 0.001, 5, false) == Verdict::regressed); // time went up
    CHECK(judge(30, 0.001, 5, true) == Verdict::improved);   // throughput went up
    CHECK(judge(-30, 0.001, 5, true) == Verdict::regressed);
    CHECK(judge(8, 0.001, 10, false) == Verdict::within_noise); // a larger threshold
    CHECK(judge(std::nan(""), 0.001, 5, false) == Verdict::within_noise);
    CHECK(std::string(to_string(Verdict::no_change)) == "no significant change");
    CHECK(std::string(to_string(Verdict::within_noise)) == "within noise");
    CHECK(std::string(to_string(Verdict::improved)) == "improved");
    CHECK(std::string(to_string(Verdict::regressed)) == "regressed");
  }

  TEST_CASE("compare: medians / change / p-value / verdict per row")
  {
    SUBCASE("a clear slowdown of a time is a regression")
    {
      const auto set = compare(one_row("s", "ns", around(1000)), one_row("s", "ns", around(2000)));
      REQUIRE(set.rows.size() == 1);
      const auto& c = set.rows[0];
      CHECK(c.before == 1029.5);
      CHECK(c.after == 2029.5);
      CHECK(c.change_percent == doctest::Approx(97.13).epsilon(1e-3));
      CHECK(c.p < 1e-10);
      CHECK(c.verdict == Verdict::regressed);
    }
    SUBCASE("more MB/s is an improvement")
    {
      const auto set = compare(one_row("m", "MB/s", around(1000)), one_row("m", "MB/s", around(2000)));
      CHECK(set.rows.at(0).verdict == Verdict::improved);
    }
    SUBCASE("the same samples: no significant change")
    {
      const auto set = compare(one_row("s", "ns", around(1000)), one_row("s", "ns", around(1000)));
      CHECK(set.rows.at(0).p == doctest::Approx(1.0));
      CHECK(set.rows.at(0).verdict == Verdict::no_change);
    }
    SUBCASE("significant but small: within noise")
    {
      // Shifted by 40 of a spread of 59: the test sees it (p ~ 1e-9), but it is 3.9 % of the median.
      const auto set = compare(one_row("s", "ns", around(1000)), one_row("s", "ns", around(1040)));
      CHECK(set.rows.at(0).p < 0.05);
      CHECK(set.rows.at(0).threshold_percent == 10);
      CHECK(set.rows.at(0).verdict == Verdict::within_noise);
      // +9.7 % is within the default base of 10 %, beyond a base of 5 %.
      CHECK(compare(one_row("s", "ns", around(1000)), one_row("s", "ns", around(1100))).rows.at(0).verdict ==
            Verdict::within_noise);
      CHECK(
          compare(one_row("s", "ns", around(1000)), one_row("s", "ns", around(1100)), 5).rows.at(0).verdict ==
          Verdict::regressed);
    }
    SUBCASE("the drift of the row's floor is added to the threshold")
    {
      // +9.7 % on the row, +5.7 % on its floor: within 5 % + 5.7 %, the machine more than the code.
      const auto set = compare(one_row("s", "ns", around(1000), around(500)),
                               one_row("s", "ns", around(1100), around(530)), 5);
      const auto& c = set.rows.at(1);
      CHECK(c.name == "s");
      CHECK(c.threshold_from == "floor_x");
      CHECK(c.threshold_percent == doctest::Approx(5 + 100.0 * 30 / 529.5));
      CHECK(c.verdict == Verdict::within_noise);
      // The floor's own row is judged against the base threshold.
      CHECK(set.rows.at(0).threshold_percent == 5);
      CHECK(set.rows.at(0).verdict == Verdict::regressed);
      // A change well beyond the drift is still a verdict.
      CHECK(compare(one_row("s", "ns", around(1000), around(500)),
                    one_row("s", "ns", around(1300), around(530)), 5)
                .rows.at(1)
                .verdict == Verdict::regressed);
    }
    SUBCASE("rows only on one side, or in another unit, are listed, not compared")
    {
      Report before = one_row("a", "ns", around(1));
      before.rows.push_back(Row{"b", "ms", around(1), "", 1});
      Report after = one_row("c", "ns", around(1));
      after.rows.push_back(Row{"b", "ns", around(1), "", 1});
      const auto set = compare(before, after);
      CHECK(set.rows.empty());
      CHECK(set.only_after == std::vector<std::string>{"c", "b"});
      CHECK(set.only_before == std::vector<std::string>{"a", "b"});
    }
  }
}
