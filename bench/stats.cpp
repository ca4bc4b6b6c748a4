#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace smem::bench {
namespace {

// Counts of U = 0 .. m*n over all C(m+n, m) equally likely orderings of m values of one sample
// and n of the other: the coefficients of the Gaussian binomial [m+n choose m]_q, built with the
// q-Pascal rule G(i, j) = G(i-1, j) + q^i G(i, j-1), which only adds (no cancellation).
std::vector<double> u_distribution(std::size_t m, std::size_t n)
{
  const std::size_t size = m * n + 1;
  // row[j] holds G(i, j) for the current i; G(0, j) = 1.
  std::vector<std::vector<double>> row(n + 1, std::vector<double>(size, 0.0));
  for (auto& poly : row) {
    poly[0] = 1;
  }
  for (std::size_t i = 1; i <= m; ++i) {
    // G(i, 0) = 1 = G(i-1, 0): unchanged. For j >= 1, row[j] still holds G(i-1, j).
    for (std::size_t j = 1; j <= n; ++j) {
      std::vector<double>& poly = row[j];
      const std::vector<double>& left = row[j - 1]; // already G(i, j-1)
      for (std::size_t k = i; k <= i * j; ++k) {
        poly[k] += left[k - i];
      }
    }
  }
  return std::move(row[n]);
}

double exact_p(double u, std::size_t m, std::size_t n)
{
  const std::vector<double> counts = u_distribution(m, n);
  double total = 0;
  double at_or_below = 0;
  double at_or_above = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    total += counts[k];
    const auto value = static_cast<double>(k);
    if (value <= u) {
      at_or_below += counts[k];
    }
    if (value >= u) {
      at_or_above += counts[k];
    }
  }
  return std::min(1.0, 2 * std::min(at_or_below, at_or_above) / total);
}

double normal_p(double u, double m, double n, double tie_term)
{
  const double total = m + n;
  const double mean = m * n / 2;
  const double variance = m * n / 12 * ((total + 1) - tie_term / (total * (total - 1)));
  if (variance <= 0) {
    return 1; // every value tied: nothing tells the samples apart
  }
  const double distance = std::max(0.0, std::abs(u - mean) - 0.5); // continuity correction
  return std::min(1.0, std::erfc(distance / std::sqrt(variance) / std::sqrt(2.0)));
}

} // namespace

Summary summarize(std::vector<double> samples)
{
  Summary summary;
  summary.samples = samples.size();
  if (samples.empty()) {
    return summary;
  }
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  summary.min = samples.front();
  summary.median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  // Nearest rank: the smallest sample with at least 99 % of the samples at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
  summary.p99 = samples[std::clamp<std::size_t>(rank, 1, n) - 1];
  return summary;
}

MannWhitney mann_whitney_u(std::span<const double> a, std::span<const double> b)
{
  MannWhitney result;
  const std::size_t m = a.size();
  const std::size_t n = b.size();
  if (m == 0 || n == 0) {
    return result;
  }
  // Rank the pooled values (1-based; tied values share the mean of their ranks).
  std::vector<std::pair<double, bool>> pooled; // value, from a
  pooled.reserve(m + n);
  for (const double x : a) {
    pooled.emplace_back(x, true);
  }
  for (const double y : b) {
    pooled.emplace_back(y, false);
  }
  std::sort(pooled.begin(), pooled.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
  double rank_sum_a = 0;
  double tie_term = 0; // sum of t^3 - t over groups of t tied values
  for (std::size_t first = 0; first < pooled.size();) {
    std::size_t last = first + 1;
    while (last < pooled.size() && pooled[last].first == pooled[first].first) {
      ++last;
    }
    const auto t = static_cast<double>(last - first);
    const double mean_rank = static_cast<double>(first + 1 + last) / 2; // ranks first+1 .. last
    for (std::size_t i = first; i < last; ++i) {
      if (pooled[i].second) {
        rank_sum_a += mean_rank;
      }
    }
    tie_term += t * t * t - t;
    first = last;
  }
  const auto md = static_cast<double>(m);
  const auto nd = static_cast<double>(n);
  result.u = rank_sum_a - md * (md + 1) / 2;
  if (tie_term == 0 && m <= k_exact_mann_whitney_limit && n <= k_exact_mann_whitney_limit) {
    result.exact = true;
    result.p = exact_p(result.u, m, n);
  } else {
    result.p = normal_p(result.u, md, nd, tie_term);
  }
  return result;
}

} // namespace smem::bench
