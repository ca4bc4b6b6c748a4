// The resolved strategies a factory hands to every secret it makes.
#pragma once

#include "core/backend.hpp"
#include "core/guard.hpp"
#include "core/layout.hpp"

#include <smem/options.hpp>

namespace smem::detail {

struct Strategies {
  BackendImpl* backend;
  const GuardImpl* guard;
  const LayoutImpl* layout;
  LockFailure lock_failure;
  Options resolved; // what options() reports
};

} // namespace smem::detail
