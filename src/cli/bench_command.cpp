// `smem bench` (SPEC 1.2). The measuring is bench/'s (scenarios, statistics, report format); this
// file selects what to run, shows progress, and prints tables, JSON and comparisons.
//
// Output rules: the table (or the JSON object with --json) goes to stdout, one row as soon as its
// scenario is done; the progress bar goes to stderr only when stderr is a terminal, and is erased
// before anything else is printed, so pipes and files get plain lines.
#include "cli/bench_command.hpp"

#include "bench/compare.hpp"
#include "bench/json.hpp"
#include "bench/machine.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"
#include "bench/stats.hpp"

#include <smem/smem.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace smem::cli {
namespace {

using bench::Json;
using Clock = std::chrono::steady_clock;

constexpr int k_exit_failure = 125;
static_assert(BenchArgs{}.noise_percent == bench::k_noise_percent);

[[noreturn]] void usage_error(const std::string& message)
{
  throw Error(Errc::invalid_argument, message);
}

// --- strategy names ----------------------------------------------------------------------------

constexpr std::array k_backends{Backend::automatic, Backend::secretmem, Backend::mlock};
constexpr std::array k_guards{Guard::automatic, Guard::pkey, Guard::mprotect, Guard::none};
constexpr std::array k_layouts{Layout::automatic, Layout::isolated, Layout::pooled};

template <class Enum, std::size_t N>
Enum parse_strategy(const std::array<Enum, N>& values, const std::string& text)
{
  for (const Enum value : values) {
    if (text == bench::name(value)) {
      return value;
    }
  }
  usage_error("unknown strategy '" + text + "'"); // CLI11 checked the value already
}

template <class Enum, std::size_t N> std::vector<std::string> names_of(const std::array<Enum, N>& values)
{
  std::vector<std::string> names;
  for (const Enum value : values) {
    names.emplace_back(bench::name(value));
  }
  return names;
}

std::string strategy_text(const Options& o)
{
  return fmt::format("backend {}, guard {}, layout {}", bench::name(o.backend), bench::name(o.guard),
                     bench::name(o.layout));
}

// --- progress on stderr ------------------------------------------------------------------------

// A one-line progress bar on stderr, drawn only when stderr is a terminal; redrawn at most ten
// times a second, erased before anything else is printed.
class Progress {
public:
  Progress() : m_enabled(::isatty(STDERR_FILENO) == 1) {}
  ~Progress() { clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Step `index` of `total` begins; it samples `series` series one after the other.
  void step(std::size_t index, std::size_t total, std::string label, std::size_t series)
  {
    m_index = index;
    m_total = total;
    m_label = std::move(label);
    m_series = std::max<std::size_t>(series, 1);
    m_series_done = 0;
    m_last_done = 0;
    m_fraction = 0;
    draw(true);
  }

  // `done` of `planned` samples of the current series are taken (a count that starts again from
  // 1 begins the next series).
  void update(std::size_t done, std::size_t planned)
  {
    if (done < m_last_done && m_series_done + 1 < m_series) {
      ++m_series_done;
    }
    m_last_done = done;
    const double in_series = planned == 0 ? 0 : static_cast<double>(done) / static_cast<double>(planned);
    m_fraction = (static_cast<double>(m_series_done) + in_series) / static_cast<double>(m_series);
    draw(false);
  }

  void clear()
  {
    if (m_enabled && m_shown) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
      m_shown = false;
    }
  }

private:
  void draw(bool force)
  {
    if (!m_enabled) {
      return;
    }
    const auto now = Clock::now();
    if (!force && now - m_last < std::chrono::milliseconds(100)) {
      return;
    }
    m_last = now;
    constexpr int k_width = 24;
    const double overall =
        m_total == 0 ? 0 : (static_cast<double>(m_index) + m_fraction) / static_cast<double>(m_total);
    const int filled = std::clamp(static_cast<int>(overall * k_width), 0, k_width);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - m_started).count();
    fmt::print(stderr, "\r\033[K[{}{}] {}/{} {} {:3.0f}%  {}:{:02}",
               std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(k_width - filled), '.'), m_index + 1, m_total, m_label,
               m_fraction * 100, seconds / 60, seconds % 60);
    std::fflush(stderr);
    m_shown = true;
  }

  bool m_enabled;
  bool m_shown = false;
  std::size_t m_index = 0;
  std::size_t m_total = 0;
  std::size_t m_series = 1;
  std::size_t m_series_done = 0;
  std::size_t m_last_done = 0;
  double m_fraction = 0;
  std::string m_label;
  Clock::time_point m_started = Clock::now();
  Clock::time_point m_last{};
};

// --- formatting --------------------------------------------------------------------------------

std::string value_text(double value, std::string_view unit)
{
  if (!std::isfinite(value)) {
    return "-";
  }
  const bool ms = unit == "ms";
  if (std::abs(value) < (ms ? 0.0005 : 0.05)) {
    value = 0; // no "-0.0" for a difference that rounds to nothing
  }
  return ms ? fmt::format("{:.3f}", value) : fmt::format("{:.1f}", value);
}

std::string load_text(const Json& load)
{
  if (!load.is_array()) {
    return "unknown";
  }
  std::string text;
  for (const Json& v : load.as_array()) {
    text += (text.empty() ? "" : " ") + fmt::format("{:.2f}", v.is_number() ? v.as_number() : 0.0);
  }
  return text;
}

std::string p_text(double p)
{
  return p < 0.0001 ? "<0.0001" : fmt::format("{:.4f}", p);
}

std::string change_text(double change)
{
  return std::isnan(change) ? "n/a" : fmt::format("{:+.1f}%", change);
}

// --- the plain table ---------------------------------------------------------------------------

constexpr std::string_view k_row_format = "{:<30} {:<5} {:>12} {:>12} {:>12} {:>8} {:>9}  {}\n";

void print_table_header()
{
  fmt::print(k_row_format, "scenario", "unit", "median", "min", "p99", "samples", "ratio", "to");
}

void print_row(const bench::Row& row, const bench::Report& report)
{
  const bench::Summary s = bench::summarize(row.samples);
  std::string ratio;
  std::string to;
  if (const bench::Row* reference = row.reference.empty() ? nullptr : report.find(row.reference)) {
    const double base = bench::summarize(reference->samples).median;
    if (base > 0) {
      ratio = fmt::format("{:.2f}x", s.median * row.reference_scale / base);
      to = row.reference;
    }
  }
  fmt::print(k_row_format, row.name, row.unit, value_text(s.median, row.unit), value_text(s.min, row.unit),
             value_text(s.p99, row.unit), s.samples, ratio, to);
}

// --- running -----------------------------------------------------------------------------------

// What happened to one scenario.
struct Ran {
  bench::Outcome outcome;
  std::string unavailable; // why it could not run here ("" = it ran or failed)
  std::string failure;     // why it failed ("" = it ran or was unavailable)
};

Ran run_one(const bench::Scenario& scenario, const bench::Context& context)
{
  Ran ran;
  try {
    ran.outcome = scenario.run(context);
  } catch (const bench::Unavailable& e) {
    ran.unavailable = e.what();
  } catch (const Error& e) {
    if (e.code() == Errc::unsupported) {
      ran.unavailable = e.what();
    } else {
      ran.failure = e.what();
    }
  } catch (const std::exception& e) {
    ran.failure = e.what();
  }
  return ran;
}

std::string smem_binary()
{
  std::error_code error;
  const std::filesystem::path path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : path.string();
}

// The scenario name a row belongs to: "concurrency/8[mlock,none,isolated]" -> "concurrency".
std::string_view scenario_of(std::string_view row)
{
  return row.substr(0, row.find_first_of("/["));
}

std::vector<const bench::Scenario*> select_scenarios(const BenchArgs& args, const bench::Report* before)
{
  const auto& all = bench::scenarios();
  std::set<std::string_view> wanted;
  for (const std::string& name : args.scenarios) {
    const bench::Scenario* s = bench::find_scenario(name);
    if (s == nullptr) {
      std::string names;
      for (const bench::Scenario& known : all) {
        if (known.kind == bench::Kind::scenario) {
          names += (names.empty() ? "" : ", ") + std::string(known.name);
        }
      }
      usage_error("unknown scenario '" + name + "' (scenarios: " + names + ")");
    }
    wanted.insert(s->name);
  }
  if (wanted.empty() && before != nullptr) {
    for (const bench::Row& row : before->rows) {
      if (const bench::Scenario* s = bench::find_scenario(scenario_of(row.name))) {
        wanted.insert(s->name);
      }
    }
  }
  std::vector<const bench::Scenario*> chosen;
  for (const bench::Scenario& s : all) {
    if (s.kind != bench::Kind::scenario) {
      continue;
    }
    const bool by_default = wanted.empty() && (!args.matrix || s.in_matrix);
    if (by_default || wanted.count(s.name) != 0) {
      chosen.push_back(&s);
    }
  }
  return chosen;
}

std::string read_text_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    usage_error("--compare " + path + ": cannot open it (" + std::strerror(errno) + ")");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    usage_error("--compare " + path + ": cannot read it");
  }
  return text.str();
}

bench::Report load_before(const std::string& path)
{
  const std::string text = read_text_file(path);
  try {
    return bench::report_from_json(bench::parse_json(text));
  } catch (const bench::JsonError& e) {
    usage_error("--compare " + path + ": not valid JSON: " + e.what());
  } catch (const bench::ReportError& e) {
    usage_error("--compare " + path + ": not a report written by `smem bench --save`: " + e.what());
  }
}

// Refuses a --save path that cannot be written: its folder missing or not writable, or the file
// itself read-only. Creates nothing.
void check_writable(const std::string& path)
{
  const std::filesystem::path file(path);
  const std::filesystem::path folder =
      file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::error_code error;
  const bool exists = std::filesystem::exists(file, error);
  const bool writable = exists
                            ? ::access(path.c_str(), W_OK) == 0 && !std::filesystem::is_directory(file, error)
                            : ::access(folder.c_str(), W_OK | X_OK) == 0;
  if (!writable) {
    usage_error("--save " + path + ": cannot write it (" +
                (exists && std::filesystem::is_directory(file, error) ? std::string("a directory")
                                                                      : std::strerror(errno)) +
                ")");
  }
}

void write_text_file(const std::string& path, const std::string& text)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    throw Error(Errc::io, "--save " + path + ": cannot write it (" + std::strerror(errno) + ")");
  }
}

// Every strategy combination the matrix covers: each dimension left automatic takes all its
// concrete values, a given one stays fixed.
std::vector<Options> matrix_combinations(const Options& requested)
{
  std::vector<Options> combos;
  for (const Backend b : k_backends) {
    for (const Guard g : k_guards) {
      for (const Layout l : k_layouts) {
        const bool concrete = b != Backend::automatic && g != Guard::automatic && l != Layout::automatic;
        const bool matches = (requested.backend == Backend::automatic || requested.backend == b) &&
                             (requested.guard == Guard::automatic || requested.guard == g) &&
                             (requested.layout == Layout::automatic || requested.layout == l);
        if (concrete && matches) {
          combos.push_back(
              Options{.backend = b, .guard = g, .layout = l, .lock_failure = requested.lock_failure});
        }
      }
    }
  }
  return combos;
}

std::string now_utc()
{
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text.data();
}

Json options_json(const BenchArgs& args, const bench::Budget& budget,
                  const std::vector<const bench::Scenario*>& chosen, const std::optional<Options>& resolved)
{
  Json::Array names;
  for (const bench::Scenario* s : chosen) {
    names.emplace_back(std::string(s->name));
  }
  Json o = Json::Object{};
  o.set("quick", args.quick);
  o.set("matrix", args.matrix);
  o.set("scenarios", std::move(names));
  o.set("backend", args.backend);
  o.set("guard", args.guard);
  o.set("layout", args.layout);
  if (resolved) {
    o.set("resolved", Json::Object{{"backend", bench::name(resolved->backend)},
                                   {"guard", bench::name(resolved->guard)},
                                   {"layout", bench::name(resolved->layout)}});
  } else {
    o.set("resolved", nullptr);
  }
  o.set("samples", budget.samples);
  o.set("batch_ms", static_cast<double>(budget.batch_time.count()) / 1e6);
  o.set("warmup_batches", budget.warmup_batches);
  o.set("round_samples", budget.round_samples);
  o.set("process_samples", budget.process_samples);
  o.set("mask_samples", budget.mask_samples);
  o.set("mask_bytes", budget.mask_bytes);
  o.set("smem_version", SMEM_VERSION);
#ifdef NDEBUG
  o.set("build", "release");
#else
  o.set("build", "debug");
#endif
  return o;
}

// --- the comparison ----------------------------------------------------------------------------

std::string option_text(const Json& options, std::string_view key)
{
  const Json* value = options.find(key);
  if (value == nullptr) {
    return "?";
  }
  if (value->is_string()) {
    return value->as_string();
  }
  if (value->is_bool()) {
    return value->as_bool() ? "yes" : "no";
  }
  return bench::to_json(*value, 0);
}

void print_comparison(const bench::ComparisonSet& set, const bench::Report& before,
                      const bench::Report& after, const std::string& path, double noise_percent)
{
  const auto describe = [](const bench::Report& r) {
    const Json* date = r.machine.find("date");
    return fmt::format("{} run, {} build{}", option_text(r.options, "quick") == "yes" ? "quick" : "full",
                       option_text(r.options, "build"),
                       date != nullptr && date->is_string() ? ", " + date->as_string() : "");
  };
  fmt::print("\nComparison with {} (Before: {}; After: this {})\n", path, describe(before), describe(after));
  for (const char* key : {"quick", "build", "resolved"}) {
    if (option_text(before.options, key) != option_text(after.options, key)) {
      fmt::print("note: the runs differ in \"{}\": {} before, {} now; compare like with like.\n", key,
                 option_text(before.options, key), option_text(after.options, key));
    }
  }
  constexpr std::string_view k_format = "{:<30} {:<5} {:>12} {:>12} {:>9} {:>9}  {}\n";
  fmt::print(k_format, "scenario", "unit", "Before", "After", "Change", "p-value", "Verdict");
  bool floors = false;
  for (const bench::Comparison& c : set.rows) {
    std::string verdict = bench::to_string(c.verdict);
    if (c.verdict == bench::Verdict::within_noise && !c.threshold_from.empty()) {
      verdict += fmt::format(" (< {:.1f}% with {}'s drift)", c.threshold_percent, c.threshold_from);
    }
    if (c.name.rfind("floor_", 0) == 0 &&
        (c.verdict == bench::Verdict::improved || c.verdict == bench::Verdict::regressed)) {
      verdict += " (the machine)";
      floors = true;
    }
    fmt::print(k_format, c.name, c.unit, value_text(c.before, c.unit), value_text(c.after, c.unit),
               change_text(c.change_percent), p_text(c.p), verdict);
  }
  fmt::print("Change: of the medians. p-value: two-sided Mann-Whitney U test on the raw samples. Verdict: "
             "p >= {} -> no significant change; else |change| below the noise threshold ({}% plus the drift "
             "of the row's reference between the runs) -> within noise; else improved or regressed.\n",
             bench::k_alpha, noise_percent);
  if (floors) {
    fmt::print(
        "The floor_* rows time raw system calls that smem does not touch: their changes are the machine's "
        "drift (load, frequency, kernel), and they widen the threshold of the rows that refer to them.\n");
  }
  if (!set.only_after.empty()) {
    std::string names;
    for (const auto& n : set.only_after) {
      names += (names.empty() ? "" : ", ") + n;
    }
    fmt::print("Not in {}: {}\n", path, names);
  }
  if (!set.only_before.empty()) {
    std::string names;
    for (const auto& n : set.only_before) {
      names += (names.empty() ? "" : ", ") + n;
    }
    fmt::print("Only in {}: {}\n", path, names);
  }
}

Json comparison_json(const bench::ComparisonSet& set)
{
  Json::Array rows;
  for (const bench::Comparison& c : set.rows) {
    rows.emplace_back(Json::Object{{"name", c.name},
                                   {"unit", c.unit},
                                   {"before", c.before},
                                   {"after", c.after},
                                   {"change_percent", c.change_percent},
                                   {"p", c.p},
                                   {"threshold_percent", c.threshold_percent},
                                   {"verdict", bench::to_string(c.verdict)}});
  }
  return rows;
}

// --- the run -----------------------------------------------------------------------------------

class BenchRun {
public:
  BenchRun(const BenchArgs& args, std::vector<const bench::Scenario*> chosen, Options requested)
      : m_args(args), m_chosen(std::move(chosen)), m_requested(requested)
  {
    m_context.budget = args.quick ? bench::quick_budget() : bench::full_budget();
    m_context.budget.on_sample = [this](std::size_t done, std::size_t planned) {
      m_progress.update(done, planned);
    };
    m_context.smem_binary = smem_binary();
    m_report.machine = bench::machine_facts();
    m_report.machine.set("date", now_utc());
  }

  int run(const std::optional<bench::Report>& before)
  {
    const auto started = Clock::now();
    if (!m_args.matrix) {
      m_resolved = SecretFactory(m_requested).options(); // checked by the caller already
      m_context.options = m_requested;
    }
    m_report.options = options_json(m_args, m_context.budget, m_chosen, m_resolved);
    print_preamble();
    run_floors();
    if (m_args.matrix) {
      run_matrix();
    } else {
      run_plain();
    }
    m_progress.clear();
    m_report.machine.set("loadavg_end", bench::load_average());
    if (!m_unavailable.is_null()) {
      m_report.machine.set("unavailable", m_unavailable);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

    std::optional<bench::ComparisonSet> comparison;
    if (before) {
      comparison = bench::compare(*before, m_report, m_args.noise_percent);
    }
    if (m_args.json) {
      Json object = bench::to_json_object(m_report, bench::RawSamples::no);
      if (comparison) {
        object.set("comparison", comparison_json(*comparison));
      }
      fmt::print("{}\n", bench::to_json(object));
    } else {
      print_notes();
      fmt::print("done in {:.1f} s; load average {} at the start, {} at the end\n", seconds,
                 load_text(*m_report.machine.find("loadavg_start")),
                 load_text(*m_report.machine.find("loadavg_end")));
      if (comparison) {
        print_comparison(*comparison, *before, m_report, m_args.compare, m_args.noise_percent);
      }
    }
    std::fflush(stdout);
    if (!m_args.save.empty()) {
      write_text_file(m_args.save,
                      bench::to_json(bench::to_json_object(m_report, bench::RawSamples::yes)) + "\n");
    }
    if (m_failures > 0) {
      fmt::print(stderr, "smem: error: {} scenario(s) failed (see the table)\n", m_failures);
      return k_exit_failure;
    }
    return 0;
  }

private:
  [[nodiscard]] bool table() const noexcept { return !m_args.json; }

  void print_preamble()
  {
    if (!table()) {
      return;
    }
    const bench::Budget& b = m_context.budget;
    fmt::print(
        "smem bench: {} run; per-call rows: {} samples, each a batch of calls lasting ~{:g} ms, after {} "
        "warm-up batches\n",
        m_args.quick ? "quick" : "full", b.samples, static_cast<double>(b.batch_time.count()) / 1e6,
        b.warmup_batches);
    if (m_resolved) {
      fmt::print("strategies: {} (asked: backend {}, guard {}, layout {})\n", strategy_text(*m_resolved),
                 m_args.backend, m_args.guard, m_args.layout);
    }
    fmt::print("machine: {}; load average {}\n\n", bench::machine_line(m_report.machine),
               load_text(*m_report.machine.find("loadavg_start")));
    std::fflush(stdout);
  }

  [[nodiscard]] std::size_t total_steps() const noexcept
  {
    std::size_t floors = 0;
    for (const bench::Scenario& s : bench::scenarios()) {
      floors += s.kind == bench::Kind::floor ? 1 : 0;
    }
    return floors + m_chosen.size() * (m_args.matrix ? matrix_combinations(m_requested).size() : 1);
  }

  Ran step(const bench::Scenario& scenario, const std::string& label)
  {
    m_progress.step(m_step++, total_steps(), label, scenario.series);
    Ran ran = run_one(scenario, m_context);
    m_progress.clear();
    if (!ran.failure.empty()) {
      ++m_failures;
    }
    return ran;
  }

  void add_note(const std::string& note)
  {
    if (std::find(m_notes.begin(), m_notes.end(), note) == m_notes.end()) {
      m_notes.push_back(note);
    }
  }

  void mark_unavailable(const std::string& name, const std::string& why)
  {
    if (m_unavailable.is_null()) {
      m_unavailable = Json::Object{};
    }
    m_unavailable.set(name, why);
  }

  void run_floors()
  {
    if (table() && !m_args.matrix) {
      print_table_header();
    }
    for (const bench::Scenario& s : bench::scenarios()) {
      if (s.kind != bench::Kind::floor) {
        continue;
      }
      Ran ran = step(s, std::string(s.name));
      record(s, std::move(ran), m_args.matrix ? nullptr : &s);
    }
    if (table() && m_args.matrix) {
      fmt::print("floors: ");
      for (const bench::Row& row : m_report.rows) {
        fmt::print("{} {} {}  ", row.name, value_text(bench::summarize(row.samples).median, row.unit),
                   row.unit);
      }
      fmt::print("(medians)\n\n");
    }
  }

  // Adds a scenario's rows to the report and, for the plain table, prints them.
  void record(const bench::Scenario& s, Ran ran, const bench::Scenario* print)
  {
    if (!ran.unavailable.empty()) {
      mark_unavailable(std::string(s.name), ran.unavailable);
      if (print != nullptr && table()) {
        fmt::print("{:<30} {:<5} unavailable: {}\n", s.name, s.unit, ran.unavailable);
      }
      return;
    }
    if (!ran.failure.empty()) {
      if (print != nullptr && table()) {
        fmt::print("{:<30} {:<5} FAILED: {}\n", s.name, s.unit, ran.failure);
      } else if (!table()) {
        fmt::print(stderr, "smem: {} failed: {}\n", s.name, ran.failure);
      }
      return;
    }
    const std::size_t first = m_report.rows.size();
    for (bench::Row& row : ran.outcome.rows) {
      m_report.rows.push_back(std::move(row));
    }
    for (const std::string& note : ran.outcome.notes) {
      add_note(note);
    }
    if (print != nullptr && table()) {
      for (std::size_t i = first; i < m_report.rows.size(); ++i) {
        print_row(m_report.rows[i], m_report);
      }
      std::fflush(stdout);
    }
  }

  void run_plain()
  {
    for (const bench::Scenario* s : m_chosen) {
      Ran ran = step(*s, std::string(s->name));
      record(*s, std::move(ran), s);
    }
  }

  void run_matrix()
  {
    const std::vector<Options> combos = matrix_combinations(m_requested);
    constexpr std::string_view k_head = "{:<10} {:<9} {:<9}";
    std::vector<std::size_t> widths;
    if (table()) {
      fmt::print("median per operation of each scenario's first row, for every strategy combination\n");
      fmt::print(k_head, "backend", "guard", "layout");
      for (const bench::Scenario* s : m_chosen) {
        widths.push_back(std::max<std::size_t>(s->name.size() + 2, 12));
        fmt::print("{:>{}}", s->name, widths.back());
      }
      fmt::print("\n");
      std::fflush(stdout);
    }
    for (const Options& combo : combos) {
      // The line is printed whole once the combination is done: a progress bar redrawn on the
      // terminal meanwhile would erase a half-printed line.
      std::string line = fmt::format(k_head, bench::name(combo.backend), bench::name(combo.guard),
                                     bench::name(combo.layout));
      const std::string label = fmt::format("[{},{},{}]", bench::name(combo.backend),
                                            bench::name(combo.guard), bench::name(combo.layout));
      std::string unsupported;
      try {
        (void)SecretFactory(combo);
      } catch (const Error& e) {
        if (e.code() != Errc::unsupported) {
          throw;
        }
        unsupported = e.what();
      }
      if (!unsupported.empty()) {
        // The reasons are listed once below the table: the same few repeat for many combinations.
        add_note("unsupported here: " + unsupported);
        for (const bench::Scenario* s : m_chosen) {
          mark_unavailable(bench::matrix_row_name(s->name, combo), unsupported);
        }
        m_step += m_chosen.size();
        if (table()) {
          fmt::print("{}  unsupported here (see the notes)\n", line);
          std::fflush(stdout);
        }
        continue;
      }
      m_context.options = combo;
      for (std::size_t i = 0; i < m_chosen.size(); ++i) {
        const bench::Scenario& s = *m_chosen[i];
        Ran ran = step(s, std::string(s.name) + label);
        std::string cell;
        if (!ran.unavailable.empty()) {
          mark_unavailable(bench::matrix_row_name(s.name, combo), ran.unavailable);
          cell = "n/a";
        } else if (!ran.failure.empty()) {
          cell = "FAILED";
          add_note(fmt::format("{}{}: failed: {}", s.name, label, ran.failure));
        } else {
          for (bench::Row& row : ran.outcome.rows) {
            row.name = bench::matrix_row_name(row.name, combo);
            if (!row.reference.empty() && row.reference.rfind("floor_", 0) != 0) {
              row.reference = bench::matrix_row_name(row.reference, combo);
            }
          }
          cell = value_text(bench::summarize(ran.outcome.rows.front().samples).median,
                            ran.outcome.rows.front().unit);
          for (bench::Row& row : ran.outcome.rows) {
            m_report.rows.push_back(std::move(row));
          }
          for (const std::string& note : ran.outcome.notes) {
            // "final_parallel: ..." -> "final_parallel[mlock,mprotect,isolated]: ...": figures differ by
            // combination.
            const bool named = note.rfind(std::string(s.name) + ":", 0) == 0;
            add_note(named ? std::string(s.name) + label + note.substr(s.name.size()) : label + " " + note);
          }
        }
        line += fmt::format("{:>{}}", cell, widths[i]);
      }
      if (table()) {
        fmt::print("{}\n", line);
        std::fflush(stdout);
      }
    }
    if (combos.empty()) {
      add_note("--matrix: no combination matches the given --backend/--guard/--layout");
    }
    add_note("--matrix: units as in the plain table (ns, except concurrency in ms, mask_throughput in MB/s); "
             "--json and --save hold every row, named scenario[backend,guard,layout].");
  }

  void print_notes()
  {
    fmt::print("\nnotes:\n");
    for (const std::string& note : m_notes) {
      fmt::print("  - {}\n", note);
    }
    if (m_args.matrix) {
      fmt::print("\n");
      return;
    }
    fmt::print(
        "  - ratio: the row's median over the median of the row named under \"to\": a floor measured in this "
        "run (raw system calls, no smem code; concurrency is taken per access), or run_overhead's /bare "
        "row. It stays comparable across machines and loads where the nanoseconds do not.\n\n");
  }

  const BenchArgs& m_args;
  std::vector<const bench::Scenario*> m_chosen;
  Options m_requested;
  std::optional<Options> m_resolved;
  bench::Context m_context;
  bench::Report m_report;
  Progress m_progress;
  std::size_t m_step = 0;
  int m_failures = 0;
  std::vector<std::string> m_notes;
  Json m_unavailable;
};

} // namespace

CLI::App* add_bench_command(CLI::App& app, BenchArgs& args)
{
  CLI::App* bench = app.add_subcommand("bench", "Measure libsmem, the masker and smem run on this machine.");
  std::string footer = "Scenarios (rows in the same unit; floors are always measured, as references):\n";
  for (const bench::Scenario& s : bench::scenarios()) {
    footer += fmt::format("  {:<24} {:<5} {}\n", s.name, s.unit, s.description);
  }
  footer += R"(
Examples:
  smem bench                                  the full table, a few minutes
  smem bench --quick --scenario secret_with_bytes --save before.json
  smem bench --quick --compare before.json    Before / After / Change / p-value / verdict
  smem bench --matrix --quick                 every backend x guard x layout this machine offers

Exit status: 0 when the run completed (a regression is a verdict, not a failure); 125 on a usage
error, an unreadable --compare file, an unsupported strategy, or a scenario that failed.)";
  bench->footer(footer);
  bench->add_option("--scenario", args.scenarios, "Run only scenario NAME (repeatable)")
      ->type_name("NAME")
      ->allow_extra_args(false);
  bench->add_flag("--quick", args.quick, "Few samples: well under 30 s instead of a few minutes");
  bench->add_flag("--json", args.json, "Print one JSON object instead of the table");
  bench->add_option("--save", args.save, "Write the results with every raw sample to FILE (JSON)")
      ->type_name("FILE");
  bench
      ->add_option("--compare", args.compare,
                   "Compare with FILE from --save: Before, After, Change %, p-value, verdict")
      ->type_name("FILE");
  bench
      ->add_option(
          "--noise", args.noise_percent,
          "In a comparison, changes below PERCENT (plus the drift of the row's floor) are within noise")
      ->check(CLI::Range(0.0, 1000.0))
      ->type_name("PERCENT")
      ->capture_default_str();
  bench->add_option("--backend", args.backend, "Where secrets' pages come from")
      ->check(CLI::IsMember(names_of(k_backends)))
      ->type_name("BACKEND");
  bench->add_option("--guard", args.guard, "How idle secrets are made unreadable")
      ->check(CLI::IsMember(names_of(k_guards)))
      ->type_name("GUARD");
  bench->add_option("--layout", args.layout, "How secrets share pages")
      ->check(CLI::IsMember(names_of(k_layouts)))
      ->type_name("LAYOUT");
  bench->add_flag("--matrix", args.matrix,
                  "Run the main scenarios for every strategy combination this machine offers (the "
                  "strategies given stay fixed)");
  return bench;
}

int run_bench(const BenchArgs& args)
{
  const Options requested{.backend = parse_strategy(k_backends, args.backend),
                          .guard = parse_strategy(k_guards, args.guard),
                          .layout = parse_strategy(k_layouts, args.layout)};
  if (!args.matrix) {
    try {
      (void)SecretFactory(requested);
    } catch (const Error& e) {
      if (e.code() == Errc::unsupported) {
        usage_error("--backend " + args.backend + " --guard " + args.guard + " --layout " + args.layout +
                    " is not available here: " + e.what());
      }
      throw;
    }
  }
  if (!args.save.empty()) {
    check_writable(args.save); // before minutes of measuring, not after
  }
  std::optional<bench::Report> before;
  if (!args.compare.empty()) {
    before = load_before(args.compare);
  }
  std::vector<const bench::Scenario*> chosen = select_scenarios(args, before ? &*before : nullptr);
  BenchRun run(args, std::move(chosen), requested);
  return run.run(before);
}

} // namespace smem::cli
