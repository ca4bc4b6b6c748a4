#include "attack/attack_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <random>
#include <sstream>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace smem::attack_test {
namespace {

namespace fs = std::filesystem;

#if defined(__x86_64__)
constexpr std::uint32_t k_audit_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t k_audit_arch = AUDIT_ARCH_AARCH64;
#else
constexpr std::uint32_t k_audit_arch = 0;
#endif

// Regions this large are address-space reservations (sanitizer shadows), not memory smem uses.
constexpr std::uintptr_t k_largest_scanned = std::uintptr_t{1} << 30;

std::size_t page_size()
{
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::size_t kb_field(const std::string& line)
{
  std::istringstream in(line.substr(line.find(':') + 1));
  std::size_t value = 0;
  in >> value;
  return value;
}

bool starts_with(std::string_view text, std::string_view prefix)
{
  return text.substr(0, prefix.size()) == prefix;
}

// Finds every needle in `window` (which starts at `base`); only matches that end at or after
// `fresh_from` are new (earlier ones were found in the previous window).
void search(const std::string& window, std::uintptr_t base, std::size_t fresh_from,
            const std::vector<std::string>& needles, std::size_t region, std::vector<Hit>& hits)
{
  for (std::size_t n = 0; n < needles.size(); ++n) {
    const std::string& needle = needles[n];
    if (needle.empty()) {
      continue;
    }
    for (std::size_t at = window.find(needle); at != std::string::npos; at = window.find(needle, at + 1)) {
      if (at + needle.size() > fresh_from) {
        hits.push_back(Hit{base + at, n, region});
      }
    }
  }
}

} // namespace

bool is_root()
{
  return ::geteuid() == 0;
}

int unprivileged_uid()
{
  return is_root() ? k_nobody : -1;
}

std::string random_secret(std::size_t n)
{
  static constexpr std::string_view k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<std::size_t> pick(0, k_alphabet.size() - 1);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += k_alphabet[pick(device)];
  }
  return s;
}

std::string base64(std::string_view bytes)
{
  static constexpr std::string_view k_digits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16U) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8U) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += {k_digits[(v >> 18U) & 63U], k_digits[(v >> 12U) & 63U], k_digits[(v >> 6U) & 63U],
            k_digits[v & 63U]};
  }
  if (const std::size_t left = bytes.size() - i; left > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16U;
    if (left == 2) {
      v |= static_cast<unsigned char>(bytes[i + 1]) << 8U;
    }
    out += k_digits[(v >> 18U) & 63U];
    out += k_digits[(v >> 12U) & 63U];
    out += left == 2 ? k_digits[(v >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::string become_user(int uid)
{
  if (uid < 0) {
    return {};
  }
  const auto id = static_cast<uid_t>(uid);
  if (::setgroups(0, nullptr) != 0 || ::setresgid(id, id, id) != 0 || ::setresuid(id, id, id) != 0) {
    return "cannot become uid " + std::to_string(uid);
  }
  return {};
}

std::string smem_binary_for(int uid, const TempDir& dir)
{
  const std::string binary = cli_test::smem_binary();
  if (uid < 0 || cli_test::run_probe(uid, [&] { return ::access(binary.c_str(), X_OK) == 0 ? 0 : 1; }) == 0) {
    return binary;
  }
  const fs::path copy = dir.path() / "bin" / "smem";
  fs::create_directories(copy.parent_path());
  fs::copy_file(binary, copy, fs::copy_options::overwrite_existing);
  for (const fs::path& p : {dir.path(), copy.parent_path(), copy}) {
    fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  }
  return copy.string();
}

std::string hide_memfd_secret()
{
#if defined(SYS_memfd_secret)
  if (k_audit_arch == 0) {
    return "no seccomp architecture known for this CPU";
  }
  // Other architectures (x32, i386 compat) pass: smem never uses them.
  std::array<sock_filter, 6> code{{
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k_audit_arch, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_secret, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  }};
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) {
    return "cannot install the seccomp filter";
  }
  return {};
#else
  return "memfd_secret is not known to this libc";
#endif
}

ProcRead read_as(int uid, const std::string& path)
{
  cli_test::Pipe pipe;
  const pid_t pid = ::fork();
  if (pid < 0) {
    return ProcRead{errno, {}};
  }
  if (pid == 0) {
    pipe.close_read();
    if (!become_user(uid).empty()) {
      ::_exit(126);
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ::_exit(errno);
    }
    std::array<char, 65536> buffer{};
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        ::_exit(errno);
      }
      if (n == 0) {
        ::_exit(0);
      }
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(pipe.write, buffer.data() + done, static_cast<std::size_t>(n - done));
        if (w <= 0) {
          ::_exit(EPIPE);
        }
        done += w;
      }
    }
  }
  pipe.close_write();
  ProcRead result;
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(pipe.read, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    result.content.append(buffer.data(), static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.error = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

int open_error_as(int uid, const std::string& path)
{
  return cli_test::run_probe(uid, [&] {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : errno;
  });
}

std::string proc_path(pid_t pid, std::string_view name)
{
  return "/proc/" + std::to_string(pid) + "/" + std::string(name);
}

bool Region::has_flag(std::string_view flag) const
{
  return std::find(vm_flags.begin(), vm_flags.end(), flag) != vm_flags.end();
}

bool Region::is_secretmem() const
{
  return starts_with(path, "/secretmem");
}

bool Region::fully_locked() const
{
  return has_flag("lo") && size_kb > 0 && locked_kb == size_kb && swap_kb == 0;
}

std::string Region::describe() const
{
  std::ostringstream out;
  out << std::hex << start << "-" << end << std::dec << " " << perms << " "
      << (path.empty() ? "(anonymous)" : path) << " Size " << size_kb << " kB Rss " << rss_kb << " kB Locked "
      << locked_kb << " kB Swap " << swap_kb << " kB VmFlags";
  for (const std::string& f : vm_flags) {
    out << " " << f;
  }
  return out.str();
}

std::vector<Region> read_smaps(pid_t pid)
{
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::vector<Region> regions;
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    const auto dash = line.find('-');
    // A header: "start-end perms offset dev inode [path]"; a field: "Name:   value kB".
    const bool header = dash != std::string::npos && (colon == std::string::npos || dash < colon) &&
                        std::isxdigit(static_cast<unsigned char>(line[0])) != 0;
    if (header) {
      Region r;
      std::istringstream fields(line);
      std::string range;
      std::string offset;
      std::string device;
      std::string inode;
      fields >> range >> r.perms >> offset >> device >> inode;
      r.start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
      r.end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
      std::getline(fields >> std::ws, r.path);
      regions.push_back(std::move(r));
      continue;
    }
    if (regions.empty()) {
      continue;
    }
    Region& r = regions.back();
    if (starts_with(line, "Size:")) {
      r.size_kb = kb_field(line);
    } else if (starts_with(line, "Rss:")) {
      r.rss_kb = kb_field(line);
    } else if (starts_with(line, "Locked:")) {
      r.locked_kb = kb_field(line);
    } else if (starts_with(line, "Swap:")) {
      r.swap_kb = kb_field(line);
    } else if (starts_with(line, "VmFlags:")) {
      std::istringstream flags(line.substr(colon + 1));
      for (std::string f; flags >> f;) {
        r.vm_flags.push_back(f);
      }
    }
  }
  return regions;
}

std::string hex(std::uintptr_t address)
{
  std::ostringstream out;
  out << "0x" << std::hex << address;
  return out.str();
}

MemoryScan scan_memory(pid_t pid, const std::vector<std::string>& needles)
{
  MemoryScan scan;
  scan.regions = read_smaps(pid);
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    scan.open_error = errno;
    return scan;
  }
  scan.opened = true;
  std::size_t longest = 0;
  for (const std::string& n : needles) {
    longest = std::max(longest, n.size());
  }
  const std::size_t page = page_size();
  const std::size_t chunk = 256 * page;
  std::string buffer(chunk, '\0');
  for (std::size_t index = 0; index < scan.regions.size(); ++index) {
    const Region& r = scan.regions[index];
    if (r.end - r.start > k_largest_scanned) {
      scan.unreadable.push_back(index);
      continue;
    }
    std::size_t read_here = 0;
    std::string window; // the tail of the previous readable bytes, then new ones
    std::uintptr_t window_base = r.start;
    for (std::uintptr_t at = r.start; at < r.end;) {
      const std::size_t want = std::min<std::uintptr_t>(chunk, r.end - at);
      ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(at));
      std::size_t step = want;
      if (n <= 0 && want > page) {
        // Something in this chunk is refused: go page by page to keep what can be read.
        step = page;
        n = ::pread(fd, buffer.data(), page, static_cast<off_t>(at));
      }
      if (n <= 0) {
        window.clear();
        window_base = at + step;
        at += step;
        continue;
      }
      const auto got = static_cast<std::size_t>(n);
      const std::size_t kept = window.size();
      window.append(buffer.data(), got);
      search(window, window_base, kept, needles, index, scan.hits);
      read_here += got;
      at += got;
      if (window.size() > longest) {
        const std::size_t drop = window.size() - (longest > 0 ? longest - 1 : 0);
        window.erase(0, drop);
        window_base += drop;
      }
    }
    scan.bytes_read += read_here;
    if (read_here == 0) {
      scan.unreadable.push_back(index);
    }
  }
  ::close(fd);
  return scan;
}

Gate::Gate(const TempDir& dir) : m_path(dir.str("gate"))
{
  if (::mkfifo(m_path.c_str(), 0600) != 0 || ::chmod(m_path.c_str(), 0666) != 0) {
    throw std::runtime_error("mkfifo failed: " + std::string(std::strerror(errno)));
  }
  // Read-write: opening never blocks, and a reader's open never waits for a writer either.
  m_fd = ::open(m_path.c_str(), O_RDWR | O_CLOEXEC);
  if (m_fd < 0) {
    throw std::runtime_error("cannot open the gate FIFO: " + std::string(std::strerror(errno)));
  }
}

Gate::~Gate()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

void Gate::release()
{
  const std::string_view line = "go\n";
  [[maybe_unused]] const ssize_t n = ::write(m_fd, line.data(), line.size());
}

RunningSmem::RunningSmem(const TempDir& dir, RunSetup setup) : m_gate(std::make_unique<Gate>(dir))
{
  if (setup.uid >= 0) {
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  Command c;
  c.argv = {smem_binary_for(setup.uid, dir), "run"};
  c.argv.insert(c.argv.end(), setup.smem_args.begin(), setup.smem_args.end());
  const std::string script = (setup.command_prelude.empty() ? "" : setup.command_prelude + "; ") +
                             R"(echo "ready $$ :ready"; read x < "$0")";
  c.argv.insert(c.argv.end(), {"--", "sh", "-c", script, m_gate->path()});
  c.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "LANG=C"};
  c.env.insert(c.env.end(), setup.env.begin(), setup.env.end());
  c.stdin_data = std::move(setup.stdin_data);
  c.cwd = setup.cwd.empty() ? "/" : setup.cwd;
  c.before_exec = [uid = setup.uid, hide = setup.hide_memfd_secret,
                   extra = setup.before_exec]() -> std::string {
    if (std::string error = become_user(uid); !error.empty()) {
      return error;
    }
    if (hide) {
      if (std::string error = hide_memfd_secret(); !error.empty()) {
        return error;
      }
    }
    return extra ? extra() : std::string();
  };
  m_process = std::make_unique<Process>(std::move(c));
  m_ready = m_process->wait_for_stdout(" :ready");
  const std::string& out = m_process->out();
  if (const auto at = out.find("ready "); m_ready && at != std::string::npos) {
    m_command = std::stoi(out.substr(at + 6));
  } else {
    m_ready = false;
    FAIL_CHECK("the command never said it was ready; smem's stderr: " << m_process->err());
  }
}

Result RunningSmem::finish()
{
  m_gate->release();
  return m_process->wait();
}

std::string doctor_backend(const TempDir& dir, bool hide)
{
  Command c;
  c.argv = {cli_test::smem_binary(), "doctor", "--json"};
  c.env = cli_test::base_env(dir);
  if (hide) {
    c.before_exec = [] { return hide_memfd_secret(); };
  }
  const Result r = cli_test::run(std::move(c));
  const std::string key = R"("backend": ")";
  const auto at = r.out.find(key);
  if (!r.exited(0) || at == std::string::npos) {
    return "(smem doctor failed: " + r.describe() + ")";
  }
  const auto from = at + key.size();
  return r.out.substr(from, r.out.find('"', from) - from);
}

} // namespace smem::attack_test
