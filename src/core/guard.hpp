// Guard: how an idle secret is made unreadable, and how a reader gets access.
//
// Two kinds of opening exist. A process-wide guard (mprotect) changes the pages' protection for
// every thread, so SecretCore opens it for the first concurrent reader and closes it after the
// last one (never one system call per access while accesses overlap). A per-thread guard (pkey,
// a later issue) opens for the calling thread only, on every access. Guard::none never closes.
#pragma once

#include <smem/options.hpp>

#include <cstddef>

namespace smem::detail {

class GuardImpl {
public:
  virtual ~GuardImpl() = default;

  [[nodiscard]] virtual Guard kind() const noexcept = 0;

  // Whether open_shared/close_shared must be called around the first/last concurrent reader.
  [[nodiscard]] virtual bool toggles() const noexcept = 0;

  // After the secret is written: make the pages read-only or inaccessible, as this guard keeps
  // them at rest. Throws Error(out_of_memory) if the kernel refuses.
  virtual void seal(std::byte* pages, std::size_t length) const = 0;

  // Make the pages readable for every thread (first reader). Throws on failure, having restored
  // the previous protection.
  virtual void open_shared(std::byte* pages, std::size_t length) const = 0;

  // Back to the at-rest protection (last reader). Returns false if the kernel refused; the pages
  // are then still readable and the caller must keep treating them as open.
  [[nodiscard]] virtual bool close_shared(std::byte* pages, std::size_t length) const noexcept = 0;

  // Make the pages writable for wiping at close. Returns false if the kernel refused.
  [[nodiscard]] virtual bool open_for_wipe(std::byte* pages, std::size_t length) const noexcept = 0;
};

const GuardImpl& mprotect_guard() noexcept;
const GuardImpl& none_guard() noexcept;

} // namespace smem::detail
