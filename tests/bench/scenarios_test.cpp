// bench/scenarios.hpp: the registry behind `smem bench --scenario`, and every scenario run
// in-process on a tiny budget (the figures are never judged, only their shape).
#include "bench/scenarios.hpp"

#include <smem/smem.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

using smem::bench::Budget;
using smem::bench::Context;
using smem::bench::find_scenario;
using smem::bench::Kind;
using smem::bench::Outcome;
using smem::bench::scenarios;
using smem::bench::Unavailable;

namespace {

// SPEC 1.2's scenario names, in its order.
const std::vector<std::string_view> k_spec_names{"secret_with_bytes",
                                                 "secret_with_bytes_func",
                                                 "final_sequential",
                                                 "final_parallel",
                                                 "alloc",
                                                 "protect",
                                                 "cleanup",
                                                 "concurrency",
                                                 "mask_throughput",
                                                 "run_overhead"};

Context tiny_context()
{
  Context c;
  c.budget = Budget{.batch_time = std::chrono::microseconds(200),
                    .samples = 3,
                    .warmup_batches = 1,
                    .round_samples = 2,
                    .process_samples = 2,
                    .mask_samples = 2,
                    .mask_bytes = 64 * 1024,
                    .on_sample = {}};
  c.smem_binary = SMEM_BINARY;
  return c;
}

} // namespace

TEST_SUITE("bench/scenarios")
{
  TEST_CASE("the registry: five floors, the SPEC scenarios in the SPEC's order, then smem's own")
  {
    std::vector<std::string_view> floors;
    std::vector<std::string_view> named;
    for (const auto& s : scenarios()) {
      (s.kind == Kind::floor ? floors : named).push_back(s.name);
      CHECK(find_scenario(s.name) == &s);
    }
    CHECK(floors == std::vector<std::string_view>{"floor_syscall", "floor_mprotect_pair",
                                                  "floor_mprotect_parallel", "floor_page_lifetime",
                                                  "floor_copy"});
    std::vector<std::string_view> expected = k_spec_names;
    expected.emplace_back("create_close");
    CHECK(named == expected);
    CHECK(find_scenario("nope") == nullptr);
    CHECK(smem::bench::matrix_row_name("alloc", smem::Options{.backend = smem::Backend::mlock,
                                                              .guard = smem::Guard::none,
                                                              .layout = smem::Layout::isolated}) ==
          "alloc[mlock,none,isolated]");
  }

  TEST_CASE("every scenario runs and names its rows after itself")
  {
    const Context context = tiny_context();
    for (const auto& s : scenarios()) {
      CAPTURE(s.name);
      Outcome out;
      try {
        out = s.run(context);
      } catch (const Unavailable& e) {
        // Only the masker may be missing from a build; everything else runs everywhere smem does.
        MESSAGE((std::string(s.name) + " unavailable: " + e.what()));
        CHECK(s.name == "mask_throughput");
        continue;
      }
      REQUIRE_FALSE(out.rows.empty());
      CHECK(out.rows.front().name == (s.name == "concurrency" ? "concurrency/4" : std::string(s.name)));
      std::set<std::string> names;
      for (const auto& row : out.rows) {
        CAPTURE(row.name);
        CHECK(row.name.rfind(std::string(s.name), 0) == 0);
        CHECK(row.unit == s.unit);
        CHECK_FALSE(row.samples.empty());
        CHECK(names.insert(row.name).second);
      }
    }
  }

  TEST_CASE("per-call scenarios take exactly the budgeted samples and report each one")
  {
    Context context = tiny_context();
    std::size_t calls = 0;
    context.budget.on_sample = [&calls](std::size_t done, std::size_t planned) {
      ++calls;
      CHECK(done <= planned);
    };
    const Outcome out = find_scenario("secret_with_bytes")->run(context);
    CHECK(out.rows.at(0).samples.size() == 3);
    CHECK(calls == 3);
  }

  TEST_CASE("an unsupported strategy is an smem::Error with Errc::unsupported and not a figure")
  {
    // Guard::pkey and Layout::pooled are refused where they are missing; where they exist the
    // scenario simply runs.
    for (const smem::Options options :
         {smem::Options{.guard = smem::Guard::pkey}, smem::Options{.layout = smem::Layout::pooled}}) {
      Context context = tiny_context();
      context.options = options;
      try {
        const Outcome out = find_scenario("secret_with_bytes")->run(context);
        CHECK(out.rows.at(0).samples.size() == 3);
      } catch (const smem::Error& e) {
        CHECK(e.code() == smem::Errc::unsupported);
      }
    }
  }
}
