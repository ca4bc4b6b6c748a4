// A debugger's attacks from a process of smem's own (unprivileged) user while `smem run` runs:
// PTRACE_ATTACH, PTRACE_SEIZE and process_vm_readv(2) on smem. smem makes itself non-dumpable
// (PR_SET_DUMPABLE 0, SPEC 1.1), which the kernel's ptrace access check turns into EPERM for
// everyone without CAP_SYS_PTRACE. The control: the same attacks succeed on the command smem runs,
// an ordinary process of the same user.
#include "attack/attack_util.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

namespace {

using namespace smem::attack_test;
using smem::cli_test::read_file;
using smem::cli_test::run_probe;

std::string describe_error(int error)
{
  return error == 0 ? "allowed" : std::strerror(error);
}

// An address inside the target's stack (read as root, or as the target's user for the control).
std::uintptr_t stack_address(pid_t pid)
{
  for (const Region& r : read_smaps(pid)) {
    if (r.path == "[stack]") {
      return r.end - 64;
    }
  }
  return 0;
}

// errno of ptrace(request, pid) by a process running as `uid`, 0 if it attached. An attach that
// succeeds is undone at once, so a regression fails the test instead of leaving smem stopped.
int ptrace_as(int uid, long request, pid_t pid)
{
  return run_probe(uid, [&] {
    if (::ptrace(static_cast<__ptrace_request>(request), pid, nullptr, nullptr) != 0) {
      return errno;
    }
    if (request == PTRACE_ATTACH) {
      int status = 0;
      ::waitpid(pid, &status, __WALL);
      ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
    }
    return 0;
  });
}

int vm_read_as(int uid, pid_t pid, std::uintptr_t address)
{
  return run_probe(uid, [&] {
    std::array<char, 16> buffer{};
    const iovec local{buffer.data(), buffer.size()};
    const iovec remote{reinterpret_cast<void*>(address), buffer.size()};
    return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(buffer.size()) ? 0
                                                                                                    : errno;
  });
}

} // namespace

TEST_SUITE("attack/ptrace")
{
  TEST_CASE("a process of smem's own user can neither ptrace smem nor read it with process_vm_readv")
  {
    const int uid = unprivileged_uid();
    TempDir dir;
    RunSetup setup;
    setup.smem_args = {"-s", "k=random:32", "--fd", "3=k", "--mask=always"};
    setup.uid = uid;
    RunningSmem smem(dir, setup);
    REQUIRE(smem.ready());
    const pid_t smem_pid = smem.smem_pid();
    const pid_t command = smem.command_pid();

    const int attach = ptrace_as(uid, PTRACE_ATTACH, smem_pid);
    INFO("PTRACE_ATTACH smem: " << describe_error(attach));
    CHECK(attach == EPERM);
    const int seize = ptrace_as(uid, PTRACE_SEIZE, smem_pid);
    INFO("PTRACE_SEIZE smem: " << describe_error(seize));
    CHECK(seize == EPERM);
    if (is_root()) {
      const std::uintptr_t address = stack_address(smem_pid);
      REQUIRE(address != 0);
      const int vm_read = vm_read_as(uid, smem_pid, address);
      INFO("process_vm_readv smem: " << describe_error(vm_read));
      CHECK(vm_read == EPERM);
    }

    // Control: an ordinary process of the same user is open to all three.
    const std::string scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
    if (scope.empty() || scope[0] == '0') {
      const int seize_command = ptrace_as(uid, PTRACE_SEIZE, command); // detached when the probe exits
      INFO("PTRACE_SEIZE command: " << describe_error(seize_command));
      CHECK(seize_command == 0);
      if (is_root()) {
        const int vm_read_command = vm_read_as(uid, command, stack_address(command));
        INFO("process_vm_readv command: " << describe_error(vm_read_command));
        CHECK(vm_read_command == 0);
      }
    } else {
      MESSAGE("Yama ptrace_scope " << scope.substr(0, 1)
                                   << " forbids the control attach; only smem is checked");
    }

    const Result r = smem.finish();
    INFO("smem: " << r.describe() << ", stderr: " << r.err);
    CHECK(r.exited(0));
  }
}
