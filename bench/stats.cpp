#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>

namespace smem::bench {

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

} // namespace smem::bench
