// Order statistics of benchmark samples, shared by smem_core_bench and (later) `smem bench`.
#pragma once

#include <cstddef>
#include <vector>

namespace smem::bench {

// The statistics every benchmark table prints, in the samples' own unit.
struct Summary {
  double median = 0;         // the middle sample (mean of the two middle ones for an even count)
  double min = 0;            // the fastest sample: the least disturbed by the rest of the machine
  double p99 = 0;            // the nearest-rank 99th percentile
  std::size_t samples = 0;   // how many samples the figures come from
};

// Summarizes `samples` (taken by value and sorted); an empty set gives all zeros.
Summary summarize(std::vector<double> samples);

} // namespace smem::bench
