#include "bench/compare.hpp"

#include "bench/stats.hpp"

#include <cmath>

namespace smem::bench {
namespace {

double change_percent(double before, double after) noexcept
{
  return before == 0 ? std::nan("") : (after - before) / std::abs(before) * 100;
}

bool same_measurement(const Row& before, const Row& after) noexcept
{
  return before.unit == after.unit;
}

} // namespace

const char* to_string(Verdict verdict) noexcept
{
  switch (verdict) {
  case Verdict::improved:
    return "improved";
  case Verdict::regressed:
    return "regressed";
  case Verdict::no_change:
    return "no significant change";
  case Verdict::within_noise:
    return "within noise";
  }
  return "?";
}

Verdict judge(double change_percent, double p, double threshold_percent, bool higher_better) noexcept
{
  if (!(p < k_alpha)) {
    return Verdict::no_change;
  }
  if (std::isnan(change_percent)) {
    return Verdict::within_noise; // no scale to judge a change against (a median of 0)
  }
  if (std::abs(change_percent) < threshold_percent) {
    return Verdict::within_noise;
  }
  const bool went_up = change_percent > 0;
  return went_up == higher_better ? Verdict::improved : Verdict::regressed;
}

ComparisonSet compare(const Report& before, const Report& after, double noise_percent)
{
  ComparisonSet set;
  for (const Row& now : after.rows) {
    const Row* then = before.find(now.name);
    if (then == nullptr || !same_measurement(*then, now)) {
      set.only_after.push_back(now.name);
      continue;
    }
    Comparison c;
    c.name = now.name;
    c.unit = now.unit;
    c.before = summarize(then->samples).median;
    c.after = summarize(now.samples).median;
    c.change_percent = change_percent(c.before, c.after);
    const MannWhitney test = mann_whitney_u(now.samples, then->samples);
    c.p = test.p;
    c.exact = test.exact;
    c.threshold_percent = noise_percent;
    if (!now.reference.empty()) {
      const Row* reference_now = after.find(now.reference);
      const Row* reference_then = before.find(now.reference);
      if (reference_now != nullptr && reference_then != nullptr &&
          same_measurement(*reference_then, *reference_now)) {
        const double drift = std::abs(change_percent(summarize(reference_then->samples).median,
                                                     summarize(reference_now->samples).median));
        if (drift > 0) { // false for NaN
          c.threshold_percent += drift;
          c.threshold_from = now.reference;
        }
      }
    }
    c.verdict = judge(c.change_percent, c.p, c.threshold_percent, higher_is_better(c.unit));
    set.rows.push_back(std::move(c));
  }
  for (const Row& then : before.rows) {
    const Row* now = after.find(then.name);
    if (now == nullptr || !same_measurement(then, *now)) {
      set.only_before.push_back(then.name);
    }
  }
  return set;
}

} // namespace smem::bench
