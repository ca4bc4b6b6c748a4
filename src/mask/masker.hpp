// The streaming masker (SPEC 1.1 "Masking", DESIGN.md "The masker"): bytes in, bytes out, no I/O.
// Every occurrence of a pattern of the table (a secret or one of its derived forms, see
// patterns.hpp) becomes `***`, leftmost-longest: scanning from the left, at each position the
// longest pattern that occurs there is replaced and the scan resumes after it. An occurrence that
// spans two feed() calls is masked like any other: the output of any split of a stream into feeds
// equals that of the whole stream in one feed (a flush() ends a stream: nothing spans it).
#pragma once

#include "mask/sink.hpp"
#include "mask/table.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace smem::mask {

// What replaces each occurrence.
inline constexpr std::string_view k_mask = "***";

// Masks one output stream. Not thread-safe (one per stream); any number of Maskers may share a
// table from any threads.
class Masker {
public:
  // A masker over `table` (non-null; an empty table makes it a pass-through).
  explicit Masker(std::shared_ptr<const MaskTable> table);
  // Wipes the bytes held back.
  ~Masker();
  Masker(const Masker&) = delete;
  Masker& operator=(const Masker&) = delete;
  // Moves the stream state, held bytes included; the moved-from masker holds nothing, and its
  // feed throws std::logic_error (it never passes bytes through unmasked).
  Masker(Masker&& other) noexcept;
  Masker& operator=(Masker&& other) noexcept;

  // Gives `sink` the masked output of everything fed so far that is decided: it holds back only
  // a tail that could still begin a match (then it is a proper prefix of a pattern, so at most
  // longest() - 1 bytes) and releases it as soon as it cannot. The table is read inside one
  // access for the whole call. Throws Error(Errc::closed) once the table is closed; an exception
  // from the sink propagates (the stream is then in an unspecified state).
  void feed(std::span<const std::byte> in, Sink& sink);
  // The same, appending the output to `out`.
  void feed(std::span<const std::byte> in, std::vector<std::byte>& out);

  // Gives `sink` everything held back, masked as the end of the stream (put() calls only); the
  // next feed starts afresh.
  void flush(Sink& sink);
  // The same, appending the output to `out`.
  void flush(std::vector<std::byte>& out);

  // How many bytes are held back now.
  [[nodiscard]] std::size_t held() const noexcept { return m_held; }

private:
  void keep(std::size_t from, std::size_t end) noexcept;

  std::shared_ptr<const MaskTable> m_table;
  // Ordinary memory (libsmem secrets are read-only once made): the held-back tail, then room for
  // the head of the next read so a match across the boundary is scanned in one piece. Wiped after
  // every use beyond the held bytes and on destruction; at most 2 * longest - 1 bytes.
  std::unique_ptr<std::byte[]> m_buffer;
  std::size_t m_capacity = 0;
  std::size_t m_held = 0;
};

} // namespace smem::mask
