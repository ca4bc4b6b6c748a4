#include "fault/fault_util.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <grp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace smem::fault_test {

namespace fs = std::filesystem;
using namespace smem::cli_test;

Args operator+(Args a, const Args& b)
{
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int digest_status(std::string_view bytes)
{
  std::uint32_t hash = 2166136261U;
  for (const char c : bytes) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 16777619U;
  }
  return static_cast<int>(hash % 120U);
}

Command smem_command(const TempDir& dir, Args args, std::optional<std::string> stdin_data)
{
  Command c;
  c.argv = smem_run(std::move(args));
  c.env = base_env(dir);
  c.stdin_data = std::move(stdin_data);
  c.cwd = dir.str();
  return c;
}

Args child_program(const std::vector<std::string>& args)
{
  return Args{"--", self_binary()} + args;
}

std::string child_env(std::string_view program)
{
  return std::string(k_child_variable) + "=" + std::string(program);
}

std::string become(int uid)
{
  const auto id = static_cast<uid_t>(uid);
  if (::setgroups(0, nullptr) != 0 || ::setgid(id) != 0 || ::setuid(id) != 0) {
    return "cannot become uid " + std::to_string(uid);
  }
  return {};
}

std::string limit_and_become(int resource, rlim_t limit, int uid)
{
  const rlimit both{limit, limit};
  if (::setrlimit(resource, &both) != 0) {
    return "setrlimit failed";
  }
  return uid >= 0 ? become(uid) : std::string();
}

std::string prepare_for_uid(int uid, const TempDir& dir)
{
  const auto traversable = fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec;
  fs::permissions(dir.path(), traversable);
  const fs::path out = dir.path() / "out";
  fs::create_directories(out);
  if (::chown(out.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)) != 0) {
    throw std::runtime_error("cannot chown " + out.string());
  }
  const std::string binary = smem_binary();
  if (run_probe(uid, [&] { return ::access(binary.c_str(), X_OK) == 0 ? 0 : 1; }) == 0) {
    return binary;
  }
  const fs::path copy = dir.path() / "bin" / "smem";
  fs::create_directories(copy.parent_path());
  fs::copy_file(binary, copy);
  fs::permissions(copy.parent_path(), traversable);
  fs::permissions(copy, traversable | fs::perms::group_read | fs::perms::others_read);
  return copy.string();
}

bool group_empty(pid_t pgid)
{
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) {
    return true;
  }
  // Someone is there; a zombie (already ended, waiting for whoever reaps orphans) does not count.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    if (entry.path().filename().string().find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const std::string stat = read_file(entry.path() / "stat");
    const auto close_paren = stat.rfind(')'); // after the command name, which may hold anything
    if (close_paren == std::string::npos) {
      continue;
    }
    char state = 0;
    long parent = 0;
    long group = 0;
    if (std::sscanf(stat.c_str() + close_paren + 1, " %c %ld %ld", &state, &parent, &group) == 3 &&
        group == pgid && state != 'Z' && state != 'X') {
      return false;
    }
  }
  return true;
}

bool ends(pid_t pid)
{
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    return errno == ESRCH;
  }
  pollfd p{fd, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(k_hang_limit).count()));
  } while (ready < 0 && errno == EINTR);
  ::close(fd);
  return ready == 1;
}

pid_t read_pid(const std::string& path)
{
  const std::string text = read_file(path);
  try {
    return text.empty() ? -1 : static_cast<pid_t>(std::stoi(text));
  } catch (const std::exception&) {
    return -1;
  }
}

bool no_files_left(const TempDir& dir)
{
  for (const char* sub : {"tmp", "home"}) {
    std::error_code ec;
    if (!fs::is_empty(dir.path() / sub, ec) || ec) {
      return false;
    }
  }
  return true;
}

bool one_error_line(const Result& r)
{
  const std::vector<std::string> all = lines(r.err);
  std::size_t errors = 0;
  for (const std::string& line : all) {
    errors += line.rfind("smem: error: ", 0) == 0 ? 1 : 0;
  }
  return errors == 1 && !all.empty() && all.back().rfind("smem: error: ", 0) == 0 && r.err.back() == '\n';
}

} // namespace smem::fault_test
