// Layout::pooled: small secrets share locked arenas, one size-class slot each.
//
//   arena = | guard page | page | page | ... | guard page |      (one backend mapping)
//   page  = | slot | slot | ... | slot | unused |                (slots never straddle pages)
//   slot  = | canary (16 B) | secret bytes | zero padding to the class size |
//
// Mapping, locking, MADV_DONTDUMP and MADV_DONTFORK/WIPEONFORK happen once per arena (the
// backend's map), so creating and closing a secret is a free-list operation plus a wipe: no system
// call with Guard::pkey or Guard::none. With Guard::mprotect the page holding the slot is made
// writable while the secret is written or wiped and readable while it is read, counted per page
// because neighbouring secrets share it (gate.cpp).
//
// Every free slot keeps the canary, checked when the slot is taken and when it is freed, and a
// freed secret's padding must still be zero: an overflow out of one slot or into the next is
// caught at the latest when either is closed, and the process aborts.
//
// Arenas belong to shards (a thread always uses the same shard), so threads creating and closing
// secrets do not serialize on one lock; a slot goes back to its own arena's shard. A shard's arenas
// for one class grow from 4 to 64 pages as the class fills up (one page each under Guard::mprotect,
// see grow()), and an empty arena is returned to
// the backend unless it is the class's last one with free slots. When the memlock limit refuses a
// new arena, smaller ones are tried down to one page before Errc::memlock_limit is thrown.
#include "core/layout.hpp"

#include "core/backend_common.hpp"
#include "core/gate.hpp"
#include "core/page.hpp"
#include "core/registry.hpp"
#include "core/strategies.hpp"

#include <smem/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <new>
#include <sodium.h>
#include <vector>

namespace smem::detail {
namespace {

constexpr std::array<std::size_t, 12> k_class_sizes = {16,  32,  48,  64,  96,  128,
                                                       192, 256, 384, 512, 768, 1024};
static_assert(k_class_sizes.back() == k_pooled_max_size);
constexpr std::size_t k_shards = 8;
constexpr std::size_t k_min_arena_pages = 4;
constexpr std::size_t k_max_arena_pages = 64;

std::size_t class_of(std::size_t size) noexcept
{
  return static_cast<std::size_t>(std::lower_bound(k_class_sizes.begin(), k_class_sizes.end(), size) -
                                  k_class_sizes.begin());
}

std::atomic<std::size_t> g_arenas{0};
std::atomic<std::size_t> g_slots_in_use{0};

struct Shard;

struct Arena {
  Shard* shard = nullptr;
  std::size_t cls = 0;
  std::size_t slot_size = 0; // canary + class size
  std::size_t slots_per_page = 0;
  std::size_t slot_count = 0;
  Mapping mapping;
  PageShare share;
  std::vector<std::uint16_t> free; // indices of free slots, a stack
  bool listed = false;             // in the shard's list of arenas with free slots
  RegistrySlot registered;

  [[nodiscard]] std::byte* slot(std::size_t index) const noexcept
  {
    return mapping.data + index / slots_per_page * page_size() + index % slots_per_page * slot_size;
  }
  [[nodiscard]] std::size_t index_of(const std::byte* slot) const noexcept
  {
    const auto offset = static_cast<std::size_t>(slot - mapping.data);
    return offset / page_size() * slots_per_page + offset % page_size() / slot_size;
  }
};

struct Shard {
  std::mutex mutex;
  std::array<std::vector<Arena*>, k_class_sizes.size()> with_free; // arenas with a free slot
  std::array<std::size_t, k_class_sizes.size()> pages{};           // data pages mapped per class
};

struct Pool {
  std::array<Shard, k_shards> shards;
};

// One pool per (backend, guard, lock policy): an arena's protection and locking are decided once,
// when it is mapped, so secrets made under different options never share one.
constexpr std::size_t k_pools = 2 * 3 * 2;
Pool* pools() noexcept
{
  static Pool* const all = new Pool[k_pools]; // never freed: secrets may outlive static destructors
  return all;
}

Pool& pool_for(const Strategies& s) noexcept
{
  const std::size_t backend = s.backend->kind() == Backend::mlock ? 1 : 0;
  const std::size_t guard = s.guard->kind() == Guard::pkey ? 0 : s.guard->kind() == Guard::mprotect ? 1 : 2;
  const std::size_t lock = s.lock_failure == LockFailure::warn ? 1 : 0;
  return pools()[(backend * 3 + guard) * 2 + lock];
}

std::atomic<unsigned> g_next_shard{0};

Shard& my_shard(Pool& pool) noexcept
{
  thread_local const unsigned index = g_next_shard.fetch_add(1, std::memory_order_relaxed) % k_shards;
  return pool.shards[index];
}

[[noreturn]] void corrupted() noexcept
{
  fatal("smem: fatal: the canary or padding around a pooled secret was overwritten (a buffer overflow "
        "next to secret memory); aborting before anything else reads corrupted memory\n");
}

void prepare_arena(const Strategies& s, Arena& arena, std::size_t pages);

// Makes a whole arena writable and wipes it, canaries included (the backend hands its pages out
// again and must find zeros). Returns false, changing nothing, if it cannot be made writable.
bool wipe_whole(const GuardImpl& guard, const Arena& arena) noexcept
{
  if (!guard.per_thread() && !guard.protect(arena.mapping.data, arena.mapping.data_length, Access::write)) {
    return false;
  }
  const std::uint32_t ticket = guard.grant(Access::write); // per-thread guards only; else 0
  sodium_memzero(arena.mapping.data, arena.mapping.data_length);
  guard.restore(ticket);
  return true;
}

// Maps an arena of `pages` data pages, canaries written and protected as the guard keeps it.
Arena* map_arena(const Strategies& s, Shard& shard, std::size_t cls, std::size_t pages)
{
  auto arena = std::make_unique<Arena>();
  arena->shard = &shard;
  arena->cls = cls;
  arena->slot_size = k_canary_size + k_class_sizes[cls];
  arena->slots_per_page = page_size() / arena->slot_size;
  arena->slot_count = arena->slots_per_page * pages;
  arena->mapping = s.backend->map(pages, s.lock_failure);
  try {
    prepare_arena(s, *arena, pages);
  } catch (...) {
    if (wipe_whole(*s.guard, *arena)) {
      (void)s.backend->unmap(arena->mapping);
    }
    throw;
  }
  arena->registered = registry_add(arena->mapping.data, arena->mapping.data_length);
  g_arenas.fetch_add(1, std::memory_order_relaxed);
  return arena.release();
}

// Writes the canaries of a fresh arena's slots and protects it as the guard keeps it at rest.
void prepare_arena(const Strategies& s, Arena& arena, std::size_t pages)
{
  arena.share.first_page = arena.mapping.data;
  arena.share.pages = std::make_unique<PageShare::Use[]>(pages);
  arena.free.resize(arena.slot_count);
  for (std::size_t i = 0; i < arena.slot_count; ++i) {
    arena.free[i] = static_cast<std::uint16_t>(arena.slot_count - 1 - i); // lowest index on top
    std::memcpy(arena.slot(i), canary(), k_canary_size);
  }
  const GuardImpl& guard = *s.guard;
  guard.tag(arena.mapping.data, arena.mapping.data_length);
  // Guard::none leaves arenas writable (see options.hpp); mprotect hides them.
  const Access at_rest = guard.at_rest() == Access::none ? Access::none : Access::write;
  if (!guard.protect(arena.mapping.data, arena.mapping.data_length, at_rest)) {
    throw_errno(Errc::out_of_memory, "cannot protect secret memory");
  }
  for (std::size_t i = 0; i < pages; ++i) {
    arena.share.pages[i].current = at_rest;
  }
}

// A new arena for `cls`, growing with the class; smaller ones when the memlock limit refuses.
// Under Guard::mprotect every arena is one page: protecting a page inside a larger mapping splits
// it into three and merges it back, which doubles the cost of every access, while a whole mapping
// changes in place. The mapping count still grows per arena (85 secrets of 32 bytes per page).
Arena* grow(const Strategies& s, Shard& shard, std::size_t cls)
{
  std::size_t pages =
      toggles(*s.guard) ? 1 : std::clamp(shard.pages[cls], k_min_arena_pages, k_max_arena_pages);
  for (;;) {
    try {
      Arena* arena = map_arena(s, shard, cls, pages);
      shard.pages[cls] += pages;
      return arena;
    } catch (const Error& e) {
      if (e.code() != Errc::memlock_limit || pages == 1) {
        throw;
      }
      pages /= 2;
    }
  }
}

// Wipes an empty arena whole and gives it back. Returns false, changing nothing, if it cannot be
// made writable.
bool unmap_arena(const Strategies& s, Arena* arena) noexcept
{
  if (!wipe_whole(*s.guard, *arena)) {
    return false;
  }
  registry_remove(arena->registered);
  g_arenas.fetch_sub(1, std::memory_order_relaxed);
  (void)s.backend->unmap(arena->mapping); // a refusal leaves wiped pages mapped: nothing to do
  delete arena;
  return true;
}

class PooledLayout final : public LayoutImpl {
public:
  [[nodiscard]] Layout kind() const noexcept override { return Layout::pooled; }

  [[nodiscard]] Allocation allocate(const Strategies& s, std::size_t size) const override
  {
    if (size > k_pooled_max_size) {
      return isolated_layout().allocate(s, size);
    }
    const std::size_t cls = class_of(size);
    Shard& shard = my_shard(pool_for(s));
    Arena* arena = nullptr;
    std::size_t index = 0;
    {
      std::lock_guard lock(shard.mutex);
      std::vector<Arena*>& with_free = shard.with_free[cls];
      if (with_free.empty()) {
        with_free.push_back(grow(s, shard, cls));
        with_free.back()->listed = true;
      }
      arena = with_free.back();
      index = arena->free.back();
      arena->free.pop_back();
      if (arena->free.empty()) {
        with_free.pop_back();
        arena->listed = false;
      }
    }
    std::byte* slot = arena->slot(index);
    Allocation a;
    a.arena = arena;
    a.share = &arena->share;
    a.pages = arena->mapping.data + (index / arena->slots_per_page) * page_size();
    a.pages_length = page_size();
    a.data = slot + k_canary_size;
    a.size = size;
    try {
      a.write_ticket = gate_open(*s.guard, a, Access::write);
    } catch (...) {
      give_back(s, arena, index);
      throw;
    }
    if (sodium_memcmp(slot, canary(), k_canary_size) != 0) {
      corrupted(); // the slot before overflowed into this free one
    }
    g_slots_in_use.fetch_add(1, std::memory_order_relaxed);
    return a;
  }

  void seal(const Strategies& s, Allocation& a) const override
  {
    if (a.arena == nullptr) {
      isolated_layout().seal(s, a);
      return;
    }
    if (!gate_close(*s.guard, a, Access::write, a.write_ticket)) {
      throw_errno(Errc::out_of_memory, "cannot protect secret memory");
    }
  }

  bool release(const Strategies& s, Allocation& a, bool writable) const noexcept override
  {
    if (a.arena == nullptr) {
      return isolated_layout().release(s, a, writable);
    }
    auto* arena = static_cast<Arena*>(a.arena);
    std::uint32_t ticket = a.write_ticket;
    if (!writable) {
      try {
        ticket = gate_open(*s.guard, a, Access::write);
      } catch (const Error&) {
        return false; // cannot wipe it: the slot is never handed out again
      }
    }
    const std::size_t capacity = k_class_sizes[arena->cls];
    if (sodium_memcmp(a.data - k_canary_size, canary(), k_canary_size) != 0 ||
        !sodium_is_zero(reinterpret_cast<const unsigned char*>(a.data + a.size), capacity - a.size)) {
      corrupted();
    }
    sodium_memzero(a.data, a.size);
    // The slot goes back below: its write access ends for good even if the page cannot be hidden.
    const bool closed = s.guard->per_thread() ? gate_close(*s.guard, a, Access::write, ticket)
                                              : gate_forget(*s.guard, a, Access::write);
    g_slots_in_use.fetch_sub(1, std::memory_order_relaxed);
    give_back(s, arena, arena->index_of(a.data - k_canary_size));
    return closed;
  }

  [[nodiscard]] std::size_t max_size() const noexcept override { return isolated_layout().max_size(); }

private:
  // Puts a wiped slot back on its arena's free list; returns the arena to the backend when it is
  // empty and another arena of its class has room.
  static void give_back(const Strategies& s, Arena* arena, std::size_t index) noexcept
  {
    Shard& shard = *arena->shard;
    std::lock_guard lock(shard.mutex);
    std::vector<Arena*>& with_free = shard.with_free[arena->cls];
    arena->free.push_back(static_cast<std::uint16_t>(index));
    if (!arena->listed) {
      with_free.push_back(arena);
      arena->listed = true;
    }
    if (arena->free.size() == arena->slot_count && with_free.size() > 1) {
      const std::size_t pages = arena->mapping.data_length / page_size();
      const std::size_t cls = arena->cls;
      std::erase(with_free, arena);
      if (unmap_arena(s, arena)) {
        shard.pages[cls] -= pages;
      } else {
        with_free.push_back(arena); // kept: it could not be wiped whole
      }
    }
  }
};

} // namespace

const LayoutImpl& pooled_layout() noexcept
{
  static const PooledLayout layout;
  return layout;
}

void pooled_forget_after_fork() noexcept
{
  // The parent's arenas are not ours (MADV_DONTFORK) or zeroed (MADV_WIPEONFORK); their locks may
  // be held by threads that do not exist here. Start over; the old bookkeeping leaks on purpose.
  Pool* all = pools();
  for (std::size_t i = 0; i < k_pools; ++i) {
    new (&all[i]) Pool();
  }
  g_arenas.store(0, std::memory_order_relaxed);
  g_slots_in_use.store(0, std::memory_order_relaxed);
}

PoolStats pool_stats() noexcept
{
  return PoolStats{
      .arenas = g_arenas.load(std::memory_order_relaxed),
      .slots_in_use = g_slots_in_use.load(std::memory_order_relaxed),
  };
}

} // namespace smem::detail
