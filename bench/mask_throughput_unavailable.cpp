// The mask_throughput scenario of a build without the masker (src/mask not part of the build):
// it reports itself unavailable rather than invent a figure.
#include "bench/scenarios.hpp"

namespace smem::bench {

Outcome mask_throughput(const Context&)
{
  throw Unavailable("the masker (src/mask, target smem_mask) is not part of this build");
}

} // namespace smem::bench
