// libsmem: guarded, locked, wiped, idle-unreadable secret buffers. Include this one header.
#pragma once

#include <smem/error.hpp>
#include <smem/options.hpp>
#include <smem/secret.hpp>
