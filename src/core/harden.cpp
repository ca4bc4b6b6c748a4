#include "core/registry.hpp"

#include <smem/secret.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace smem {

void harden_process()
{
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    const int error = errno;
    throw Error(Errc::io, std::string("cannot make the process non-dumpable: ") + std::strerror(error));
  }
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    const int error = errno;
    throw Error(Errc::io, std::string("cannot disable core dumps: ") + std::strerror(error));
  }
  detail::install_fatal_signal_handlers();
}

} // namespace smem
