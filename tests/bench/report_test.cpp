// bench/report.hpp: the SPEC 1.2 JSON object of a run, and reading a saved one back.
#include "bench/report.hpp"

#include "bench/json.hpp"

#include <doctest/doctest.h>

#include <string>

using smem::bench::Json;
using smem::bench::parse_json;
using smem::bench::RawSamples;
using smem::bench::Report;
using smem::bench::report_from_json;
using smem::bench::ReportError;
using smem::bench::Row;
using smem::bench::to_json;
using smem::bench::to_json_object;

namespace {

Report sample_report()
{
  Report r;
  r.rows.push_back(Row{"floor_syscall", "ns", {3, 1, 2}, "", 1});
  r.rows.push_back(Row{"concurrency/4", "ms", {1.5, 2.5}, "floor_syscall", 1e3});
  r.rows.push_back(Row{"mask_throughput", "MB/s", {}, "", 1});
  r.options.set("quick", true);
  r.machine.set("cpus", 2);
  return r;
}

// The ReportError message of reading `text`, or "" when it reads.
std::string read_error(const std::string& text)
{
  try {
    (void)report_from_json(parse_json(text));
  } catch (const ReportError& e) {
    return e.what();
  }
  return "";
}

const char* const k_valid_row =
    R"({"name": "x", "unit": "ns", "median": 1, "min": 1, "p99": 1, "samples": 1, "raw": [1]})";

std::string with_rows(const std::string& rows)
{
  return R"({"scenarios": [)" + rows + R"(], "options": {}, "machine": {}})";
}

} // namespace

TEST_SUITE("bench/report")
{
  TEST_CASE("the JSON object: exactly the SPEC keys per scenario in order and then options and machine")
  {
    const Json object = to_json_object(sample_report(), RawSamples::no);
    CHECK(
        to_json(object, 0) ==
        R"({"scenarios": [{"name": "floor_syscall", "unit": "ns", "median": 2, "min": 1, "p99": 3, "samples": 3}, )"
        R"({"name": "concurrency/4", "unit": "ms", "median": 2, "min": 1.5, "p99": 2.5, "samples": 2}, )"
        R"({"name": "mask_throughput", "unit": "MB/s", "median": 0, "min": 0, "p99": 0, "samples": 0}], )"
        R"("options": {"quick": true}, "machine": {"cpus": 2}})");
  }

  TEST_CASE("a saved report reads back with its raw samples in run order")
  {
    const Report original = sample_report();
    const Json saved = to_json_object(original, RawSamples::yes);
    CHECK(to_json(saved, 0).find(R"("raw": [3, 1, 2])") != std::string::npos);
    const Report back = report_from_json(parse_json(to_json(saved)));
    REQUIRE(back.rows.size() == 3);
    CHECK(back.rows[0].name == "floor_syscall");
    CHECK(back.rows[0].samples == std::vector<double>{3, 1, 2});
    CHECK(back.rows[1].unit == "ms");
    CHECK(back.rows[1].samples == std::vector<double>{1.5, 2.5});
    CHECK(back.rows[2].samples.empty());
    CHECK(back.find("concurrency/4") == &back.rows[1]);
    CHECK(back.find("nope") == nullptr);
    CHECK(to_json(back.options, 0) == R"({"quick": true})");
    CHECK(to_json(back.machine, 0) == R"({"cpus": 2})");
  }

  TEST_CASE("a file without the schema is rejected with the place it fails")
  {
    CHECK(read_error(with_rows(k_valid_row)).empty());
    CHECK(read_error("[]") == R"(top level: expected an object with "scenarios", "options" and "machine")");
    CHECK(read_error("{}") == R"(top level: missing "scenarios")");
    CHECK(read_error(R"({"scenarios": {}})") == "scenarios: expected an array");
    CHECK(read_error(with_rows("1")) == "scenarios[0]: expected an object");
    CHECK(read_error(with_rows(R"({"unit": "ns"})")) == R"(scenarios[0]: missing "name")");
    CHECK(read_error(with_rows(std::string(k_valid_row) + ", " + k_valid_row)) ==
          R"(scenarios[1].name: "x" appears twice)");
    CHECK(read_error(with_rows(
              R"({"name": "x", "unit": "s", "median": 1, "min": 1, "p99": 1, "samples": 1, "raw": [1]})")) ==
          R"(scenarios[0].unit: expected "ns", "ms" or "MB/s")");
    CHECK(
        read_error(with_rows(
            R"({"name": "x", "unit": "ns", "median": "1", "min": 1, "p99": 1, "samples": 1, "raw": [1]})")) ==
        "scenarios[0].median: expected a number");
    CHECK(
        read_error(with_rows(
            R"({"name": "x", "unit": "ns", "median": 1, "min": 1, "p99": 1, "samples": 1.5, "raw": [1]})")) ==
        "scenarios[0].samples: expected a non-negative integer");
    CHECK(
        read_error(with_rows(R"({"name": "x", "unit": "ns", "median": 1, "min": 1, "p99": 1, "samples": 1})"))
            .find("missing \"raw\"") != std::string::npos);
    CHECK(read_error(with_rows(
              R"({"name": "x", "unit": "ns", "median": 1, "min": 1, "p99": 1, "samples": 2, "raw": [1]})")) ==
          R"(scenarios[0].raw: has 1 values but "samples" is 2)");
    CHECK(
        read_error(with_rows(
            R"({"name": "x", "unit": "ns", "median": 1, "min": 1, "p99": 1, "samples": 1, "raw": ["1"]})")) ==
        "scenarios[0].raw: expected an array of numbers");
    CHECK(read_error(R"({"scenarios": [], "options": []})") == "options: expected an object");
  }
}
