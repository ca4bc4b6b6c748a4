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
  // Only the soft limit: the hard one stays, so a program this process executes may get its own
  // core limit back (smem run restores it for the child). Non-dumpable already stops core files.
  rlimit core{};
  ::getrlimit(RLIMIT_CORE, &core);
  core.rlim_cur = 0;
  if (::setrlimit(RLIMIT_CORE, &core) != 0) {
    const int error = errno;
    throw Error(Errc::io, std::string("cannot disable core dumps: ") + std::strerror(error));
  }
  detail::install_fatal_signal_handlers();
}

} // namespace smem
