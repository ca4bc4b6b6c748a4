// The scan. Notation: m is the shortest pattern, q = 4 the q-gram length, s <= m - q + 1 the step
// (m - q + 1 capped at 64, see table.hpp).
//
// The scanner keeps `emit`, the first byte whose fate is undecided, and samples the input at
// k = emit + s - 1, emit + 2s - 1, ...: the sample at k "covers" the start positions
// [k - s + 1, k]. A pattern P occurring at j (|P| >= m) contains the q-gram at the covering sample
// k of j at offset k - j <= s - 1 (and k - j + q <= m <= |P|), and the table indexes exactly the
// q-grams at offsets 0..s-1 of every pattern. So a sample whose q-gram misses the filter proves
// that no pattern starts anywhere in its window; every pattern starting in a window is found as a
// hash-table candidate of its one sample, and is then verified byte by byte.
//
// Deciding a position j: a pattern occurs fully (its bytes all here) or partially (the input ends
// inside it and every byte so far agrees). A partial occurrence may still become the longest
// match at j, so the first position with a partial occurrence stops the scan, and the rest is
// held back. Positions too close to the end for their sample to be taken (fewer than m bytes left)
// cannot hold a full occurrence; the scan asks the sorted patterns whether the remaining bytes are
// the beginning of one. At the end of the stream (flush) nothing is partial.
//
// Speed: the sampling loop is bound by instructions per sample (about 2.5 cycles each). Where the
// CPU has AVX-512 VBMI and the step is at most 8 (short secrets: the slow case), the same samples
// are tested 16 at a time; the answers are the scalar loop's, so the rest of the scan is shared.
#include "mask/masker.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 warns inside its own AVX-512 headers (their undefined-register idiom), not about this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif

namespace smem::mask {
namespace {

using detail::TableView;

// A zeroing the optimizer may not drop, for memory that held output bytes (maybe secret ones).
void wipe(std::byte* p, std::size_t n) noexcept
{
  if (n == 0) {
    return;
  }
  std::memset(p, 0, n);
#if defined(__GNUC__)
  __asm__ __volatile__("" : : "r"(p) : "memory");
#else
  for (volatile std::byte* v = p; n-- > 0; ++v) {
    *v = std::byte{0};
  }
#endif
}

bool test_bit(const std::uint8_t* bits, std::uint64_t i) noexcept
{
  return ((bits[i >> 3] >> (i & 7)) & 1U) != 0;
}

std::uint32_t load4(const std::byte* p) noexcept
{
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::span<const std::byte> mask_bytes() noexcept
{
  return {reinterpret_cast<const std::byte*>(k_mask.data()), k_mask.size()};
}

// How a scan of the input itself reports to the sink: positions are the input's.
struct InputOut {
  Sink& sink;
  void literal(std::size_t from, std::size_t to) const
  {
    if (to > from) {
      sink.pass(to - from);
    }
  }
  void mask(std::size_t from, std::size_t to) const
  {
    sink.put(mask_bytes());
    sink.drop(to - from);
  }
};

// How a scan of the masker's buffer reports: its first `held` bytes were held back from earlier
// feeds (they are put), the rest is the head of the current input (passed or dropped).
struct BufferOut {
  Sink& sink;
  const std::byte* buffer;
  std::size_t held;
  void literal(std::size_t from, std::size_t to) const
  {
    if (from < held && to > from) {
      sink.put({buffer + from, std::min(to, held) - from});
    }
    if (to > held && to > from) {
      sink.pass(to - std::max(from, held));
    }
  }
  void mask(std::size_t from, std::size_t to) const
  {
    sink.put(mask_bytes());
    if (to > held) {
      sink.drop(to - std::max(from, held));
    }
  }
};

// Appends what a Sink is given to a vector (the feed/flush overloads that take one).
class VectorSink final : public Sink {
public:
  VectorSink(std::span<const std::byte> in, std::vector<std::byte>& out) : m_in(in), m_out(out) {}
  void pass(std::size_t n) override
  {
    m_out.insert(m_out.end(), m_in.data() + m_at, m_in.data() + m_at + n);
    m_at += n;
  }
  void drop(std::size_t n) override { m_at += n; }
  void put(std::span<const std::byte> bytes) override
  {
    m_out.insert(m_out.end(), bytes.begin(), bytes.end());
  }

private:
  std::span<const std::byte> m_in;
  std::vector<std::byte>& m_out;
  std::size_t m_at = 0;
};

// Whether some pattern begins with the `n` bytes at `p` (n < shortest, so none equals them).
bool could_begin(const TableView& t, const std::byte* p, std::size_t n) noexcept
{
  const auto first = std::to_integer<std::size_t>(p[0]);
  if (n == 1) {
    return test_bit(t.firsts, first);
  }
  if (!test_bit(t.pairs, first << 8 | std::to_integer<std::size_t>(p[1]))) {
    return false;
  }
  // The first pattern not less than p[0..n) has it as a prefix if any pattern does.
  const auto* found = std::lower_bound(t.records, t.records + t.count, 0, [&](const detail::Record& r, int) {
    const int c = std::memcmp(t.patterns + r.offset, p, std::min<std::size_t>(r.length, n));
    return c < 0 || (c == 0 && r.length < n);
  });
  return found != t.records + t.count && std::memcmp(t.patterns + found->offset, p, n) == 0;
}

// The hot loop on a vector unit: returns the first sample at or after k (stepping s) whose q-gram
// hits the filter, or where fewer than k_vector_reach bytes are left (the scalar loop goes on
// from there). Gives the scalar loop's answers (the bitmap read as 32-bit little-endian words), 16
// samples at a time; only for s <= 8.
using VectorAdvance = std::size_t (*)(const std::byte* b, std::size_t k, std::size_t end, std::size_t s,
                                      const std::uint8_t* bitmap, unsigned shift) noexcept;

constexpr std::size_t k_vector_max_step = 8;
constexpr std::size_t k_vector_reach = 128; // bytes read per 16 samples: 15 * 8 + 4 <= 128

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// AVX-512 (F, DQ, VBMI): two 64-byte loads and one byte permutation put the 16 q-grams in 16
// lanes; two 64-bit multiplies hash them exactly as hash_key does, and one gather reads their
// filter words.
[[gnu::target("avx512f,avx512dq,avx512vbmi")]] std::size_t advance_avx512(const std::byte* b, std::size_t k,
                                                                          std::size_t end, std::size_t s,
                                                                          const std::uint8_t* bitmap,
                                                                          unsigned shift) noexcept
{
  // Lane i takes bytes i*s .. i*s+3: i*s in every byte, plus 0, 1, 2, 3.
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i starts = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(static_cast<int>(s) * 0x01010101));
  const __m512i picks = _mm512_add_epi32(starts, _mm512_set1_epi32(0x03020100));
  const __m512i multiplier = _mm512_set1_epi64(static_cast<long long>(detail::k_hash_multiplier));
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(shift));
  const __m512i low5 = _mm512_set1_epi32(31);
  const __m512i one = _mm512_set1_epi32(1);
  const std::size_t advance = 16 * s;
  for (; k + k_vector_reach <= end; k += advance) {
    const __m512i keys =
        _mm512_permutex2var_epi8(_mm512_loadu_si512(b + k), picks, _mm512_loadu_si512(b + k + 64));
    const __m512i low = _mm512_cvtepu32_epi64(_mm512_castsi512_si256(keys));
    const __m512i high = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(keys, 1));
    const __m256i low_bits =
        _mm512_cvtepi64_epi32(_mm512_srl_epi64(_mm512_mullo_epi64(low, multiplier), count));
    const __m256i high_bits =
        _mm512_cvtepi64_epi32(_mm512_srl_epi64(_mm512_mullo_epi64(high, multiplier), count));
    const __m512i bits = _mm512_inserti64x4(_mm512_castsi256_si512(low_bits), high_bits, 1);
    const __m512i words = _mm512_i32gather_epi32(_mm512_srli_epi32(bits, 5), bitmap, 4);
    const __mmask16 hits =
        _mm512_test_epi32_mask(_mm512_srlv_epi32(words, _mm512_and_si512(bits, low5)), one);
    if (hits != 0) {
      return k + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(hits))) * s;
    }
  }
  return k;
}

VectorAdvance pick_vector_advance() noexcept
{
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vbmi")) {
    return &advance_avx512;
  }
  return nullptr;
}
#else
VectorAdvance pick_vector_advance() noexcept
{
  return nullptr;
}
#endif

// The vector loop this machine runs, or null.
VectorAdvance vector_advance() noexcept
{
  static const VectorAdvance chosen = pick_vector_advance();
  return chosen;
}

struct Decision {
  std::size_t position = std::numeric_limits<std::size_t>::max(); // leftmost position with an occurrence
  std::size_t length = 0;                                         // longest full occurrence there
  bool partial = false;                                           // a partial occurrence there
};

// Verifies the candidates of the sample at k (q-gram `key`, hash `hash`) in b[.., end).
Decision verify(const TableView& t, const std::byte* b, std::size_t end, bool final, std::size_t k,
                std::uint32_t key, std::uint64_t hash) noexcept
{
  Decision d;
  const std::uint64_t bucket = hash >> t.bucket_shift;
  for (std::uint32_t e = t.buckets[bucket], stop = t.buckets[bucket + 1]; e < stop; ++e) {
    const detail::Entry& entry = t.entries[e];
    if (entry.key != key) {
      continue;
    }
    const std::size_t j = k - (entry.ref & 0xffU);
    if (j > d.position) {
      continue;
    }
    const detail::Record& r = t.records[entry.ref >> 8];
    const std::byte* pattern = t.patterns + r.offset;
    const std::size_t available = end - j;
    bool full = false;
    bool partial = false;
    if (r.length <= available) {
      full = std::memcmp(b + j, pattern, r.length) == 0;
    } else if (!final) {
      partial = std::memcmp(b + j, pattern, available) == 0;
    }
    if (!full && !partial) {
      continue;
    }
    if (j < d.position) {
      d = Decision{j, 0, false};
    }
    if (partial) {
      d.partial = true;
    } else {
      d.length = std::max<std::size_t>(d.length, r.length);
    }
  }
  return d;
}

// Masks b[begin, end) up to the first position that is undecided (a partial occurrence, or the
// start of a tail that could begin a pattern) and returns that position (`end` when everything
// was decided), telling `out` in order which ranges are literal and which are masked. With
// `final`, the stream ends at `end`: all is decided.
template <class Out>
std::size_t scan(const TableView& t, const std::byte* b, std::size_t begin, std::size_t end, bool final,
                 const Out& out)
{
  const std::size_t s = t.step;
  const std::uint8_t* bitmap = t.bitmap;
  const unsigned bitmap_shift = t.bitmap_shift;
  const VectorAdvance advance = s <= k_vector_max_step ? vector_advance() : nullptr;
  std::size_t emit = begin;
  std::size_t k = begin + s - 1;
  for (;;) {
    // Sample every s bytes until a q-gram hits the filter (the hot loop).
    std::uint32_t key = 0;
    std::uint64_t hash = 0;
    bool hit = false;
    if (advance != nullptr) {
      k = advance(b, k, end, s, bitmap, bitmap_shift);
    }
    for (; k + detail::k_q <= end; k += s) {
      key = load4(b + k);
      hash = detail::hash_key(key);
      if (test_bit(bitmap, hash >> bitmap_shift)) {
        hit = true;
        break;
      }
    }
    if (!hit) {
      break;
    }
    const Decision d = verify(t, b, end, final, k, key, hash);
    if (d.position == std::numeric_limits<std::size_t>::max()) {
      k += s;
      continue;
    }
    out.literal(emit, d.position);
    if (d.partial) {
      return d.position;
    }
    out.mask(d.position, d.position + d.length);
    emit = d.position + d.length;
    k = emit + s - 1;
  }
  // Positions from k - s + 1 on were not covered by a sample: fewer than m bytes remain after each,
  // so only a partial occurrence can start there.
  if (!final) {
    for (std::size_t j = k - s + 1; j < end; ++j) {
      if (could_begin(t, b + j, end - j)) {
        out.literal(emit, j);
        return j;
      }
    }
  }
  out.literal(emit, end);
  return end;
}

} // namespace

Masker::Masker(std::shared_ptr<const MaskTable> table) : m_table(std::move(table))
{
  if (m_table->pattern_count() > 0) {
    // The held tail (< longest) plus the head of the next read (longest).
    m_capacity = 2 * m_table->longest() - 1;
    m_buffer = std::make_unique<std::byte[]>(m_capacity);
  }
}

Masker::~Masker()
{
  if (m_buffer) {
    wipe(m_buffer.get(), m_capacity);
  }
}

Masker::Masker(Masker&& other) noexcept
    : m_table(std::move(other.m_table)), m_buffer(std::move(other.m_buffer)),
      m_capacity(std::exchange(other.m_capacity, 0)), m_held(std::exchange(other.m_held, 0))
{
}

Masker& Masker::operator=(Masker&& other) noexcept
{
  if (this != &other) {
    if (m_buffer) {
      wipe(m_buffer.get(), m_capacity);
    }
    m_table = std::move(other.m_table);
    m_buffer = std::move(other.m_buffer);
    m_capacity = std::exchange(other.m_capacity, 0);
    m_held = std::exchange(other.m_held, 0);
  }
  return *this;
}

void Masker::keep(std::size_t from, std::size_t end) noexcept
{
  std::memmove(m_buffer.get(), m_buffer.get() + from, end - from);
  m_held = end - from;
  wipe(m_buffer.get() + m_held, end - m_held);
}

void Masker::feed(std::span<const std::byte> in, std::vector<std::byte>& out)
{
  VectorSink sink(in, out);
  feed(in, sink);
}

void Masker::feed(std::span<const std::byte> in, Sink& sink)
{
  if (!m_table) {
    // Passing bytes through here would show them unmasked: refuse loudly instead.
    throw std::logic_error("smem mask: feed on a moved-from Masker");
  }
  if (in.empty()) {
    return;
  }
  if (!m_buffer) {
    sink.pass(in.size());
    return;
  }
  m_table->with_view([&](const TableView& t) {
    std::size_t from = 0;
    if (m_held > 0) {
      // The held tail and the head of `in`, scanned in one piece. Taking `longest` bytes of `in`
      // decides every held position: an undecided one would need a pattern longer than that.
      const std::size_t head = std::min(in.size(), t.longest);
      std::memcpy(m_buffer.get() + m_held, in.data(), head);
      const std::size_t end = m_held + head;
      const std::size_t stop =
          scan(t, m_buffer.get(), 0, end, false, BufferOut{sink, m_buffer.get(), m_held});
      if (head == in.size()) {
        // The undecided rest of `in` stays in the buffer.
        if (end > std::max(stop, m_held)) {
          sink.drop(end - std::max(stop, m_held));
        }
        keep(stop, end);
        return;
      }
      assert(stop >= m_held);
      from = stop - m_held;
      wipe(m_buffer.get(), end);
      m_held = 0;
    }
    const std::size_t stop = scan(t, in.data(), from, in.size(), false, InputOut{sink});
    if (stop < in.size()) {
      sink.drop(in.size() - stop);
    }
    m_held = in.size() - stop;
    std::memcpy(m_buffer.get(), in.data() + stop, m_held);
  });
}

void Masker::flush(std::vector<std::byte>& out)
{
  VectorSink sink({}, out);
  flush(sink);
}

void Masker::flush(Sink& sink)
{
  if (m_held == 0) {
    return;
  }
  m_table->with_view([&](const TableView& t) {
    scan(t, m_buffer.get(), 0, m_held, true, BufferOut{sink, m_buffer.get(), m_held});
  });
  wipe(m_buffer.get(), m_held);
  m_held = 0;
}

} // namespace smem::mask
