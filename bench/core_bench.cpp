// smem_core_bench: what libsmem's core operations cost on this machine, next to the raw system
// calls they are built from, for every layout x backend x guard combination.
//
//   smem_core_bench            about a minute; the figures for notes and the README
//   smem_core_bench --quick    a few seconds; for CI and smoke tests
//
// Plain text on stdout. It measures and never fails on time: the exit status is non-zero only
// when a scenario could not run at all (an unavailable backend is reported, not an error).
#include "bench/machine.hpp"
#include "bench/scenarios.hpp"
#include "bench/stats.hpp"

#include <smem/smem.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>

namespace {

using smem::bench::Budget;
using smem::bench::name;
using smem::bench::Summary;

void print_usage(std::FILE* out)
{
  std::fputs("usage: smem_core_bench [--quick]\n"
             "  Measures libsmem's with_bytes (1 and 2 threads) and create+close of 32 bytes for\n"
             "  every layout x backend x guard, next to a raw mprotect pair and a raw\n"
             "  system call measured in the same run. Figures are ns per operation.\n"
             "  --quick   a few seconds instead of about a minute\n",
             out);
}

constexpr const char* k_row_format = "%-31s %-10s %-9s %10.1f %10.1f %10.1f %8zu %12s\n";

std::string ratio_text(double median, double reference)
{
  if (reference <= 0) {
    return "-";
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.3gx", median / reference);
  return text.data();
}

class Report {
public:
  void header()
  {
    std::printf("%-31s %-10s %-9s %10s %10s %10s %8s %12s\n", "scenario", "backend", "guard", "median ns",
                "min ns", "p99 ns", "samples", "/ mprotect");
  }

  Summary row(const char* label, const char* backend, const char* guard, const smem::bench::Samples& samples)
  {
    const Summary s = smem::bench::summarize(samples.ns_per_op);
    std::printf(k_row_format, label, backend, guard, s.median, s.min, s.p99, s.samples,
                ratio_text(s.median, m_reference).c_str());
    std::fflush(stdout);
    return s;
  }

  void failed(const char* label, const char* backend, const char* guard, const char* what)
  {
    std::printf("%-31s %-10s %-9s failed: %s\n", label, backend, guard, what);
    std::fflush(stdout);
    m_failures++;
  }

  void set_reference(double median_ns) { m_reference = median_ns; }
  [[nodiscard]] int failures() const { return m_failures; }

private:
  double m_reference = 0;
  int m_failures = 0;
};

} // namespace

int main(int argc, char** argv)
{
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "-h" || arg == "--help") {
      print_usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "smem_core_bench: unknown argument '%s'\n", argv[i]);
      print_usage(stderr);
      return 2;
    }
  }

  const Budget budget = quick ? smem::bench::quick_budget() : smem::bench::full_budget();
  const auto started = std::chrono::steady_clock::now();

  std::printf("smem_core_bench: ns per operation; each sample times a batch of calls (steady_clock)\n");
  std::printf("mode: %s, %zu samples of ~%.1f ms batches per row after %zu warm-up batches\n",
              quick ? "quick" : "full", budget.samples, static_cast<double>(budget.batch_time.count()) / 1e6,
              budget.warmup_batches);
  std::printf("machine: %s\n\n", smem::bench::machine_line(smem::bench::machine_facts()).c_str());

  Report report;
  report.header();
  try {
    const Summary floor = report.row("raw mprotect pair", "-", "-", smem::bench::raw_mprotect_pair(budget));
    report.set_reference(floor.median);
  } catch (const std::exception& e) {
    report.failed("raw mprotect pair", "-", "-", e.what());
  }
  try {
    report.row("raw syscall getppid", "-", "-", smem::bench::raw_syscall(budget));
  } catch (const std::exception& e) {
    report.failed("raw syscall getppid", "-", "-", e.what());
  }

  constexpr std::array k_layouts{smem::Layout::pooled, smem::Layout::isolated};
  constexpr std::array k_backends{smem::Backend::secretmem, smem::Backend::mlock};
  constexpr std::array k_guards{smem::Guard::pkey, smem::Guard::mprotect, smem::Guard::none};
  for (const smem::Layout layout : k_layouts) {
    for (const smem::Backend backend : k_backends) {
      for (const smem::Guard guard : k_guards) {
        const smem::Options options{.backend = backend, .guard = guard, .layout = layout};
        try {
          (void)smem::SecretFactory(options);
        } catch (const smem::Error& e) {
          if (e.code() != smem::Errc::unsupported) {
            report.failed("(factory)", name(backend), name(guard), e.what());
          } else {
            std::printf("%-31s %-10s %-9s unavailable here: %s\n", "(all)", name(backend), name(guard),
                        e.what());
          }
          continue;
        }
        struct Run {
          const char* label;
          smem::bench::Samples (*run)(const smem::Options&, const Budget&);
        };
        const std::array runs{
            Run{"with_bytes", smem::bench::with_bytes_single},
            Run{"with_bytes 2 threads",
                [](const smem::Options& o, const Budget& b) {
                  return smem::bench::with_bytes_threads(o, 2, b);
                }},
            Run{"create+close 32 B",
                [](const smem::Options& o, const Budget& b) { return smem::bench::create_close(o, 32, b); }},
        };
        for (const Run& run : runs) {
          const std::string label = std::string(name(layout)) + " " + run.label;
          try {
            report.row(label.c_str(), name(backend), name(guard), run.run(options, budget));
          } catch (const std::exception& e) {
            report.failed(label.c_str(), name(backend), name(guard), e.what());
          }
        }
      }
    }
  }

  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  std::printf("\n'/ mprotect' is the row's median over the raw mprotect pair's.\n");
  std::printf("done in %.1f s%s\n", elapsed.count(),
              report.failures() > 0 ? (", " + std::to_string(report.failures()) + " row(s) failed").c_str()
                                    : "");
  return report.failures() > 0 ? 1 : 0;
}
