// bench/stats.hpp: order statistics and the Mann-Whitney U test, against values computed by hand
// or independently (a brute-force enumeration of every ordering, and R's documented example).
#include "bench/stats.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

using smem::bench::mann_whitney_u;
using smem::bench::summarize;

namespace {

std::vector<double> range(int first, int last, double step = 1, double offset = 0)
{
  std::vector<double> values;
  for (int i = first; i < last; ++i) {
    values.push_back(i * step + offset);
  }
  return values;
}

} // namespace

TEST_SUITE("bench/stats")
{
  TEST_CASE("summarize: median / min / nearest-rank p99 / count")
  {
    SUBCASE("odd count, unsorted input")
    {
      const auto s = summarize({5, 1, 4, 2, 3});
      CHECK(s.median == 3);
      CHECK(s.min == 1);
      CHECK(s.p99 == 5); // ceil(0.99 * 5) = 5th smallest
      CHECK(s.samples == 5);
    }
    SUBCASE("even count: the mean of the two middle values")
    {
      const auto s = summarize({4, 1, 3, 2});
      CHECK(s.median == 2.5);
    }
    SUBCASE("1..100: p99 is the 99th value")
    {
      auto values = range(1, 101);
      std::shuffle(values.begin(), values.end(), std::mt19937(7));
      const auto s = summarize(values);
      CHECK(s.p99 == 99);
      CHECK(s.median == 50.5);
    }
    SUBCASE("1..1000: p99 is the 990th value; 40 samples: the largest")
    {
      CHECK(summarize(range(1, 1001)).p99 == 990);
      CHECK(summarize(range(1, 41)).p99 == 40);
    }
    SUBCASE("empty: zeros")
    {
      const auto s = summarize({});
      CHECK(s.samples == 0);
      CHECK(s.median == 0);
      CHECK(s.p99 == 0);
    }
  }

  TEST_CASE("Mann-Whitney U: exact p-values of small samples without ties")
  {
    SUBCASE("fully separated 3 vs 3: U = 0, p = 2/20")
    {
      const std::vector<double> a{1, 2, 3};
      const std::vector<double> b{4, 5, 6};
      const auto r = mann_whitney_u(a, b);
      CHECK(r.exact);
      CHECK(r.u == 0);
      CHECK(r.p == doctest::Approx(0.1));
      // The test is symmetric: U of b is m*n - U of a, and p is the same.
      const auto swapped = mann_whitney_u(b, a);
      CHECK(swapped.u == 9);
      CHECK(swapped.p == doctest::Approx(0.1));
    }
    SUBCASE("fully separated 5 vs 5: p = 2/252")
    {
      const auto r = mann_whitney_u(range(1, 6), range(6, 11));
      CHECK(r.p == doctest::Approx(2.0 / 252));
    }
    SUBCASE("R's wilcox.test example (Hollander & Wolfe 1973, p. 69): W = 35, two-sided p = 2 x 0.1272")
    {
      const std::vector<double> x{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
      const std::vector<double> y{1.15, 0.88, 0.90, 0.74, 1.21};
      const auto r = mann_whitney_u(x, y);
      CHECK(r.exact);
      CHECK(r.u == 35);
      CHECK(r.p == doctest::Approx(0.2544122544).epsilon(1e-9));
    }
    SUBCASE("interleaved 6 vs 6: U = 27 (enumerated: p = 166/924)")
    {
      const std::vector<double> a{3, 5, 8, 9, 11, 12};
      const std::vector<double> b{1, 2, 4, 6, 7, 10};
      const auto r = mann_whitney_u(a, b);
      CHECK(r.u == 27);
      CHECK(r.p == doctest::Approx(0.1796536797).epsilon(1e-9));
    }
    SUBCASE("U at the centre: p = 1")
    {
      const std::vector<double> a{1, 4, 6, 9};
      const std::vector<double> b{2, 3, 5, 7, 8};
      const auto r = mann_whitney_u(a, b);
      CHECK(r.u == 10);
      CHECK(r.p == 1);
    }
    SUBCASE("30 vs 30 and 50 vs 50 (the exact limit), shifted by 7.5 steps")
    {
      // Independent counts from the recursion f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u).
      const auto r30 = mann_whitney_u(range(0, 30, 0.1), range(0, 30, 0.1, 0.75));
      CHECK(r30.exact);
      CHECK(r30.u == 253);
      CHECK(r30.p == doctest::Approx(0.0031935408).epsilon(1e-6));
      const auto r50 = mann_whitney_u(range(0, 50, 0.1), range(0, 50, 0.1, 0.75));
      CHECK(r50.exact);
      CHECK(r50.u == 903);
      CHECK(r50.p == doctest::Approx(0.0164501373).epsilon(1e-6));
    }
  }

  TEST_CASE("Mann-Whitney U: normal approximation with tie and continuity corrections")
  {
    SUBCASE("a hand-computed example with a three-way tie")
    {
      // Pooled 1 2 2 2 3 4: ranks 1, 3, 3, 3, 5, 6. R(a) = 1 + 3 + 3 = 7, U = 7 - 3*4/2 = 1.
      // mean 4.5; variance 3*3/12 * (7 - (27 - 3)/(6*5)) = 0.75 * 6.2 = 4.65;
      // z = (|1 - 4.5| - 0.5) / sqrt(4.65) = 1.391206; p = erfc(z / sqrt 2) = 0.164160.
      const std::vector<double> a{1, 2, 2};
      const std::vector<double> b{2, 3, 4};
      const auto r = mann_whitney_u(a, b);
      CHECK_FALSE(r.exact);
      CHECK(r.u == 1);
      CHECK(r.p == doctest::Approx(0.1641597285).epsilon(1e-9));
    }
    SUBCASE("heavy ties: five 1s, ten 2s, five 3s")
    {
      const std::vector<double> a{1, 1, 1, 1, 1, 2, 2, 2, 2, 2};
      const std::vector<double> b{2, 2, 2, 2, 2, 3, 3, 3, 3, 3};
      const auto r = mann_whitney_u(a, b);
      CHECK(r.u == 12.5);
      CHECK(r.p == doctest::Approx(0.0023570699).epsilon(1e-6));
    }
    SUBCASE("60 vs 60 without ties: beyond the exact limit")
    {
      const auto r = mann_whitney_u(range(0, 60, 2), range(0, 60, 2, 7));
      CHECK_FALSE(r.exact);
      CHECK(r.u == 1596);
      CHECK(r.p == doctest::Approx(0.2854763089).epsilon(1e-6));
    }
    SUBCASE("100 vs 100 half overlapping: a tiny p")
    {
      const auto r = mann_whitney_u(range(0, 100), range(50, 150));
      CHECK(r.u == 1250);
      CHECK(r.p == doctest::Approx(5.11057823e-20).epsilon(1e-6));
    }
    SUBCASE("everything tied, or a sample empty: p = 1")
    {
      const std::vector<double> same(30, 4.0);
      CHECK(mann_whitney_u(same, same).p == 1);
      CHECK(mann_whitney_u({}, same).p == 1);
    }
    SUBCASE("identical samples: no evidence of a difference")
    {
      const auto values = range(0, 200, 1.5);
      CHECK(mann_whitney_u(values, values).p == doctest::Approx(1.0));
    }
  }
}
