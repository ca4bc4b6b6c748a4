// The masker's pattern table: every pattern of every delivered secret (see patterns.hpp), with
// the index the scanner uses, built in place inside one libsmem Secret so it is locked, unreadable
// at rest and wiped like the secrets it derives from. Immutable once built; one table serves the
// Maskers of every output stream (stdout and stderr are masked separately).
//
// The index (design notes in masker.cpp):
//   - q-gram filter: m is the shortest pattern, q = 4 and s = min(m - q + 1, 64). Every
//     occurrence of a pattern contains, at one of its offsets 0..s-1, the q-gram that starts at a
//     point of any grid of step s laid over the input, so the scanner samples the input every s
//     bytes and tests one bit of a small bitmap (a hash of the q-gram) per sample;
//   - a hash table from those q-grams to (pattern, offset) entries, to verify a sample that hits;
//   - the distinct patterns sorted by their bytes, plus bitmaps of first bytes and first byte
//     pairs, to tell whether the last few bytes of a read could begin a pattern (the hold-back).
//
// Building sizes the table from the patterns' lengths, then writes every pattern straight from
// the secrets into the table's Secret and sorts, deduplicates and indexes them there: no pattern
// byte, q-gram, hash or sort order ever sits in ordinary memory.
#pragma once

#include <smem/smem.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace smem::mask {

// How the table is built.
struct TableOptions {
  // Secrets longer than this many bytes get no encoded forms (their bytes and lines are still
  // masked), and unencoded() lists them. With every form, a table takes about 25 times a large
  // secret's size in locked memory (1 MiB of secret: 24 MiB), and each feed() opens all of it
  // (mprotect: ~13 us per MiB). The default keeps every form, as SPEC 1.1 says.
  std::size_t encode_limit = SIZE_MAX;
};

namespace detail {

// The q-gram length: every pattern has at least k_min_masked = 4 bytes, and a 4-byte gram of a
// secret rarely occurs in ordinary text.
inline constexpr std::size_t k_q = 4;
// The largest sampling step used (the step may be anything up to m - q + 1; capping it bounds the
// index to 64 entries per pattern, however long the pattern).
inline constexpr std::size_t k_max_step = 64;

// Where pattern number i lives inside the table. Records are sorted by their patterns' bytes.
struct Record {
  std::uint32_t offset;
  std::uint32_t length;
};

// One q-gram of one pattern: `key` is its 4 bytes as a little-endian word, found at byte
// `ref & 0xff` of the pattern of record `ref >> 8`.
struct Entry {
  std::uint32_t key;
  std::uint32_t ref;
};

// Read access to a table's memory for the length of one MaskTable::with_view call.
struct TableView {
  const std::byte* patterns;    // all pattern bytes; Record offsets are relative to this
  const Record* records;        // one per distinct pattern, in byte order
  std::size_t count;            // how many records
  const Entry* entries;         // grouped by bucket
  const std::uint32_t* buckets; // bucket b holds entries [buckets[b], buckets[b + 1])
  const std::uint8_t* bitmap;   // q-gram filter: bit (hash >> bitmap_shift)
  const std::uint8_t* pairs;    // bit (first << 8 | second) set for each pattern's first two bytes
  const std::uint8_t* firsts;   // bit b set for each pattern's first byte
  unsigned bitmap_shift;
  unsigned bucket_shift;
  std::size_t step;     // s: the sampling step, at most shortest - q + 1
  std::size_t shortest; // m
  std::size_t longest;
};

// The multiplier of the q-gram hash (Fibonacci hashing; masker.cpp's vector path uses it too).
inline constexpr std::uint64_t k_hash_multiplier = 0x9E3779B97F4A7C15ULL;

// The hash of a q-gram key; the filter and the buckets use its top bits.
inline constexpr std::uint64_t hash_key(std::uint32_t key) noexcept
{
  return std::uint64_t{key} * k_hash_multiplier;
}

} // namespace detail

// The immutable, shareable pattern table of a set of secrets, held in libsmem memory.
class MaskTable {
public:
  // Builds the table of `secrets` (non-null; each read inside with_bytes, none kept or copied
  // out of protected memory) with `factory`. Secrets shorter than k_min_masked are skipped
  // (skipped()); patterns shared by several secrets are kept once.
  // Throws smem::Error as SecretFactory and Secret do (e.g. Errc::closed, Errc::memlock_limit).
  static std::shared_ptr<MaskTable> build(const SecretFactory& factory,
                                          std::span<const Secret* const> secrets,
                                          const TableOptions& options = {});

  // Indexes into build()'s `secrets` of those not masked at all because they are too short.
  [[nodiscard]] const std::vector<std::size_t>& skipped() const noexcept { return m_skipped; }
  // Indexes of secrets masked without their encoded forms (longer than encode_limit).
  [[nodiscard]] const std::vector<std::size_t>& unencoded() const noexcept { return m_unencoded; }
  // How many distinct patterns the table holds; 0 means a Masker passes everything through.
  [[nodiscard]] std::size_t pattern_count() const noexcept { return m_distinct; }
  // The longest pattern's length (0 when there is none): a Masker holds back at most this - 1 bytes.
  [[nodiscard]] std::size_t longest() const noexcept { return m_longest; }
  // The shortest pattern's length (0 when there is none); it sets the scanner's sampling step.
  [[nodiscard]] std::size_t shortest() const noexcept { return m_shortest; }
  // The bytes of protected memory the table occupies.
  [[nodiscard]] std::size_t memory_size() const noexcept { return m_size; }

  // Wipes and frees the table now (the destructor does it too); Maskers using it then throw
  // Error(Errc::closed) from feed and flush. Idempotent; thread-safe like Secret::close.
  void close();

  // Calls f(const detail::TableView&) with the table readable for the call's duration. Only for
  // non-empty tables. Throws Error(Errc::closed) after close().
  template <class F> decltype(auto) with_view(F&& f) const
  {
    return m_secret->with_bytes([&](std::span<const std::byte> bytes) { return f(view(bytes)); });
  }

  MaskTable(const MaskTable&) = delete;
  MaskTable& operator=(const MaskTable&) = delete;
  ~MaskTable() = default;

private:
  // Byte offsets from the table's 64-byte aligned origin.
  struct Layout {
    std::size_t records = 0, entries = 0, buckets = 0, bitmap = 0, pairs = 0, firsts = 0, patterns = 0;
    std::size_t total = 0;
    unsigned bitmap_bits = 0, bucket_bits = 0;
  };

  MaskTable() = default;
  [[nodiscard]] detail::TableView view(std::span<const std::byte> bytes) const noexcept;

  std::optional<Secret> m_secret;
  Layout m_layout;
  std::size_t m_size = 0;
  std::size_t m_distinct = 0;
  std::size_t m_longest = 0;
  std::size_t m_shortest = 0;
  std::size_t m_step = 0;
  std::vector<std::size_t> m_skipped;
  std::vector<std::size_t> m_unencoded;
};

} // namespace smem::mask
