#include "bench/scenarios.hpp"

#include "bench/stats.hpp"

#include <smem/smem.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace smem::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_secret_size = 32;
constexpr std::size_t k_max_batch = std::size_t{1} << 26;
// Secrets alive at once in alloc and cleanup batches: each locks a page, and RLIMIT_MEMLOCK is
// often 8 MiB (2048 pages) or less.
constexpr std::size_t k_max_live_secrets = 256;
constexpr std::array<unsigned, 3> k_concurrency_threads{4, 8, 16};
constexpr std::size_t k_concurrency_ops = 1000;

// Results land here so the compiler cannot drop the work that produced them.
std::atomic<unsigned> g_sink{0};

// The work a callback does: touch the secret's first and last byte, as any real use would.
unsigned touch(std::span<const std::byte> bytes) noexcept
{
  return std::to_integer<unsigned>(bytes.front()) ^ std::to_integer<unsigned>(bytes.back());
}

// A value computed from every byte (64-bit FNV-1a): what a caller deriving something from the
// secret, a MAC key schedule or a checksum, does inside with_bytes.
std::uint64_t digest(std::span<const std::byte> bytes) noexcept
{
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::byte b : bytes) {
    h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ULL;
  }
  return h;
}

void report_sample(const Budget& budget, std::size_t done, std::size_t planned)
{
  if (budget.on_sample) {
    budget.on_sample(done, planned);
  }
}

template <class Op> std::chrono::nanoseconds time_batch(Op& op, std::size_t n)
{
  unsigned acc = 0;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    acc += op();
  }
  const auto end = Clock::now();
  g_sink.fetch_add(acc, std::memory_order_relaxed);
  return end - start;
}

// The batch size that makes `round(n)` last about budget.batch_time, doubling from 1 and then
// extrapolating, so a slow operation is not run thousands of times just to find out it is slow.
template <class Round> std::size_t calibrate(Round& round, const Budget& budget, std::size_t max_batch)
{
  std::size_t n = 1;
  for (;;) {
    const auto elapsed = round(n);
    if (elapsed >= budget.batch_time || n >= max_batch) {
      return n;
    }
    const double ratio = static_cast<double>(budget.batch_time.count()) /
                         static_cast<double>(std::max<std::int64_t>(elapsed.count(), 1));
    // At least double (timer noise on tiny batches), at most x16 per step, a little over target.
    const double factor = std::clamp(ratio * 1.1, 2.0, 16.0);
    n = std::min(max_batch, static_cast<std::size_t>(static_cast<double>(n) * factor));
  }
}

// Calibrates, warms up and samples `round`, where round(n) performs n operations and returns the
// elapsed time; `per_round` is how many operations one unit of n stands for (threads).
template <class Round>
Samples sample(Round round, const Budget& budget, std::size_t per_round = 1,
               std::size_t max_batch = k_max_batch)
{
  Samples result;
  result.batch = calibrate(round, budget, max_batch);
  for (std::size_t i = 0; i < budget.warmup_batches; ++i) {
    (void)round(result.batch);
  }
  result.ns_per_op.reserve(budget.samples);
  const double ops = static_cast<double>(result.batch * per_round);
  for (std::size_t i = 0; i < budget.samples; ++i) {
    result.ns_per_op.push_back(static_cast<double>(round(result.batch).count()) / ops);
    report_sample(budget, i + 1, budget.samples);
  }
  return result;
}

template <class Op> Samples sample_op(Op op, const Budget& budget)
{
  return sample([&op](std::size_t n) { return time_batch(op, n); }, budget);
}

// `count` samples of timed(), which returns one sample's value, after `warmup` untimed calls.
template <class Timed>
std::vector<double> repeat(Timed timed, std::size_t warmup, std::size_t count, const Budget& budget)
{
  for (std::size_t i = 0; i < warmup; ++i) {
    (void)timed();
  }
  std::vector<double> values;
  values.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    values.push_back(timed());
    report_sample(budget, i + 1, count);
  }
  return values;
}

[[noreturn]] void throw_errno(const char* what)
{
  throw std::system_error(errno, std::generic_category(), what);
}

// Runs `threads` workers that each call op(thread index) n times per round, all released together.
template <class Op> class ThreadedRounds {
public:
  ThreadedRounds(unsigned threads, Op op)
      : m_op(std::move(op)), m_starts(threads), m_ends(threads),
        m_sync(static_cast<std::ptrdiff_t>(threads) + 1)
  {
    m_workers.reserve(threads);
    try {
      for (unsigned t = 0; t < threads; ++t) {
        m_workers.emplace_back([this, t] { work(t); });
      }
    } catch (...) {
      // Threads already started wait at the barrier for threads + 1 arrivals that would never
      // come; there is no clean way out, and a benchmark that cannot start threads is useless.
      std::terminate();
    }
  }

  ~ThreadedRounds()
  {
    m_stop.store(true, std::memory_order_relaxed);
    m_sync.arrive_and_wait(); // release the workers into their stop check
    for (auto& worker : m_workers) {
      worker.join();
    }
  }

  ThreadedRounds(const ThreadedRounds&) = delete;
  ThreadedRounds& operator=(const ThreadedRounds&) = delete;

  // One round of n calls per thread; the wall time from the first start to the last finish.
  std::chrono::nanoseconds operator()(std::size_t n)
  {
    m_batch = n;
    m_ready.store(0, std::memory_order_relaxed);
    m_sync.arrive_and_wait(); // start
    m_sync.arrive_and_wait(); // every worker has finished
    if (m_error) {
      std::rethrow_exception(m_error);
    }
    const auto first_start = *std::min_element(m_starts.begin(), m_starts.end());
    const auto last_end = *std::max_element(m_ends.begin(), m_ends.end());
    return last_end - first_start;
  }

private:
  void work(unsigned t)
  {
    for (;;) {
      m_sync.arrive_and_wait();
      if (m_stop.load(std::memory_order_relaxed)) {
        return;
      }
      // The barrier wakes threads one by one (tens of microseconds apart): meet here so that the
      // calls really overlap from the start.
      m_ready.fetch_add(1, std::memory_order_acq_rel);
      while (m_ready.load(std::memory_order_acquire) < m_starts.size()) {
        std::this_thread::yield();
      }
      unsigned acc = 0;
      m_starts[t] = Clock::now();
      try {
        for (std::size_t i = 0; i < m_batch; ++i) {
          acc += m_op(t);
        }
      } catch (...) {
        const std::lock_guard lock(m_error_mutex);
        if (!m_error) {
          m_error = std::current_exception();
        }
      }
      m_ends[t] = Clock::now();
      g_sink.fetch_add(acc, std::memory_order_relaxed);
      m_sync.arrive_and_wait();
    }
  }

  Op m_op;
  std::vector<Clock::time_point> m_starts;
  std::vector<Clock::time_point> m_ends;
  std::barrier<> m_sync;
  std::size_t m_batch = 0; // written by the main thread before the start barrier
  std::atomic<std::size_t> m_ready{0};
  std::atomic<bool> m_stop{false};
  std::mutex m_error_mutex;
  std::exception_ptr m_error;
  std::vector<std::thread> m_workers;
};

// with_bytes(touch) on one of `secrets`, by thread index.
auto access_of(const std::vector<const Secret*>& secrets)
{
  return [secrets](unsigned t) { return secrets[t % secrets.size()]->with_bytes(touch); };
}

unsigned parallel_threads() noexcept
{
  return std::max(2U, std::thread::hardware_concurrency());
}

Row make_row(std::string name, std::string unit, std::vector<double> samples, std::string reference = {},
             double reference_scale = 1)
{
  return Row{std::move(name), std::move(unit), std::move(samples), std::move(reference), reference_scale};
}

constexpr const char* k_syscall_floor = "floor_syscall";
constexpr const char* k_mprotect_floor = "floor_mprotect_pair";
constexpr const char* k_parallel_floor = "floor_mprotect_parallel";
constexpr const char* k_lifetime_floor = "floor_page_lifetime";
constexpr const char* k_copy_floor = "floor_copy";

Outcome floor_row(const char* row, Samples samples)
{
  return Outcome{{make_row(row, "ns", std::move(samples.ns_per_op))}, {}};
}

Outcome secret_with_bytes(const Context& c)
{
  const SecretFactory factory(c.options);
  const Secret secret = factory.create_random(k_secret_size);
  Samples s = sample_op(
      [&secret] {
        unsigned value = 0;
        secret.with_bytes([&value](std::span<const std::byte> bytes) { value = touch(bytes); });
        return value;
      },
      c.budget);
  return Outcome{{make_row("secret_with_bytes", "ns", std::move(s.ns_per_op), k_mprotect_floor)}, {}};
}

Outcome secret_with_bytes_func(const Context& c)
{
  const SecretFactory factory(c.options);
  const Secret secret = factory.create_random(k_secret_size);
  Samples s = sample_op([&secret] { return static_cast<unsigned>(secret.with_bytes(digest)); }, c.budget);
  return Outcome{{make_row("secret_with_bytes_func", "ns", std::move(s.ns_per_op), k_mprotect_floor)}, {}};
}

Outcome final_sequential(const Context& c)
{
  const SecretFactory factory(c.options);
  const Secret secret = factory.create_random(k_secret_size);
  ThreadedRounds rounds(1, access_of({&secret}));
  Samples s = sample([&rounds](std::size_t n) { return rounds(n); }, c.budget);
  return Outcome{{make_row("final_sequential", "ns", std::move(s.ns_per_op), k_mprotect_floor)}, {}};
}

// The share of accesses that started while another thread's access to the same secret was in
// progress (between entering and leaving with_bytes), from a separate instrumented run: the
// counting itself adds a shared atomic to every access, so this is an estimate, not part of the
// samples. Only an overlapping access can find the guard already open and skip the protection
// change; a non-overlapping one always pays it.
double overlap_share(const Secret& secret, unsigned threads, std::size_t batch)
{
  std::atomic<int> inside{0};
  std::atomic<std::uint64_t> overlapped{0};
  std::atomic<std::uint64_t> total{0};
  {
    ThreadedRounds rounds(threads, [&](unsigned) {
      const bool overlapping = inside.fetch_add(1, std::memory_order_acq_rel) > 0;
      const unsigned value = secret.with_bytes(touch);
      inside.fetch_sub(1, std::memory_order_acq_rel);
      overlapped.fetch_add(overlapping ? 1 : 0, std::memory_order_relaxed);
      total.fetch_add(1, std::memory_order_relaxed);
      return value;
    });
    // 50 rounds of the sampled batch (about 100 ms in a full run): longer than a few scheduler
    // time slices, so a loaded machine that runs the threads in turn shows as such.
    for (int i = 0; i < 50; ++i) {
      (void)rounds(batch);
    }
  }
  const auto n = total.load();
  return n == 0 ? 0 : 100.0 * static_cast<double>(overlapped.load()) / static_cast<double>(n);
}

Outcome final_parallel(const Context& c)
{
  const unsigned threads = parallel_threads();
  const SecretFactory factory(c.options);
  const Secret shared = factory.create_random(k_secret_size);
  Outcome out;
  Samples s;
  {
    ThreadedRounds rounds(threads, access_of({&shared}));
    s = sample([&rounds](std::size_t n) { return rounds(n); }, c.budget, threads);
  }
  std::vector<double> per_thread = s.ns_per_op;
  for (double& v : per_thread) {
    v *= threads;
  }
  out.rows.push_back(make_row("final_parallel", "ns", std::move(s.ns_per_op), k_parallel_floor));
  out.rows.push_back(make_row("final_parallel/per_thread", "ns", std::move(per_thread), k_mprotect_floor));

  std::vector<Secret> own;
  std::vector<const Secret*> own_pointers;
  for (unsigned t = 0; t < threads; ++t) {
    own.push_back(factory.create_random(k_secret_size));
  }
  for (const Secret& secret : own) {
    own_pointers.push_back(&secret);
  }
  {
    ThreadedRounds rounds(threads, access_of(own_pointers));
    Samples own_samples = sample([&rounds](std::size_t n) { return rounds(n); }, c.budget, threads);
    out.rows.push_back(
        make_row("final_parallel/own_secret", "ns", std::move(own_samples.ns_per_op), k_parallel_floor));
  }

  const double share = overlap_share(shared, threads, std::max<std::size_t>(s.batch, 1));
  char note[512];
  std::snprintf(note, sizeof note,
                "final_parallel: %u threads on one shared secret (the reference report's method); "
                "per_thread is the same wall time per access as one thread sees it (x %u). In an "
                "instrumented run %.1f %% of the accesses started while another thread's access was in "
                "progress (only those can find the secret open and skip the protection change). "
                "/own_secret gives each thread its own secret: no access rides on another's.",
                threads, threads, share);
  out.notes.emplace_back(note);
  return out;
}

Outcome alloc(const Context& c)
{
  const SecretFactory factory(c.options);
  std::vector<Secret> live;
  live.reserve(k_max_live_secrets);
  Samples s = sample(
      [&](std::size_t n) {
        live.clear();
        const auto start = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
          live.push_back(factory.create_random(k_secret_size));
        }
        const auto end = Clock::now();
        for (Secret& secret : live) {
          secret.close();
        }
        return end - start;
      },
      c.budget, 1, k_max_live_secrets);
  live.clear();
  return Outcome{{make_row("alloc", "ns", std::move(s.ns_per_op), k_lifetime_floor)}, {}};
}

// A secret's whole life, as a caller that makes one per request pays it.
Outcome create_close_scenario(const Context& c)
{
  const SecretFactory factory(c.options);
  const Secret warm = factory.create_random(k_secret_size); // a pooled arena exists from here on
  Samples s = sample_op(
      [&factory] {
        Secret secret = factory.create_random(k_secret_size);
        secret.close();
        return 0U;
      },
      c.budget);
  return Outcome{{make_row("create_close", "ns", std::move(s.ns_per_op), k_lifetime_floor)}, {}};
}

Outcome cleanup(const Context& c)
{
  const SecretFactory factory(c.options);
  std::vector<Secret> live;
  live.reserve(k_max_live_secrets);
  Samples s = sample(
      [&](std::size_t n) {
        live.clear();
        for (std::size_t i = 0; i < n; ++i) {
          live.push_back(factory.create_random(k_secret_size));
        }
        const auto start = Clock::now();
        for (Secret& secret : live) {
          secret.close();
        }
        return Clock::now() - start;
      },
      c.budget, 1, k_max_live_secrets);
  live.clear();
  return Outcome{{make_row("cleanup", "ns", std::move(s.ns_per_op), k_lifetime_floor)}, {}};
}

Outcome protect(const Context& c)
{
  const SecretFactory guarded(c.options);
  Options bare_options = guarded.options();
  bare_options.guard = Guard::none;
  const SecretFactory bare(bare_options);
  const Secret a = guarded.create_random(k_secret_size);
  const Secret b = bare.create_random(k_secret_size);
  auto access_a = [&a] { return a.with_bytes(touch); };
  auto access_b = [&b] { return b.with_bytes(touch); };
  // Calibrate on the guarded access (the longer one), then time both per sample, alternately, so
  // drifts of the machine hit both sides of the difference alike.
  auto guarded_round = [&](std::size_t n) { return time_batch(access_a, n); };
  const std::size_t batch = calibrate(guarded_round, c.budget, k_max_batch);
  for (std::size_t i = 0; i < c.budget.warmup_batches; ++i) {
    (void)time_batch(access_a, batch);
    (void)time_batch(access_b, batch);
  }
  std::vector<double> values;
  values.reserve(c.budget.samples);
  for (std::size_t i = 0; i < c.budget.samples; ++i) {
    const auto with_guard = time_batch(access_a, batch);
    const auto without = time_batch(access_b, batch);
    values.push_back(static_cast<double>((with_guard - without).count()) / static_cast<double>(batch));
    report_sample(c.budget, i + 1, c.budget.samples);
  }
  Outcome out{{make_row("protect", "ns", std::move(values), k_mprotect_floor)}, {}};
  if (guarded.options().guard == Guard::none) {
    out.notes.emplace_back(
        "protect: the guard is none, so there is no protection to change: the row is noise around 0.");
  }
  return out;
}

Outcome concurrency(const Context& c)
{
  const SecretFactory factory(c.options);
  const Secret secret = factory.create_random(k_secret_size);
  Outcome out;
  for (const unsigned threads : k_concurrency_threads) {
    ThreadedRounds rounds(threads, access_of({&secret}));
    std::vector<double> ms =
        repeat([&rounds] { return static_cast<double>(rounds(k_concurrency_ops).count()) / 1e6; }, 3,
               c.budget.round_samples, c.budget);
    // ms per round -> ns per access, to compare with the floor.
    const double scale = 1e6 / static_cast<double>(threads * k_concurrency_ops);
    out.rows.push_back(
        make_row("concurrency/" + std::to_string(threads), "ms", std::move(ms), k_parallel_floor, scale));
  }
  std::string per_access;
  for (std::size_t i = 0; i < out.rows.size(); ++i) {
    const unsigned threads = k_concurrency_threads[i];
    const double ns = summarize(out.rows[i].samples).median * out.rows[i].reference_scale;
    char text[128];
    std::snprintf(text, sizeof text, "%s%u threads %.0f ns aggregate, %.0f ns per thread", i == 0 ? "" : "; ",
                  threads, ns, ns * threads);
    per_access += text;
  }
  out.notes.emplace_back(
      "concurrency/T: T threads x 1000 with_bytes on one shared secret, wall time from the "
      "first start to the last finish; its ratio is per access. Median per access: " +
      per_access + ".");
  return out;
}

} // namespace

Budget quick_budget() noexcept
{
  return Budget{.batch_time = std::chrono::milliseconds(1),
                .samples = 40,
                .warmup_batches = 2,
                .round_samples = 25,
                .process_samples = 25,
                .mask_samples = 25,
                .mask_bytes = std::size_t{1} << 20,
                .on_sample = {}};
}

Budget full_budget() noexcept
{
  return Budget{.batch_time = std::chrono::milliseconds(2),
                .samples = 1000,
                .warmup_batches = 10,
                .round_samples = 200,
                .process_samples = 300,
                .mask_samples = 60,
                .mask_bytes = std::size_t{8} << 20,
                .on_sample = {}};
}

Samples with_bytes_single(const Options& options, const Budget& budget)
{
  const SecretFactory factory(options);
  const Secret secret = factory.create_random(k_secret_size);
  return sample_op([&secret] { return secret.with_bytes(touch); }, budget);
}

Samples with_bytes_threads(const Options& options, unsigned threads, const Budget& budget)
{
  const SecretFactory factory(options);
  const Secret secret = factory.create_random(k_secret_size);
  ThreadedRounds rounds(threads, access_of({&secret}));
  return sample([&rounds](std::size_t n) { return rounds(n); }, budget, threads);
}

Samples create_close(const Options& options, std::size_t size, const Budget& budget)
{
  const SecretFactory factory(options);
  std::vector<std::byte> source(size);
  return sample_op(
      [&factory, &source] {
        // create() wipes its source, so refill it: a memset of `size` bytes, noise next to a mapping.
        std::memset(source.data(), 0x5a, source.size());
        Secret secret = factory.create(source);
        secret.close();
        return static_cast<unsigned>(secret.size());
      },
      budget);
}

Samples raw_mprotect_pair(const Budget& budget)
{
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* mem = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    throw_errno("mmap");
  }
  std::memset(mem, 0, page); // fault it in
  (void)::mlock(mem, page);  // like a secret's pages; best effort, the floor barely moves without it
  struct Unmap {
    void* mem;
    std::size_t page;
    ~Unmap() { ::munmap(mem, page); }
  } unmap{mem, page};
  if (::mprotect(mem, page, PROT_NONE) != 0) {
    throw_errno("mprotect");
  }
  return sample_op(
      [mem, page] {
        const int opened = ::mprotect(mem, page, PROT_READ);
        const int closed = ::mprotect(mem, page, PROT_NONE);
        if (opened != 0 || closed != 0) {
          throw_errno("mprotect");
        }
        return 0u;
      },
      budget);
}

Samples raw_syscall(const Budget& budget)
{
  return sample_op([] { return static_cast<unsigned>(::syscall(SYS_getppid)); }, budget);
}

Samples raw_page_lifetime(const Budget& budget)
{
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return sample_op(
      [page] {
        void* mem = ::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
          throw_errno("mmap");
        }
        auto* bytes = static_cast<unsigned char*>(mem);
        const int locked = ::mlock(bytes + page, page);
        const int front = ::mprotect(bytes, page, PROT_NONE);
        const int back = ::mprotect(bytes + 2 * page, page, PROT_NONE);
        const unsigned value = bytes[page]; // the locked page is resident and zero
        ::munmap(mem, 3 * page);
        if (locked != 0 || front != 0 || back != 0) {
          throw_errno(locked != 0 ? "mlock" : "mprotect");
        }
        return value;
      },
      budget);
}

Samples raw_mprotect_pairs_parallel(unsigned threads, const Budget& budget)
{
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // One isolated secret's mapping per thread: | guard | locked data page | guard |.
  struct Mappings {
    std::vector<unsigned char*> data;
    std::size_t page;
    ~Mappings()
    {
      for (unsigned char* d : data) {
        ::munmap(d - page, 3 * page);
      }
    }
  } maps{{}, page};
  for (unsigned t = 0; t < threads; ++t) {
    void* mem = ::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      throw_errno("mmap");
    }
    auto* base = static_cast<unsigned char*>(mem);
    maps.data.push_back(base + page);
    std::memset(base + page, 0, page);
    (void)::mlock(base + page, page); // best effort, as in raw_mprotect_pair
    if (::mprotect(base, page, PROT_NONE) != 0 || ::mprotect(base + 2 * page, page, PROT_NONE) != 0 ||
        ::mprotect(base + page, page, PROT_NONE) != 0) {
      throw_errno("mprotect");
    }
  }
  ThreadedRounds rounds(threads, [&maps, page](unsigned t) {
    const int opened = ::mprotect(maps.data[t], page, PROT_READ);
    const int closed = ::mprotect(maps.data[t], page, PROT_NONE);
    if (opened != 0 || closed != 0) {
      throw_errno("mprotect");
    }
    return 0u;
  });
  return sample([&rounds](std::size_t n) { return rounds(n); }, budget, threads);
}

std::vector<double> raw_copy_throughput(const Budget& budget)
{
  std::vector<std::byte> text(budget.mask_bytes);
  for (std::size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<std::byte>('a' + i % 26);
  }
  std::vector<std::byte> out;
  out.reserve(k_mask_chunk + 4096);
  return repeat(
      [&] {
        unsigned acc = 0;
        const auto start = Clock::now();
        for (std::size_t at = 0; at < text.size(); at += k_mask_chunk) {
          out.clear();
          const std::size_t n = std::min(k_mask_chunk, text.size() - at);
          out.insert(out.end(), text.data() + at, text.data() + at + n);
          acc += std::to_integer<unsigned>(out.back());
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        g_sink.fetch_add(acc, std::memory_order_relaxed);
        return static_cast<double>(text.size()) / seconds / 1e6;
      },
      2, budget.mask_samples, budget);
}

const std::vector<Scenario>& scenarios()
{
  static const std::vector<Scenario> all{
      {k_syscall_floor, "ns", "getppid(): one kernel entry and exit", Kind::floor, false, 1,
       [](const Context& c) { return floor_row(k_syscall_floor, raw_syscall(c.budget)); }},
      {k_mprotect_floor, "ns", "mprotect READ then NONE on one locked page: a guard's open and close",
       Kind::floor, false, 1,
       [](const Context& c) { return floor_row(k_mprotect_floor, raw_mprotect_pair(c.budget)); }},
      {k_parallel_floor, "ns",
       "the mprotect pair from all CPUs (>= 2) at once, each on its own page: aggregate", Kind::floor, false,
       1,
       [](const Context& c) {
         return floor_row(k_parallel_floor, raw_mprotect_pairs_parallel(parallel_threads(), c.budget));
       }},
      {k_lifetime_floor, "ns", "mmap 3 pages + mlock 1 + 2 guard mprotects + munmap: a guarded page's life",
       Kind::floor, false, 1,
       [](const Context& c) { return floor_row(k_lifetime_floor, raw_page_lifetime(c.budget)); }},
      {k_copy_floor, "MB/s",
       "appending the masked text to an output buffer in 64 KiB pieces (mask_throughput's floor)",
       Kind::floor, false, 1,
       [](const Context& c) {
         return Outcome{{make_row(k_copy_floor, "MB/s", raw_copy_throughput(c.budget))}, {}};
       }},
      {"secret_with_bytes", "ns", "with_bytes on an idle 32-byte secret, the callback reads 2 bytes",
       Kind::scenario, true, 1, secret_with_bytes},
      {"secret_with_bytes_func", "ns", "with_bytes returning a value computed from all 32 bytes",
       Kind::scenario, false, 1, secret_with_bytes_func},
      {"final_sequential", "ns", "the final_parallel access loop on a single thread", Kind::scenario, false,
       1, final_sequential},
      {"final_parallel", "ns", "all CPUs (>= 2) on one shared secret: aggregate and per-thread ns per access",
       Kind::scenario, true, 2, final_parallel},
      {"alloc", "ns", "create_random(32) alone (closing untimed)", Kind::scenario, true, 1, alloc},
      {"protect", "ns", "what the guard adds to one access (guarded minus Guard::none, interleaved)",
       Kind::scenario, true, 1, protect},
      {"cleanup", "ns", "close() alone of an idle 32-byte secret (creation untimed)", Kind::scenario, true, 1,
       cleanup},
      {"concurrency", "ms", "4, 8, 16 threads x 1000 with_bytes on one shared secret: wall time",
       Kind::scenario, false, k_concurrency_threads.size(), concurrency},
      {"mask_throughput", "MB/s", "100 secrets of 16..64 bytes masked in log-like text, 64 KiB feeds",
       Kind::scenario, false, 1, mask_throughput},
      {"run_overhead", "ms", "smem run -s k=random:32 --fd 3=k -- /bin/true, and /bin/true bare",
       Kind::scenario, false, 1, run_overhead},
      {"create_close", "ns", "create_random(32) then close(): a secret's whole life", Kind::scenario, true, 1,
       create_close_scenario},
  };
  return all;
}

const Scenario* find_scenario(std::string_view name)
{
  for (const Scenario& scenario : scenarios()) {
    if (scenario.name == name) {
      return &scenario;
    }
  }
  return nullptr;
}

std::string matrix_row_name(std::string_view row, const Options& options)
{
  return std::string(row) + "[" + name(options.backend) + "," + name(options.guard) + "," +
         name(options.layout) + "]";
}

const char* name(Backend backend) noexcept
{
  switch (backend) {
  case Backend::automatic:
    return "automatic";
  case Backend::secretmem:
    return "secretmem";
  case Backend::mlock:
    return "mlock";
  }
  return "?";
}

const char* name(Guard guard) noexcept
{
  switch (guard) {
  case Guard::automatic:
    return "automatic";
  case Guard::pkey:
    return "pkey";
  case Guard::mprotect:
    return "mprotect";
  case Guard::none:
    return "none";
  }
  return "?";
}

const char* name(Layout layout) noexcept
{
  switch (layout) {
  case Layout::automatic:
    return "automatic";
  case Layout::isolated:
    return "isolated";
  case Layout::pooled:
    return "pooled";
  }
  return "?";
}

} // namespace smem::bench
