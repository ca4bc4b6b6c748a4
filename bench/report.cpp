#include "bench/report.hpp"

#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace smem::bench {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what)
{
  throw ReportError(where + ": " + what);
}

const Json& member(const Json& object, const std::string& where, std::string_view key)
{
  const Json* value = object.find(key);
  if (value == nullptr) {
    bad(where, "missing \"" + std::string(key) + "\"");
  }
  return *value;
}

double number(const Json& object, const std::string& where, std::string_view key)
{
  const Json& value = member(object, where, key);
  if (!value.is_number()) {
    bad(where + "." + std::string(key), "expected a number");
  }
  return value.as_number();
}

Row read_row(const Json& object, const std::string& where, std::set<std::string>& names)
{
  if (!object.is_object()) {
    bad(where, "expected an object");
  }
  Row row;
  const Json& name = member(object, where, "name");
  if (!name.is_string() || name.as_string().empty()) {
    bad(where + ".name", "expected a non-empty string");
  }
  row.name = name.as_string();
  if (!names.insert(row.name).second) {
    bad(where + ".name", "\"" + row.name + "\" appears twice");
  }
  const Json& unit = member(object, where, "unit");
  if (!unit.is_string() ||
      std::find(std::begin(k_units), std::end(k_units), unit.as_string()) == std::end(k_units)) {
    bad(where + ".unit", "expected \"ns\", \"ms\" or \"MB/s\"");
  }
  row.unit = unit.as_string();
  (void)number(object, where, "median");
  (void)number(object, where, "min");
  (void)number(object, where, "p99");
  const double count = number(object, where, "samples");
  if (count < 0 || count != std::floor(count) || count > 1e9) {
    bad(where + ".samples", "expected a non-negative integer");
  }
  const Json& raw = member(object, where, "raw");
  if (!raw.is_array()) {
    bad(where + ".raw", "expected an array of numbers (a file written by --save)");
  }
  for (const Json& value : raw.as_array()) {
    if (!value.is_number()) {
      bad(where + ".raw", "expected an array of numbers");
    }
    row.samples.push_back(value.as_number());
  }
  if (static_cast<double>(row.samples.size()) != count) {
    bad(where + ".raw", "has " + std::to_string(row.samples.size()) + " values but \"samples\" is " +
                            std::to_string(static_cast<long long>(count)));
  }
  return row;
}

} // namespace

bool higher_is_better(std::string_view unit) noexcept
{
  return unit == "MB/s";
}

const Row* Report::find(std::string_view name) const noexcept
{
  const auto it = std::find_if(rows.begin(), rows.end(), [name](const Row& row) { return row.name == name; });
  return it == rows.end() ? nullptr : &*it;
}

Json to_json_object(const Report& report, RawSamples raw)
{
  Json::Array scenarios;
  for (const Row& row : report.rows) {
    const Summary s = summarize(row.samples);
    Json object = Json::Object{
        {"name", row.name}, {"unit", row.unit}, {"median", s.median},
        {"min", s.min},     {"p99", s.p99},     {"samples", s.samples},
    };
    if (raw == RawSamples::yes) {
      Json::Array values;
      values.reserve(row.samples.size());
      for (const double v : row.samples) {
        values.emplace_back(v);
      }
      object.set("raw", std::move(values));
    }
    scenarios.push_back(std::move(object));
  }
  return Json::Object{
      {"scenarios", std::move(scenarios)},
      {"options", report.options},
      {"machine", report.machine},
  };
}

Report report_from_json(const Json& document)
{
  if (!document.is_object()) {
    bad("top level", "expected an object with \"scenarios\", \"options\" and \"machine\"");
  }
  Report report;
  const Json& scenarios = member(document, "top level", "scenarios");
  if (!scenarios.is_array()) {
    bad("scenarios", "expected an array");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < scenarios.as_array().size(); ++i) {
    report.rows.push_back(read_row(scenarios.as_array()[i], "scenarios[" + std::to_string(i) + "]", names));
  }
  for (const char* key : {"options", "machine"}) {
    if (const Json* value = document.find(key)) {
      if (!value->is_object()) {
        bad(key, "expected an object");
      }
      (key == std::string_view("options") ? report.options : report.machine) = *value;
    }
  }
  return report;
}

} // namespace smem::bench
