#include "mask/table.hpp"

#include "mask/patterns.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>

namespace smem::mask {
namespace {

using detail::Entry;
using detail::Record;

static_assert(std::endian::native == std::endian::little, "q-gram keys are read as little-endian words");

using detail::k_max_step;
using detail::k_q;

// Filter bits per entry: the chance that a sample of text holding no pattern hits the filter is
// about 1/32 (at most 1/16 after rounding to a power of two), from 8 KiB up to 128 KiB: the size
// for 100 secrets (64 KiB) measured as fast as 32 KiB, and 1000 secrets gained from 128 KiB.
constexpr std::size_t k_filter_bits_per_entry = 32;
constexpr unsigned k_min_bitmap_bits = 16;
constexpr unsigned k_max_bitmap_bits = 20;
// Entries per bucket of the q-gram hash table, on average (it is only looked at on a filter hit).
constexpr std::size_t k_bucket_load = 2;
constexpr std::size_t k_alignment = 64;
// Entry::ref holds a record number in its top 24 bits.
constexpr std::size_t k_max_records = std::size_t{1} << 24;

std::size_t align_up(std::size_t n, std::size_t a)
{
  return (n + a - 1) / a * a;
}

unsigned log2_at_least(std::size_t n)
{
  return n <= 1 ? 0 : static_cast<unsigned>(std::bit_width(n - 1));
}

// The first 64-byte aligned address at or after `p`: the table does not depend on where the
// layout puts a secret's bytes (an isolated secret ends against its guard page).
const std::byte* aligned_origin(const std::byte* p)
{
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  return p + (align_up(address, k_alignment) - address);
}

std::byte* aligned_origin(std::byte* p)
{
  return const_cast<std::byte*>(aligned_origin(static_cast<const std::byte*>(p)));
}

std::uint32_t gram_key(const std::byte* p)
{
  std::uint32_t key = 0;
  std::memcpy(&key, p, k_q);
  return key;
}

void set_bit(std::uint8_t* bits, std::size_t i)
{
  bits[i >> 3] = static_cast<std::uint8_t>(bits[i >> 3] | (1U << (i & 7)));
}

// Hands out byte offsets, each region 64-byte aligned.
class Placer {
public:
  std::size_t place(std::size_t bytes)
  {
    const std::size_t here = m_at;
    m_at = align_up(m_at + bytes, k_alignment);
    return here;
  }
  // The secret's size: everything, plus room to align the origin.
  [[nodiscard]] std::size_t total() const noexcept { return m_at + k_alignment; }

private:
  std::size_t m_at = 0;
};

// The patterns to write for each secret, in order.
struct Plan {
  std::vector<std::vector<PatternSpec>> specs; // per secret (empty when skipped)
  std::size_t count = 0;
  std::size_t bytes = 0;
};

Plan plan_patterns(std::span<const Secret* const> secrets, const TableOptions& options,
                   std::vector<std::size_t>& skipped, std::vector<std::size_t>& unencoded)
{
  Plan plan;
  plan.specs.resize(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i]->size() < k_min_masked) {
      skipped.push_back(i);
      continue;
    }
    if (secrets[i]->size() >= k_min_encoded && secrets[i]->size() > options.encode_limit) {
      unencoded.push_back(i);
    }
    plan.specs[i] = secrets[i]->with_bytes(
        [&](std::span<const std::byte> bytes) { return describe_patterns(bytes, options.encode_limit); });
    for (const PatternSpec& spec : plan.specs[i]) {
      ++plan.count;
      plan.bytes += spec.length;
    }
  }
  if (plan.bytes > std::numeric_limits<std::uint32_t>::max()) {
    throw Error(Errc::too_large, "the secrets' masking patterns exceed 4 GiB");
  }
  return plan;
}

// Lexicographic byte order of two patterns (a proper prefix sorts first).
int compare_patterns(const std::byte* patterns, const Record& a, const Record& b)
{
  const int c = std::memcmp(patterns + a.offset, patterns + b.offset, std::min(a.length, b.length));
  return c != 0 ? c : (a.length < b.length ? -1 : (a.length > b.length ? 1 : 0));
}

} // namespace

std::shared_ptr<MaskTable> MaskTable::build(const SecretFactory& factory,
                                            std::span<const Secret* const> secrets,
                                            const TableOptions& options)
{
  std::shared_ptr<MaskTable> table(new MaskTable());
  const Plan plan = plan_patterns(secrets, options, table->m_skipped, table->m_unencoded);
  if (plan.count == 0) {
    return table;
  }
  if (plan.count >= k_max_records) {
    throw Error(Errc::too_large, "the secrets have more than 2^24 masking patterns");
  }
  std::size_t shortest = std::numeric_limits<std::size_t>::max();
  std::size_t longest = 0;
  for (const auto& specs : plan.specs) {
    for (const PatternSpec& spec : specs) {
      shortest = std::min(shortest, spec.length);
      longest = std::max(longest, spec.length);
    }
  }
  const std::size_t step = std::min(shortest - k_q + 1, k_max_step);
  // Sized for every pattern; duplicates across secrets (rare: describe_patterns already leaves
  // out a secret's forms that repeat) only leave some room unused.
  const std::size_t entry_count = plan.count * step;

  Layout& l = table->m_layout;
  l.bucket_bits = std::max(1U, log2_at_least(entry_count / k_bucket_load));
  l.bitmap_bits =
      std::clamp(log2_at_least(entry_count * k_filter_bits_per_entry), k_min_bitmap_bits, k_max_bitmap_bits);
  const std::size_t bucket_count = std::size_t{1} << l.bucket_bits;
  Placer placer;
  l.records = placer.place(plan.count * sizeof(Record));
  l.entries = placer.place(entry_count * sizeof(Entry));
  l.buckets = placer.place((bucket_count + 1) * sizeof(std::uint32_t));
  l.bitmap = placer.place((std::size_t{1} << l.bitmap_bits) / 8);
  l.pairs = placer.place(65536 / 8);
  l.firsts = placer.place(256 / 8);
  l.patterns = placer.place(plan.bytes);
  l.total = placer.total();

  std::size_t distinct = 0;
  table->m_secret = factory.create_with(l.total, [&](std::span<std::byte> memory) {
    std::byte* origin = aligned_origin(memory.data());
    auto* records = reinterpret_cast<Record*>(origin + l.records);
    auto* entries = reinterpret_cast<Entry*>(origin + l.entries);
    auto* buckets = reinterpret_cast<std::uint32_t*>(origin + l.buckets);
    auto* bitmap = reinterpret_cast<std::uint8_t*>(origin + l.bitmap);
    auto* pairs = reinterpret_cast<std::uint8_t*>(origin + l.pairs);
    auto* firsts = reinterpret_cast<std::uint8_t*>(origin + l.firsts);
    std::byte* patterns = origin + l.patterns;

    // 1. Every pattern, written straight from each secret's protected bytes.
    std::size_t record = 0;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < secrets.size(); ++i) {
      if (plan.specs[i].empty()) {
        continue;
      }
      secrets[i]->with_bytes([&](std::span<const std::byte> bytes) {
        for (const PatternSpec& spec : plan.specs[i]) {
          write_pattern(spec, bytes, {patterns + offset, spec.length});
          records[record++] =
              Record{static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(spec.length)};
          offset += spec.length;
        }
      });
    }
    // 2. Records sorted by their patterns' bytes, duplicates dropped (in place: the order is
    // secret-derived too).
    std::sort(records, records + plan.count,
              [&](const Record& a, const Record& b) { return compare_patterns(patterns, a, b) < 0; });
    distinct = static_cast<std::size_t>(
        std::unique(records, records + plan.count,
                    [&](const Record& a, const Record& b) { return compare_patterns(patterns, a, b) == 0; }) -
        records);
    // 3. Prefix bitmaps, the q-gram filter, and the entries counted per bucket (in buckets[b + 1]).
    const unsigned bucket_shift = 64 - l.bucket_bits;
    const unsigned bitmap_shift = 64 - l.bitmap_bits;
    for (std::size_t u = 0; u < distinct; ++u) {
      const std::byte* p = patterns + records[u].offset;
      set_bit(firsts, std::to_integer<std::size_t>(p[0]));
      set_bit(pairs, std::to_integer<std::size_t>(p[0]) << 8 | std::to_integer<std::size_t>(p[1]));
      for (std::size_t shift = 0; shift < step; ++shift) {
        const std::uint64_t hash = detail::hash_key(gram_key(p + shift));
        set_bit(bitmap, hash >> bitmap_shift);
        ++buckets[(hash >> bucket_shift) + 1];
      }
    }
    std::partial_sum(buckets, buckets + bucket_count + 1, buckets);
    // 4. Entries placed by bucket: buckets[b] serves as b's cursor, ends as b + 1's start, and
    // is shifted back.
    for (std::size_t u = 0; u < distinct; ++u) {
      const std::byte* p = patterns + records[u].offset;
      for (std::size_t shift = 0; shift < step; ++shift) {
        const std::uint32_t key = gram_key(p + shift);
        const std::uint64_t bucket = detail::hash_key(key) >> bucket_shift;
        entries[buckets[bucket]++] = Entry{key, static_cast<std::uint32_t>(u << 8 | shift)};
      }
    }
    std::copy_backward(buckets, buckets + bucket_count, buckets + bucket_count + 1);
    buckets[0] = 0;
  });
  table->m_size = l.total;
  table->m_distinct = distinct;
  table->m_longest = longest;
  table->m_shortest = shortest;
  table->m_step = step;
  return table;
}

void MaskTable::close()
{
  if (m_secret) {
    m_secret->close();
  }
}

detail::TableView MaskTable::view(std::span<const std::byte> bytes) const noexcept
{
  const std::byte* origin = aligned_origin(bytes.data());
  const Layout& l = m_layout;
  detail::TableView v{};
  v.patterns = origin + l.patterns;
  v.records = reinterpret_cast<const Record*>(origin + l.records);
  v.count = m_distinct;
  v.entries = reinterpret_cast<const Entry*>(origin + l.entries);
  v.buckets = reinterpret_cast<const std::uint32_t*>(origin + l.buckets);
  v.bitmap = reinterpret_cast<const std::uint8_t*>(origin + l.bitmap);
  v.pairs = reinterpret_cast<const std::uint8_t*>(origin + l.pairs);
  v.firsts = reinterpret_cast<const std::uint8_t*>(origin + l.firsts);
  v.bitmap_shift = 64 - l.bitmap_bits;
  v.bucket_shift = 64 - l.bucket_bits;
  v.step = m_step;
  v.shortest = m_shortest;
  v.longest = m_longest;
  return v;
}

} // namespace smem::mask
