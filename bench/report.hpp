// What one `smem bench` run measured, and its JSON form (SPEC 1.2):
//
//   {"scenarios": [{"name", "unit", "median", "min", "p99", "samples"}, ...],
//    "options": {...}, "machine": {...}}
//
// `--json` prints exactly that; `--save` adds "raw" (every sample, in run order) to each scenario
// object, and `--compare` reads such a file back with report_from_json.
#pragma once

#include "bench/json.hpp"

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smem::bench {

// One line of a table: a named set of samples in one unit.
struct Row {
  std::string name;            // a scenario name, optionally "/variant" and "[backend,guard,layout]"
  std::string unit;            // "ns", "ms" or "MB/s"
  std::vector<double> samples; // in run order
  std::string reference;       // the row this one is compared with in the ratio column ("" = none)
  double reference_scale = 1;  // multiplies this row's value into the reference row's unit
};

// The units a row may have.
inline constexpr std::string_view k_units[] = {"ns", "ms", "MB/s"};

// Whether a larger value of `unit` is better (throughput) or worse (time).
[[nodiscard]] bool higher_is_better(std::string_view unit) noexcept;

// One run: its rows in table order plus the free-form "options" and "machine" objects.
struct Report {
  std::vector<Row> rows;
  Json options = Json::Object{};
  Json machine = Json::Object{};

  // The row called `name`, or nullptr.
  [[nodiscard]] const Row* find(std::string_view name) const noexcept;
};

// Whether to_json_object writes the samples themselves.
enum class RawSamples { no, yes };

// The SPEC 1.2 object of `report`; with RawSamples::yes every scenario object also has "raw".
// Row references are not written (the scenario registry knows them).
Json to_json_object(const Report& report, RawSamples raw);

// A report file that does not have the schema; what() says where ("scenarios[2].unit: ...").
class ReportError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Reads a report back from `document` (as written by to_json_object with RawSamples::yes).
// Checks the whole schema: each scenario's name (non-empty, unique), unit (one of k_units),
// median, min, p99 (numbers), samples (a non-negative integer) and raw (an array of exactly
// `samples` numbers); "options" and "machine" must be objects when present. Throws ReportError.
Report report_from_json(const Json& document);

} // namespace smem::bench
