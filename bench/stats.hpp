// Statistics of benchmark samples, shared by smem_core_bench and `smem bench`: order statistics
// for the tables and the Mann-Whitney U test behind `smem bench --compare`.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace smem::bench {

// The statistics every benchmark table prints, in the samples' own unit.
struct Summary {
  double median = 0;       // the middle sample (mean of the two middle ones for an even count)
  double min = 0;          // the smallest sample (for latencies, the least disturbed one)
  double p99 = 0;          // the nearest-rank 99th percentile
  std::size_t samples = 0; // how many samples the figures come from
};

// Summarizes `samples` (taken by value and sorted); an empty set gives all zeros.
Summary summarize(std::vector<double> samples);

// The result of a two-sided Mann-Whitney U test (Wilcoxon rank-sum test) of sample `a` against
// sample `b`.
struct MannWhitney {
  double u = 0;       // U of `a`: pairs (x in a, y in b) with x > y, plus half the pairs with x == y
  double p = 1;       // two-sided p-value: how often samples of one distribution differ this much
  bool exact = false; // true: p from the exact null distribution; false: normal approximation
};

// When both samples have at most this many values and no value occurs twice, the p-value is
// exact; otherwise it is the normal approximation with the tie correction and a continuity
// correction of 0.5 (accurate to about 0.001 from there on).
inline constexpr std::size_t k_exact_mann_whitney_limit = 50;

// The two-sided Mann-Whitney U test of `a` against `b`. An empty sample gives p = 1.
MannWhitney mann_whitney_u(std::span<const double> a, std::span<const double> b);

} // namespace smem::bench
