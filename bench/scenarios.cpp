#include "bench/scenarios.hpp"

#include <smem/smem.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <cerrno>
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

// Results land here so the compiler cannot drop the work that produced them.
std::atomic<unsigned> g_sink{0};

// The work a callback does: touch the secret's first and last byte, as any real use would.
unsigned touch(std::span<const std::byte> bytes) noexcept
{
  return std::to_integer<unsigned>(bytes.front()) ^ std::to_integer<unsigned>(bytes.back());
}

template <class Op>
std::chrono::nanoseconds time_batch(Op& op, std::size_t n)
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
template <class Round>
std::size_t calibrate(Round& round, const Budget& budget)
{
  std::size_t n = 1;
  for (;;) {
    const auto elapsed = round(n);
    if (elapsed >= budget.batch_time || n >= k_max_batch) {
      return n;
    }
    const double ratio = static_cast<double>(budget.batch_time.count()) /
                         static_cast<double>(std::max<std::int64_t>(elapsed.count(), 1));
    // At least double (timer noise on tiny batches), at most x16 per step, a little over target.
    const double factor = std::clamp(ratio * 1.1, 2.0, 16.0);
    n = std::min(k_max_batch, static_cast<std::size_t>(static_cast<double>(n) * factor));
  }
}

// Calibrates, warms up and samples `round`, where round(n) performs n operations and returns the
// elapsed time; `per_round` is how many operations one unit of n stands for (threads).
template <class Round>
Samples sample(Round round, const Budget& budget, std::size_t per_round = 1)
{
  Samples result;
  result.batch = calibrate(round, budget);
  for (std::size_t i = 0; i < budget.warmup_batches; ++i) {
    (void)round(result.batch);
  }
  result.ns_per_op.reserve(budget.samples);
  const double ops = static_cast<double>(result.batch * per_round);
  for (std::size_t i = 0; i < budget.samples; ++i) {
    result.ns_per_op.push_back(static_cast<double>(round(result.batch).count()) / ops);
  }
  return result;
}

template <class Op>
Samples sample_op(Op op, const Budget& budget)
{
  return sample([&op](std::size_t n) { return time_batch(op, n); }, budget);
}

[[noreturn]] void throw_errno(const char* what)
{
  throw std::system_error(errno, std::generic_category(), what);
}

// Runs `threads` workers that each do n accesses per round, all released together by a barrier.
class ThreadedRounds {
public:
  ThreadedRounds(const Secret& secret, unsigned threads)
      : m_secret(secret), m_starts(threads), m_ends(threads), m_sync(static_cast<std::ptrdiff_t>(threads) + 1)
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

  // One round of n accesses per thread; the wall time from the first start to the last finish.
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
      // accesses really overlap from the start.
      m_ready.fetch_add(1, std::memory_order_acq_rel);
      while (m_ready.load(std::memory_order_acquire) < m_starts.size()) {
        std::this_thread::yield();
      }
      unsigned acc = 0;
      m_starts[t] = Clock::now();
      try {
        for (std::size_t i = 0; i < m_batch; ++i) {
          acc += m_secret.with_bytes(touch);
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

  const Secret& m_secret;
  std::vector<Clock::time_point> m_starts;
  std::vector<Clock::time_point> m_ends;
  std::barrier<> m_sync;
  std::size_t m_batch = 0;         // written by the main thread before the start barrier
  std::atomic<std::size_t> m_ready{0};
  std::atomic<bool> m_stop{false};
  std::mutex m_error_mutex;
  std::exception_ptr m_error;
  std::vector<std::thread> m_workers;
};

} // namespace

Budget quick_budget() noexcept
{
  return Budget{.batch_time = std::chrono::milliseconds(1), .samples = 40, .warmup_batches = 2};
}

Budget full_budget() noexcept
{
  return Budget{.batch_time = std::chrono::milliseconds(2), .samples = 1000, .warmup_batches = 10};
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
  ThreadedRounds rounds(secret, threads);
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

const std::vector<Scenario>& scenarios()
{
  static const std::vector<Scenario> all{
      {"raw_mprotect_pair", "mprotect NONE->READ->NONE pair on one locked page", false,
       [](const Options&, const Budget& b) { return raw_mprotect_pair(b); }},
      {"raw_syscall", "getppid() system call", false,
       [](const Options&, const Budget& b) { return raw_syscall(b); }},
      {"secret_with_bytes", "with_bytes on a 32-byte secret, one thread", true,
       [](const Options& o, const Budget& b) { return with_bytes_single(o, b); }},
      {"with_bytes_2_threads", "with_bytes on one 32-byte secret from 2 threads (ns per access)", true,
       [](const Options& o, const Budget& b) { return with_bytes_threads(o, 2, b); }},
      {"create_close_32", "create + close of a 32-byte secret", true,
       [](const Options& o, const Budget& b) { return create_close(o, 32, b); }},
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

} // namespace smem::bench
