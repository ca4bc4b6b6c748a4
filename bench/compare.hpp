// `smem bench --compare`: each row of a new run against the same row of a saved one, judged with
// a two-sided Mann-Whitney U test on the raw samples (stats.hpp) and a noise threshold.
//
// Verdicts, in the order they are decided:
//   no significant change  p >= 0.05: the samples could come from one distribution
//   within noise           p < 0.05 but |change of the medians| < the row's noise threshold
//   improved / regressed   otherwise, by the direction of the change (lower is better for ns and
//                          ms, higher for MB/s)
//
// The noise threshold is a base (10 % unless --noise says otherwise) plus how much the row's
// reference (its floor, see Row::reference) itself moved between the two runs. Why: with 1000
// samples per row the test calls shifts of 1 % significant, but two processes of one binary
// differ by more than that. In A/A runs on this project's two-core machine (bench/README.md) the
// floors of two consecutive runs agreed within 2 %, yet libsmem rows moved by 5 to 10 % between
// them (where each process's mappings and threads land), hence the 10 % base; and when the
// machine itself drifts (load, frequency, the hypervisor), the floors move too. A floor is a raw
// system-call sequence that no change of smem can speed up or slow down, so its movement measures
// that drift in the very same runs, and a change no larger than the drift plus the base cannot
// be told apart from it. A regression is a verdict, never a failed run.
#pragma once

#include "bench/report.hpp"

#include <string>
#include <vector>

namespace smem::bench {

enum class Verdict { improved, regressed, no_change, within_noise };

// "improved", "regressed", "no significant change", "within noise".
const char* to_string(Verdict verdict) noexcept;

// The significance level of the test.
inline constexpr double k_alpha = 0.05;
// The default base of the noise threshold, in percent of the before median.
inline constexpr double k_noise_percent = 10.0;

// The verdict for a change of `change_percent` (after vs before medians, in percent; NaN when the
// before median is 0), the test's p-value `p`, a noise threshold in percent, and the unit's
// direction.
Verdict judge(double change_percent, double p, double threshold_percent, bool higher_better) noexcept;

// One row compared.
struct Comparison {
  std::string name;
  std::string unit;
  double before = 0;                          // median of the saved run
  double after = 0;                           // median of this run
  double change_percent = 0;                  // (after - before) / before * 100; NaN when before is 0
  double p = 1;                               // two-sided Mann-Whitney U p-value
  bool exact = false;                         // p from the exact distribution
  double threshold_percent = k_noise_percent; // the noise threshold used
  std::string threshold_from;                 // the reference row whose drift raised it above the base, or ""
  Verdict verdict = Verdict::no_change;
};

// The outcome of comparing two runs.
struct ComparisonSet {
  std::vector<Comparison> rows;         // in the order of `after`
  std::vector<std::string> only_before; // row names the saved run has and this one does not
  std::vector<std::string> only_after;  // rows of this run the saved one lacks
};

// Compares every row of `after` with the row of the same name in `before`, with `noise_percent`
// as the base of every row's noise threshold. A row whose unit differs between the runs is listed
// in both only_ lists (it is not the same measurement).
ComparisonSet compare(const Report& before, const Report& after, double noise_percent = k_noise_percent);

} // namespace smem::bench
