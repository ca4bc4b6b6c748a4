#include "run/run.hpp"

#include "mask/masker.hpp"
#include "mask/table.hpp"
#include "run/error.hpp"
#include "run/io.hpp"
#include "run/output.hpp"
#include "run/sources.hpp"
#include "run/supervise.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <pty.h>
#include <set>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char** environ;

namespace smem::run {
namespace {

constexpr std::size_t k_default_pipe = 64 * 1024;

// Secrets larger than this are masked as themselves and line by line, not in their encoded forms:
// each form costs about the secret's size again in locked memory (24x in all), which a 1 MiB key
// would turn into more than a typical 8 MiB RLIMIT_MEMLOCK.
constexpr std::size_t k_encode_limit = 64 * 1024;

// The masker behind the supervisor's StreamFilter seam.
class MaskFilter final : public StreamFilter {
public:
  explicit MaskFilter(std::shared_ptr<const mask::MaskTable> table) : m_masker(std::move(table)) {}
  void feed(std::span<const std::byte> in, OutputSink& out) override { m_masker.feed(in, out); }
  void flush(OutputSink& out) override { m_masker.flush(out); }
  [[nodiscard]] std::size_t held() const noexcept override { return m_masker.held(); }

private:
  mask::Masker m_masker;
};

// The table of every secret, and a warning for each that cannot be masked (fully).
std::shared_ptr<mask::MaskTable> mask_table(const RunOptions& o, const SecretFactory& factory,
                                            const std::map<std::string, Secret>& secrets)
{
  std::vector<const Secret*> all;
  std::vector<std::string> names;
  for (const auto& [name, secret] : secrets) {
    all.push_back(&secret);
    names.push_back(name);
  }
  auto table = mask::MaskTable::build(factory, all, mask::TableOptions{.encode_limit = k_encode_limit});
  if (!o.quiet) {
    for (const std::size_t i : table->skipped()) {
      std::fprintf(
          stderr,
          "smem: warning: secret '%s' is shorter than 4 bytes and is not masked (--quiet silences this)\n",
          names[i].c_str());
    }
    for (const std::size_t i : table->unencoded()) {
      std::fprintf(
          stderr,
          "smem: warning: secret '%s' is larger than 64 KiB: it is masked as it is and line by line, "
          "but not in base64, URL or JSON form (--quiet silences this)\n",
          names[i].c_str());
    }
  }
  return table;
}

bool defined(const RunOptions& o, const std::string& name)
{
  return std::any_of(o.secrets.begin(), o.secrets.end(), [&](const SecretSpec& s) { return s.name == name; });
}

std::vector<std::string> defined_names(const RunOptions& o)
{
  std::vector<std::string> names;
  for (const SecretSpec& s : o.secrets) {
    names.push_back(s.name);
  }
  return names;
}

// A descriptor smem owns until it is handed on.
class OwnedFd {
public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : m_fd(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept
  {
    std::swap(m_fd, other.m_fd);
    return *this;
  }
  ~OwnedFd()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  [[nodiscard]] int get() const noexcept { return m_fd; }
  int release() noexcept { return std::exchange(m_fd, -1); }

private:
  int m_fd = -1;
};

[[noreturn]] void throw_errno(const std::string& what)
{
  const int error = errno;
  throw RunError(what + ": " + std::strerror(error));
}

// One pipe delivery: the child reads `read_end` as descriptor `target`.
struct PipeDelivery {
  int target;
  const Secret* secret;
  OwnedFd read_end;
  OwnedFd write_end;
  bool fits; // the whole secret fits the pipe's buffer
};

// Everything planned for the command.
struct Plan {
  std::vector<PipeDelivery> pipes;
  std::vector<std::pair<OwnedFd, int>> memfds; // (read-only memfd, target)
  std::vector<std::string> argv;
  std::vector<std::string> base_env; // inherited environment, filtered
  std::optional<Secret> env_block;   // "VAR=value\0" strings of --env, protected
  std::vector<std::size_t> env_offsets;
};

PipeDelivery make_pipe(int target, const Secret& secret)
{
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw_errno("cannot create a pipe for descriptor " + std::to_string(target));
  }
  PipeDelivery p{target, &secret, OwnedFd(fds[0]), OwnedFd(fds[1]), false};
  std::size_t capacity = k_default_pipe;
  if (secret.size() > capacity) {
    // Up to /proc/sys/fs/pipe-max-size (1 MiB by default) without privilege.
    const int grown =
        ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(std::min<std::size_t>(secret.size(), 1 << 30)));
    if (grown > 0) {
      capacity = static_cast<std::size_t>(grown);
    }
  }
  p.fits = secret.size() <= capacity;
  return p;
}

OwnedFd make_memfd(const std::string& name, const Secret& secret)
{
  OwnedFd fd(::memfd_create(("smem:" + name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd.get() < 0) {
    throw_errno("cannot create a memfd for secret '" + name + "'");
  }
  secret.with_bytes([&](std::span<const std::byte> s) {
    if (!write_all(fd.get(), s)) {
      throw_errno("cannot fill the memfd for secret '" + name + "'");
    }
  });
  // Owner-read-only, as tools expect of a secret file (libpq ignores a group- or world-readable
  // passfile, and a memfd starts as 0777).
  ::fchmod(fd.get(), S_IRUSR);
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    throw_errno("cannot seal the memfd for secret '" + name + "'");
  }
  // A read-only descriptor of its own (own offset at 0): the child cannot write it even in theory.
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  OwnedFd read_only(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  if (read_only.get() >= 0) {
    return read_only;
  }
  ::lseek(fd.get(), 0, SEEK_SET); // no /proc: the sealed descriptor itself, rewound
  return fd;
}

bool is_kept_in_pristine(std::string_view entry)
{
  for (const std::string_view name : {"PATH", "HOME", "USER", "LANG", "TERM"}) {
    if (entry.size() > name.size() && entry.substr(0, name.size()) == name && entry[name.size()] == '=') {
      return true;
    }
  }
  return false;
}

bool sets_variable(const RunOptions& o, std::string_view entry)
{
  return std::any_of(o.envs.begin(), o.envs.end(), [&](const EnvDelivery& e) {
    return entry.size() > e.variable.size() && entry.substr(0, e.variable.size()) == e.variable &&
           entry[e.variable.size()] == '=';
  });
}

Plan make_plan(const RunOptions& o, const SecretFactory& factory,
               const std::map<std::string, Secret>& secrets)
{
  Plan plan;
  std::set<int> used;
  for (const FdDelivery& d : o.fds) {
    used.insert(d.fd);
    if (d.memfd) {
      plan.memfds.emplace_back(make_memfd(d.name, secrets.at(d.name)), d.fd);
    } else {
      plan.pipes.push_back(make_pipe(d.fd, secrets.at(d.name)));
    }
  }
  if (o.stdin_name) {
    plan.pipes.push_back(make_pipe(STDIN_FILENO, secrets.at(*o.stdin_name)));
  }
  int next_free = 3;
  const auto names = defined_names(o);
  for (const std::string& arg : o.command) {
    std::string text;
    for (const ArgPart& part : parse_arg(arg, names)) {
      if (part.name.empty()) {
        text += part.text;
        continue;
      }
      while (used.count(next_free) != 0) {
        ++next_free;
      }
      used.insert(next_free);
      plan.pipes.push_back(make_pipe(next_free, secrets.at(part.name)));
      text += "/dev/fd/" + std::to_string(next_free);
    }
    plan.argv.push_back(std::move(text));
  }
  for (char** e = environ; *e != nullptr; ++e) {
    if ((!o.pristine || is_kept_in_pristine(*e)) && !sets_variable(o, *e)) {
      plan.base_env.emplace_back(*e);
    }
  }
  if (!o.envs.empty()) {
    std::size_t total = 0;
    for (const EnvDelivery& e : o.envs) {
      total += e.variable.size() + 1 + secrets.at(e.name).size() + 1;
    }
    plan.env_block = factory.create_with(total, [&](std::span<std::byte> out) {
      std::size_t at = 0;
      for (const EnvDelivery& e : o.envs) {
        plan.env_offsets.push_back(at);
        std::memcpy(out.data() + at, e.variable.data(), e.variable.size());
        at += e.variable.size();
        out[at++] = std::byte{'='};
        secrets.at(e.name).with_bytes([&](std::span<const std::byte> s) {
          std::memcpy(out.data() + at, s.data(), s.size());
          at += s.size();
        });
        out[at++] = std::byte{0};
      }
    });
  }
  return plan;
}

// Calls f(argv, envp) with envp pointing into the protected --env block, readable for the call.
template <class F> auto with_exec_vectors(Plan& plan, F&& f)
{
  std::vector<char*> argv;
  for (std::string& a : plan.argv) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : plan.base_env) {
    envp.push_back(e.data());
  }
  if (!plan.env_block) {
    envp.push_back(nullptr);
    return f(argv.data(), envp.data());
  }
  return plan.env_block->with_bytes([&](std::span<const std::byte> block) {
    for (const std::size_t offset : plan.env_offsets) {
      // execve only reads these strings; the pages stay read-only.
      envp.push_back(const_cast<char*>(reinterpret_cast<const char*>(block.data() + offset)));
    }
    envp.push_back(nullptr);
    return f(argv.data(), envp.data());
  });
}

LaunchSpec launch_spec(const Plan& plan, const InheritedState& inherited,
                       const std::vector<std::pair<int, int>>& extra)
{
  LaunchSpec spec;
  spec.inherited = &inherited;
  for (const PipeDelivery& p : plan.pipes) {
    spec.fds.emplace_back(p.read_end.get(), p.target);
  }
  for (const auto& [fd, target] : plan.memfds) {
    spec.fds.emplace_back(fd.get(), target);
  }
  spec.fds.insert(spec.fds.end(), extra.begin(), extra.end());
  for (const auto& [from, to] : spec.fds) {
    spec.highest_fd = std::max({spec.highest_fd, from, to});
  }
  return spec;
}

bool should_mask(MaskMode mode)
{
  switch (mode) {
  case MaskMode::always:
    return true;
  case MaskMode::never:
    return false;
  case MaskMode::automatic:
    return !::isatty(STDOUT_FILENO) || !::isatty(STDERR_FILENO);
  }
  return true;
}

void write_pipe_fully(PipeDelivery& p)
{
  p.secret->with_bytes([&](std::span<const std::byte> s) {
    if (!write_all(p.write_end.get(), s)) {
      throw_errno("cannot fill the pipe for descriptor " + std::to_string(p.target));
    }
  });
  p.write_end = OwnedFd();
}

// smem's terminal in raw mode while the command runs on a pty, so every key (Ctrl-C, Ctrl-Z and
// line editing included) reaches the command's terminal untouched; restored on every exit path.
class RawTerminal {
public:
  RawTerminal()
  {
    if (::tcgetattr(STDIN_FILENO, &m_saved) == 0) {
      m_valid = true;
      enter();
    }
  }
  ~RawTerminal() { restore(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  void enter() const
  {
    if (m_valid) {
      termios raw = m_saved;
      ::cfmakeraw(&raw);
      ::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
    }
  }
  void restore() const
  {
    if (m_valid) {
      ::tcsetattr(STDIN_FILENO, TCSADRAIN, &m_saved);
    }
  }

private:
  termios m_saved{};
  bool m_valid = false;
};

// Where the command's output goes when it is masked.
struct Outputs {
  std::vector<std::pair<int, int>> child_fds;  // (descriptor in smem, number in the command)
  std::vector<OwnedFd> child_ends;             // closed once the command has them
  std::vector<std::pair<OwnedFd, int>> relays; // (read end, smem's descriptor to write to)
  OwnedFd pty_master;                          // for keystrokes and window size
  bool pty_input = false;                      // smem's stdin (a terminal) feeds the pty
  int controlling_tty = -1;
};

void set_cloexec(int fd)
{
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// --mask with a terminal on stdout: the command gets a pseudo-terminal, so it still sees a
// terminal (colours, line editing, window size, job control) while smem masks what it prints.
// Otherwise, and for a stderr that is not a terminal, a pipe per stream.
Outputs masked_outputs(const RunOptions& o)
{
  Outputs out;
  int pty_slave = -1;
  if (::isatty(STDOUT_FILENO)) {
    termios term{};
    winsize size{};
    const bool have_term = ::tcgetattr(STDOUT_FILENO, &term) == 0;
    ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size);
    int master = -1;
    if (::openpty(&master, &pty_slave, nullptr, have_term ? &term : nullptr, &size) != 0) {
      throw_errno("cannot create a pseudo-terminal for the command");
    }
    set_cloexec(master);
    set_cloexec(pty_slave);
    ::fcntl(master, F_SETFL, O_NONBLOCK);
    out.child_ends.emplace_back(pty_slave);
    out.pty_master = OwnedFd(::fcntl(master, F_DUPFD_CLOEXEC, 0));
    out.relays.emplace_back(OwnedFd(master), STDOUT_FILENO);
    out.child_fds.emplace_back(pty_slave, STDOUT_FILENO);
    out.controlling_tty = STDOUT_FILENO;
    if (::isatty(STDIN_FILENO) && !o.stdin_name) {
      out.child_fds.emplace_back(pty_slave, STDIN_FILENO);
      out.pty_input = true;
    }
  }
  for (const int target : {STDOUT_FILENO, STDERR_FILENO}) {
    if (pty_slave >= 0 && (target == STDOUT_FILENO || ::isatty(STDERR_FILENO))) {
      if (target == STDERR_FILENO) {
        out.child_fds.emplace_back(pty_slave, STDERR_FILENO); // one terminal, as without smem
      }
      continue;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw_errno("cannot create a pipe for the command's output");
    }
    // Fewer, larger transfers for a chatty command (best effort: pipe-max-size may refuse).
    ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    out.relays.emplace_back(OwnedFd(fds[0]), target);
    out.child_ends.emplace_back(fds[1]);
    out.child_fds.emplace_back(fds[1], target);
  }
  return out;
}

} // namespace

void validate(const RunOptions& o)
{
  if (o.command.empty()) {
    throw RunError("no command given: smem run [OPTIONS] -- COMMAND [ARG...]");
  }
  std::set<std::string> names;
  int stdin_readers = 0;
  for (const SecretSpec& s : o.secrets) {
    if (!names.insert(s.name).second) {
      throw RunError("secret '" + s.name + "' is defined twice");
    }
    if (s.kind == SourceKind::stdin_ || (s.kind == SourceKind::fd && s.fd == STDIN_FILENO)) {
      ++stdin_readers;
    }
  }
  std::set<std::string> env_sources;
  for (const SecretSpec& s : o.secrets) {
    if (s.kind == SourceKind::env && !env_sources.insert(s.argument).second) {
      throw RunError("env:" + s.argument +
                     " is read by two secrets, but it is removed once read; read it once " +
                     "and deliver that secret several times");
    }
  }
  if (stdin_readers > 1) {
    throw RunError("standard input can be read by one secret only");
  }
  std::set<std::string> delivered;
  std::set<int> fds;
  const auto check = [&](const std::string& name, const std::string& where) {
    if (!defined(o, name)) {
      throw RunError(where + " delivers secret '" + name + "', which is not defined; define it with -s " +
                     name + "=SOURCE");
    }
    delivered.insert(name);
  };
  for (const FdDelivery& d : o.fds) {
    check(d.name, "--fd " + std::to_string(d.fd));
    if (!fds.insert(d.fd).second) {
      throw RunError("--fd " + std::to_string(d.fd) + " is given twice");
    }
  }
  if (o.stdin_name) {
    check(*o.stdin_name, "--stdin");
  }
  std::set<std::string> variables;
  for (const EnvDelivery& e : o.envs) {
    check(e.name, "--env " + e.variable);
    if (!variables.insert(e.variable).second) {
      throw RunError("--env " + e.variable + " is given twice");
    }
  }
  const auto all = defined_names(o);
  for (const std::string& arg : o.command) {
    for (const ArgPart& part : parse_arg(arg, all)) {
      if (!part.name.empty()) {
        delivered.insert(part.name);
      }
    }
  }
  for (const SecretSpec& s : o.secrets) {
    if (delivered.count(s.name) == 0) {
      throw RunError("secret '" + s.name + "' is defined but never delivered; pass it with --fd N=" + s.name +
                     ", --stdin " + s.name + ", --env VAR=" + s.name + " or {" + s.name + "} in an argument");
    }
  }
}

Outcome run(const RunOptions& o, const InheritedState& inherited)
{
  validate(o);
  const SecretFactory factory;
  std::map<std::string, Secret> secrets;
  const AcquireOptions acquire_options{o.max_size, o.trim};
  for (const SecretSpec& spec : o.secrets) {
    secrets.emplace(spec.name, acquire(factory, spec, acquire_options));
  }
  if (!o.quiet) {
    for (const EnvDelivery& e : o.envs) {
      std::fprintf(stderr,
                   "smem: warning: --env %s puts secret '%s' in the command's environment, where "
                   "/proc/PID/environ and its child processes can read it; prefer --fd or {%s} (--quiet "
                   "silences this)\n",
                   e.variable.c_str(), e.name.c_str(), e.name.c_str());
    }
  }
  Plan plan = make_plan(o, factory, secrets);
  const bool mask = should_mask(o.mask);
  const bool all_fit =
      std::all_of(plan.pipes.begin(), plan.pipes.end(), [](const PipeDelivery& p) { return p.fits; });

  if (!mask && !o.timeout && all_fit) {
    // Fast path: fill the pipes, wipe, become the command. Status and signals are then exactly
    // the command's, at no cost.
    for (PipeDelivery& p : plan.pipes) {
      write_pipe_fully(p);
    }
    for (auto& [name, secret] : secrets) {
      secret.close();
    }
    const LaunchSpec spec = launch_spec(plan, inherited, {});
    const int error = with_exec_vectors(plan, [&](char* const* argv, char* const* envp) {
      LaunchSpec s = spec;
      s.argv = argv;
      s.envp = envp;
      return exec_in_place(s);
    });
    throw_exec_error(plan.argv[0].c_str(), error);
  }

  // Supervised path.
  std::shared_ptr<mask::MaskTable> table;
  if (mask) {
    table = mask_table(o, factory, secrets);
  }
  Outputs outputs = mask ? masked_outputs(o) : Outputs{};
  std::optional<RawTerminal> raw;
  if (outputs.pty_input) {
    raw.emplace();
  }
  const sigset_t signals = supervised_signals();
  sigset_t before;
  ::sigprocmask(SIG_BLOCK, &signals, &before);
  struct Unblock {
    sigset_t mask;
    ~Unblock() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
  } unblock{before};
  OwnedFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (signal_fd.get() < 0) {
    throw_errno("cannot watch signals");
  }
  LaunchSpec base = launch_spec(plan, inherited, outputs.child_fds);
  base.controlling_tty = outputs.controlling_tty;
  const pid_t child = with_exec_vectors(plan, [&](char* const* argv, char* const* envp) {
    LaunchSpec s = base;
    s.argv = argv;
    s.envp = envp;
    return spawn_child(s);
  });
  plan.env_block.reset();
  outputs.child_ends.clear(); // the command's now: a pty or pipe left open here would never end
  SuperviseSpec supervise_spec;
  supervise_spec.child = child;
  supervise_spec.signal_fd = signal_fd.get();
  supervise_spec.timeout = o.timeout;
  for (PipeDelivery& p : plan.pipes) {
    p.read_end = OwnedFd();
    ::fcntl(p.write_end.get(), F_SETFL, O_NONBLOCK);
    supervise_spec.writers.push_back(PipeWriter{p.write_end.release(), p.secret, 0});
  }
  plan.memfds.clear();
  std::optional<MaskFilter> out_filter;
  std::optional<MaskFilter> err_filter;
  if (mask) {
    out_filter.emplace(table);
    err_filter.emplace(table);
    for (auto& [from, to] : outputs.relays) {
      supervise_spec.relays.push_back(
          Relay{from.release(), to, to == STDOUT_FILENO ? &*out_filter : &*err_filter});
    }
  }
  if (outputs.pty_master.get() >= 0) {
    PtyRelay pty;
    pty.input = outputs.pty_input ? STDIN_FILENO : -1;
    pty.master = outputs.pty_master.release();
    pty.size_source = STDOUT_FILENO;
    pty.on_child_stopped = [&raw] {
      // Give the terminal back and stop like the command did; on `fg`, take it again.
      if (raw) {
        raw->restore();
      }
      ::raise(SIGTSTP);
      if (raw) {
        raw->enter();
      }
    };
    supervise_spec.pty = std::move(pty);
  }
  const int status = supervise(std::move(supervise_spec));
  if (WIFSIGNALED(status)) {
    return Outcome{128 + WTERMSIG(status), WTERMSIG(status)};
  }
  return Outcome{WIFEXITED(status) ? WEXITSTATUS(status) : 125, 0};
}

void finish(const Outcome& outcome)
{
  if (outcome.signal != 0) {
    // End the way the child ended, so our parent sees the same wait status.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(outcome.signal, &dfl, nullptr);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, outcome.signal);
    ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(outcome.signal);
  }
  std::fflush(stdout);
  ::_exit(outcome.status);
}

} // namespace smem::run
