// pie's sandbox launcher: runs one untrusted program under limits and prints one JSON line.
//
// Python builds this file once per (compiler, source, policy) and execs it for every test run,
// so that namespaces, rlimits, cgroup placement, Landlock and seccomp cost a few syscalls
// instead of a forked interpreter.  The policy (which syscalls, which paths) is data generated
// by pie/_sandbox/_policy.py into policy.h; this file only knows how to apply it.
//
// Usage: pie-launcher [--option value]... -- PROGRAM [ARG]...
// Result on stdout (one line): {"status":..., "exit_code":..., "signal":..., ...}

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"

// x86-64 numbers that glibc < 2.34 headers lack (Debian 11 / Ubuntu 20.04, glibc 2.31: the
// toolchain whose binaries a gem5 v20.1 host can load); the kernel decides at run time.
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

namespace {

// Landlock constants are spelled out because distribution headers lag the kernel.
constexpr uint64_t LL_FS_EXECUTE = 1ULL << 0;
constexpr uint64_t LL_FS_WRITE_FILE = 1ULL << 1;
constexpr uint64_t LL_FS_READ_FILE = 1ULL << 2;
constexpr uint64_t LL_FS_READ_DIR = 1ULL << 3;
constexpr uint64_t LL_FS_ALL_V1 = (1ULL << 13) - 1;
constexpr uint64_t LL_FS_REFER = 1ULL << 13;
constexpr uint64_t LL_FS_TRUNCATE = 1ULL << 14;
constexpr uint64_t LL_FS_IOCTL_DEV = 1ULL << 15;
constexpr uint64_t LL_NET_ALL = 3;    // bind and connect TCP
constexpr uint64_t LL_SCOPE_ALL = 3;  // abstract unix sockets and signals
constexpr int LL_RULE_PATH_BENEATH = 1;

struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct __attribute__((packed)) LandlockPathBeneath {
  uint64_t allowed_access;
  int32_t parent_fd;
};

enum class Access { Read, Exec, Write };

struct PathRule {
  std::string path;
  Access access;
};

struct Options {
  std::string profile = "run";
  long cpu_ms = 10000;
  long wall_ms = 20000;
  long long as_bytes = 0;
  long long stack_bytes = 0;
  long long fsize_bytes = 0;
  long long mem_bytes = 0;
  long nproc = 0;
  long nofile = 64;
  bool pidns = true;
  long cpu = -1;  // pin the program to this CPU (wall-clock timing)
  long uid = -1;
  long gid = -1;
  std::vector<std::string> cgroups;
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";
  std::string stderr_path = "/dev/null";
  std::string cwd = "/";
  std::vector<PathRule> paths;
  std::vector<std::string> env;
  std::vector<char*> argv;
};

// The init's stack: in BSS, so pages are only touched as used (a zero-filled vector costs more).
alignas(16) char g_clone_stack[256 * 1024];

std::string g_request_id = "0";  // echoed in every result line, so a server's replies can be matched

std::string json_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// One write of one line: results of concurrent runners never interleave on a pipe.
void emit(const std::string& line) {
  std::string text = line + "\n";
  (void)!write(1, text.data(), text.size());
}

[[noreturn]] void usage_error(const char* what) {
  emit("{\"id\":\"" + json_escape(g_request_id) + "\",\"setup_error\":\"launcher: " +
       json_escape(what) + "\"}");
  _exit(125);
}

long long to_number(const char* text) {
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') usage_error("bad number");
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string key = argv[i];
    if (key == "--") break;
    if (i + 1 >= argc) usage_error("option without value");
    const char* v = argv[++i];
    if (key == "--profile") o.profile = v;
    else if (key == "--cpu-ms") o.cpu_ms = to_number(v);
    else if (key == "--wall-ms") o.wall_ms = to_number(v);
    else if (key == "--as-bytes") o.as_bytes = to_number(v);
    else if (key == "--stack-bytes") o.stack_bytes = to_number(v);
    else if (key == "--fsize-bytes") o.fsize_bytes = to_number(v);
    else if (key == "--mem-bytes") o.mem_bytes = to_number(v);
    else if (key == "--nproc") o.nproc = to_number(v);
    else if (key == "--nofile") o.nofile = to_number(v);
    else if (key == "--pidns") o.pidns = to_number(v) != 0;
    else if (key == "--pin-cpu") o.cpu = to_number(v);
    else if (key == "--uid") o.uid = to_number(v);
    else if (key == "--gid") o.gid = to_number(v);
    else if (key == "--cgroup") o.cgroups.emplace_back(v);
    else if (key == "--stdin") o.stdin_path = v;
    else if (key == "--stdout") o.stdout_path = v;
    else if (key == "--stderr") o.stderr_path = v;
    else if (key == "--cwd") o.cwd = v;
    else if (key == "--read") o.paths.push_back({v, Access::Read});
    else if (key == "--exec") o.paths.push_back({v, Access::Exec});
    else if (key == "--write") o.paths.push_back({v, Access::Write});
    else if (key == "--env") o.env.emplace_back(v);
    else usage_error("unknown option");
  }
  for (++i; i < argc; ++i) o.argv.push_back(argv[i]);
  if (o.argv.empty()) usage_error("no program given after --");
  o.argv.push_back(nullptr);
  return o;
}

// ---- reporting setup failures from the child -------------------------------------------------

int g_error_fd = -1;

[[noreturn]] void child_fail(const char* step) {
  char message[256];
  int n = std::snprintf(message, sizeof message, "%s: %s", step, std::strerror(errno));
  if (n > 0) (void)!write(g_error_fd, message, static_cast<size_t>(n));
  _exit(126);
}

// ---- cgroup v1: limits and counters of the slot's memory and pids groups --------------------

bool write_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

long long read_counter(const std::string& path, const char* key) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (n <= 0) return -1;
  buffer[n] = '\0';
  if (key == nullptr) return std::atoll(buffer);
  const char* at = std::strstr(buffer, key);
  return at ? std::atoll(at + std::strlen(key)) : -1;
}

bool is_memory_group(const std::string& dir) {
  return access((dir + "/memory.limit_in_bytes").c_str(), F_OK) == 0;
}

bool is_pids_group(const std::string& dir) { return access((dir + "/pids.max").c_str(), F_OK) == 0; }

// Writes a control file only when its value differs: cgroup writes are the slow part of a run.
bool ensure_value(const std::string& path, const std::string& value) {
  return read_counter(path, nullptr) == std::atoll(value.c_str()) || write_file(path, value);
}

// Joins the launcher itself, so the child inherits the groups before it can allocate or fork.
bool enter_cgroups(const Options& o) {
  std::string pid = std::to_string(getpid());
  for (const std::string& dir : o.cgroups) {
    if (is_memory_group(dir)) {
      std::string limit = std::to_string(o.mem_bytes > 0 ? o.mem_bytes : LLONG_MAX / 2);
      if (read_counter(dir + "/memory.limit_in_bytes", nullptr) != std::atoll(limit.c_str())) {
        // memsw (where present) must never sit below the memory limit: raise it first, then
        // set both, so that swap cannot extend the limit.
        write_file(dir + "/memory.memsw.limit_in_bytes", std::to_string(LLONG_MAX / 2));
        if (!write_file(dir + "/memory.limit_in_bytes", limit)) return false;
        write_file(dir + "/memory.memsw.limit_in_bytes", limit);
      }
    }
    if (is_pids_group(dir) && o.nproc > 0) {
      // +1: the launcher itself sits in the group beside the program.
      if (!ensure_value(dir + "/pids.max", std::to_string(o.nproc + 1))) return false;
    }
    if (!write_file(dir + "/cgroup.procs", pid)) return false;
  }
  return true;
}

long long oom_kills(const Options& o) {
  long long total = 0;
  for (const std::string& dir : o.cgroups)
    if (is_memory_group(dir)) total += read_counter(dir + "/memory.oom_control", "oom_kill ");
  return total;
}

// ---- Landlock ------------------------------------------------------------------------------

int landlock_abi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /* VERSION */);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

uint64_t landlock_fs_rights(int abi) {
  uint64_t rights = LL_FS_ALL_V1;
  if (abi >= 2) rights |= LL_FS_REFER;
  if (abi >= 3) rights |= LL_FS_TRUNCATE;
  if (abi >= 5) rights |= LL_FS_IOCTL_DEV;
  return rights;
}

uint64_t rights_for(Access access, bool is_dir, uint64_t handled) {
  uint64_t read = LL_FS_READ_FILE | (is_dir ? LL_FS_READ_DIR : 0);
  uint64_t rights = read;
  if (access == Access::Exec) rights |= LL_FS_EXECUTE;
  if (access == Access::Write) rights = is_dir ? handled & ~LL_FS_EXECUTE : read | LL_FS_WRITE_FILE | LL_FS_TRUNCATE;
  return rights & handled;
}

// Must run before privileges drop: rules are anchored on paths opened with our rights.
int build_landlock(const Options& o, int abi) {
  if (abi <= 0) return -1;
  LandlockRulesetAttr attr{landlock_fs_rights(abi), abi >= 4 ? LL_NET_ALL : 0, abi >= 6 ? LL_SCOPE_ALL : 0};
  size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0U));
  if (ruleset < 0) child_fail("landlock_create_ruleset");
  for (const PathRule& rule : o.paths) {
    int fd = open(rule.path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // an absent library directory is simply not granted
    struct stat st;
    if (fstat(fd, &st) != 0) child_fail("fstat landlock path");
    LandlockPathBeneath beneath{rights_for(rule.access, S_ISDIR(st.st_mode), attr.handled_access_fs), fd};
    if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &beneath, 0U) != 0)
      child_fail("landlock_add_rule");
    close(fd);
  }
  return ruleset;
}

// ---- seccomp -------------------------------------------------------------------------------

uint32_t seccomp_action(const Rule& rule) {
  switch (rule.action) {
    case Action::Allow: return SECCOMP_RET_ALLOW;
    case Action::Errno: return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(rule.err) & SECCOMP_RET_DATA);
    case Action::Kill: return SECCOMP_RET_KILL_PROCESS;
    case Action::AllowIfFlag: return SECCOMP_RET_ALLOW;
  }
  return SECCOMP_RET_KILL_PROCESS;
}

std::vector<sock_filter> seccomp_program(const Rule* rules, size_t count, Action fallback) {
  std::vector<sock_filter> p;
  auto stmt = [&](uint16_t code, uint32_t k) { p.push_back(BPF_STMT(code, k)); };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { p.push_back(BPF_JUMP(code, k, jt, jf)); };
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);  // x32 numbers alias x86_64 ones
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  for (size_t i = 0; i < count; ++i) {
    const Rule& r = rules[i];
    if (r.action == Action::AllowIfFlag) {
      jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.nr), 0, 4);
      stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args) + 8 * r.arg);
      jump(BPF_JMP | BPF_JSET | BPF_K, static_cast<uint32_t>(r.flag), 0, 1);
      stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
      stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<uint32_t>(r.err) & SECCOMP_RET_DATA));
    } else {
      jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.nr), 0, 1);
      stmt(BPF_RET | BPF_K, seccomp_action(r));
    }
  }
  Rule last{0, fallback, EPERM, 0, 0};
  stmt(BPF_RET | BPF_K, seccomp_action(last));
  return p;
}

void install_seccomp(const std::string& profile) {
  std::vector<sock_filter> program;
  if (profile == "compile")
    program = seccomp_program(COMPILE_RULES, std::size(COMPILE_RULES), COMPILE_DEFAULT);
  else if (profile == "valgrind")
    program = seccomp_program(VALGRIND_RULES, std::size(VALGRIND_RULES), VALGRIND_DEFAULT);
  else
    program = seccomp_program(RUN_RULES, std::size(RUN_RULES), RUN_DEFAULT);
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog) != 0) child_fail("seccomp");
}

// ---- the child: from launcher to untrusted program -----------------------------------------

void set_limit(int resource, rlim_t value, const char* what) {
  rlimit limit{value, value};
  if (setrlimit(resource, &limit) != 0) child_fail(what);
}

void redirect(const std::string& path, int target, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) child_fail(target == 0 ? "open stdin" : target == 1 ? "open stdout" : "open stderr");
  if (dup2(fd, target) < 0) child_fail("dup2");
  close(fd);
}

// Keeps only stdio and the two descriptors the child still needs.
void close_other_fds(int keep_a, int keep_b) {
  int low = keep_a < keep_b ? keep_a : keep_b;
  int high = keep_a < keep_b ? keep_b : keep_a;
  syscall(SYS_close_range, 3U, static_cast<unsigned>(low - 1), 0U);
  syscall(SYS_close_range, static_cast<unsigned>(low + 1), static_cast<unsigned>(high - 1), 0U);
  syscall(SYS_close_range, static_cast<unsigned>(high + 1), ~0U, 0U);
}

void set_limits(const Options& o) {
  set_limit(RLIMIT_CORE, 0, "rlimit core");
  if (o.cpu_ms > 0) {
    // SIGXCPU at the limit (rounded up to whole seconds, the rlimit's unit); SIGKILL one
    // second later for a program that ignores it.
    rlim_t soft = static_cast<rlim_t>((o.cpu_ms + 999) / 1000);
    rlimit cpu{soft, soft + 1};
    if (setrlimit(RLIMIT_CPU, &cpu) != 0) child_fail("rlimit cpu");
  }
  if (o.as_bytes > 0) set_limit(RLIMIT_AS, static_cast<rlim_t>(o.as_bytes), "rlimit as");
  if (o.stack_bytes > 0) set_limit(RLIMIT_STACK, static_cast<rlim_t>(o.stack_bytes), "rlimit stack");
  if (o.fsize_bytes > 0) set_limit(RLIMIT_FSIZE, static_cast<rlim_t>(o.fsize_bytes), "rlimit fsize");
  if (o.nproc > 0) set_limit(RLIMIT_NPROC, static_cast<rlim_t>(o.nproc), "rlimit nproc");
  if (o.nofile > 0) set_limit(RLIMIT_NOFILE, static_cast<rlim_t>(o.nofile), "rlimit nofile");
  set_limit(RLIMIT_MEMLOCK, 0, "rlimit memlock");
  set_limit(RLIMIT_MSGQUEUE, 0, "rlimit msgqueue");
}

void drop_privileges(const Options& o) {
  if (o.uid < 0) return;
  if (setgroups(0, nullptr) != 0) child_fail("setgroups");
  if (setresgid(static_cast<gid_t>(o.gid), static_cast<gid_t>(o.gid), static_cast<gid_t>(o.gid)) != 0)
    child_fail("setresgid");
  if (setresuid(static_cast<uid_t>(o.uid), static_cast<uid_t>(o.uid), static_cast<uid_t>(o.uid)) != 0)
    child_fail("setresuid");
}

struct ChildArgs {
  const Options* options;
  int error_fd;
  int status_fd;
  int landlock_abi;
  bool as_init;
};

[[noreturn]] void exec_program(const ChildArgs& a) {
  const Options& o = *a.options;
  g_error_fd = a.error_fd;
  // Its own session: kill(0, ...) from the program reaches nobody outside.
  setsid();
  redirect(o.stdin_path, 0, O_RDONLY);
  redirect(o.stdout_path, 1, O_WRONLY | O_CREAT | O_TRUNC);
  redirect(o.stderr_path, 2, O_WRONLY | O_CREAT | O_TRUNC);
  int program = open(o.argv[0], O_PATH | O_CLOEXEC);
  if (program < 0) child_fail("open program");
  close_other_fds(g_error_fd, program);
  int ruleset = build_landlock(o, a.landlock_abi);
  if (chdir(o.cwd.c_str()) != 0) child_fail("chdir");
  if (o.cpu >= 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(static_cast<int>(o.cpu), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) child_fail("sched_setaffinity");
  }
  set_limits(o);
  drop_privileges(o);
  // After the uid change: the kernel clears the parent-death signal on credential changes.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail("pdeathsig");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail("no_new_privs");
  if (prctl(PR_SET_DUMPABLE, 0) != 0) child_fail("dumpable");
  if (ruleset >= 0) {
    if (syscall(SYS_landlock_restrict_self, ruleset, 0U) != 0) child_fail("landlock_restrict_self");
    close(ruleset);
  }
  std::vector<char*> envp;
  for (const std::string& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  install_seccomp(o.profile);
  syscall(SYS_execveat, program, "", o.argv.data(), envp.data(), AT_EMPTY_PATH);
  child_fail("execve");
}

// In a new PID namespace the first process is its init, and the kernel drops signals an init
// has no handler for (SIGXFSZ, SIGXCPU, SIGABRT...).  A tiny init of our own keeps the program
// an ordinary process, passes its wait status up, and its death takes the namespace down.
int child_main(void* raw) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(raw);
  if (!a.as_init) exec_program(a);
  g_error_fd = a.error_fd;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail("pdeathsig");
  pid_t program = fork();
  if (program < 0) child_fail("fork");
  if (program == 0) exec_program(a);
  int status = 0;
  while (waitpid(program, &status, 0) < 0) {
    if (errno != EINTR) child_fail("waitpid");
  }
  (void)!write(a.status_fd, &status, sizeof status);
  _exit(0);
}

// ---- the parent: wait with a wall-clock limit, then report ----------------------------------

struct Outcome {
  int status = 0;
  bool wall_exceeded = false;
  rusage usage{};
  long long wall_us = 0;
};

long long now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

Outcome wait_for(pid_t child, long wall_ms, long long started) {
  Outcome out;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    long long deadline = started + wall_ms * 1000LL;
    for (;;) {
      long long left_ms = (deadline - now_us() + 999) / 1000;
      if (left_ms <= 0) { out.wall_exceeded = true; break; }
      int r = poll(&p, 1, static_cast<int>(left_ms > INT_MAX ? INT_MAX : left_ms));
      if (r > 0) break;
      if (r < 0 && errno != EINTR) break;
    }
    close(pidfd);
  } else {
    // Old kernels: SIGALRM interrupts wait4 at the deadline.
    alarm(static_cast<unsigned>((wall_ms + 999) / 1000));
  }
  if (out.wall_exceeded) kill(child, SIGKILL);
  while (wait4(child, &out.status, __WALL, &out.usage) < 0) {
    if (errno != EINTR) break;
    out.wall_exceeded = true;
    kill(child, SIGKILL);
  }
  out.wall_us = now_us() - started;
  return out;
}

void on_alarm(int) {}

}  // namespace

// Runs one program and reports it; the process that calls this is used up by it.
int run_once(const Options& o) {
  // Dies with whoever started it (the evaluator, or the server); the child dies with us in turn.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
  // The OOM killer must pick the program, never the process that reports on it.
  write_file("/proc/self/oom_score_adj", "-1000");

  // Limits the caller asked for are never dropped silently: no group, no run.
  if (!o.cgroups.empty() && !enter_cgroups(o)) usage_error("cannot enter the slot's cgroups");
  long long oom_before = oom_kills(o);
  int abi = landlock_abi();

  int error_pipe[2];
  int status_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0) usage_error("pipe");
  ChildArgs args{&o, error_pipe[1], status_pipe[1], abi, true};
  // A new PID namespace: when its init dies, the kernel kills and reaps everything the
  // program started, daemons included, before wait4 returns.  No IPC or UTS namespace: they
  // cost more than the whole run, and seccomp already refuses SysV IPC and sethostname.
  int flags = CLONE_NEWPID | SIGCHLD;
  const char* isolation = "pidns";
  long long started = now_us();
  pid_t child = -1;
  if (o.pidns) {
    child = clone(child_main, g_clone_stack + sizeof g_clone_stack, flags, &args);
    if (child < 0 && o.uid < 0) {
      // Unprivileged: a user namespace makes the PID namespace possible.
      flags |= CLONE_NEWUSER;
      isolation = "userns";
      child = clone(child_main, g_clone_stack + sizeof g_clone_stack, flags, &args);
    }
  }
  if (child < 0) {
    // Asked for (a program that cannot create processes needs no namespace to reap its tree),
    // or the fallback where namespaces are unavailable.
    args.as_init = false;
    isolation = o.pidns ? "none" : "process";
    child = clone(child_main, g_clone_stack + sizeof g_clone_stack, SIGCHLD, &args);
  }
  if (child < 0) usage_error("clone failed");
  close(error_pipe[1]);
  close(status_pipe[1]);

  Outcome out = wait_for(child, o.wall_ms, started);
  int program_status = 0;
  if (read(status_pipe[0], &program_status, sizeof program_status) == sizeof program_status)
    out.status = program_status;
  char setup_error[300] = {0};
  ssize_t n = read(error_pipe[0], setup_error, sizeof setup_error - 1);
  if (n < 0) n = 0;
  setup_error[n] = '\0';

  long long cpu_us = out.usage.ru_utime.tv_sec * 1000000LL + out.usage.ru_utime.tv_usec +
                     out.usage.ru_stime.tv_sec * 1000000LL + out.usage.ru_stime.tv_usec;
  bool exited = WIFEXITED(out.status);
  long long oom_after = oom_kills(o);
  char line[1024];
  std::snprintf(
      line, sizeof line,
      "{\"id\":\"%s\",\"exited\":%s,\"exit_code\":%d,\"signal\":%d,\"cpu_us\":%lld,"
      "\"wall_us\":%lld,\"maxrss_kib\":%ld,\"oom_killed\":%s,"
      "\"wall_exceeded\":%s,\"isolation\":\"%s\",\"landlock_abi\":%d,"
      "\"setup_error\":\"%s\"}",
      json_escape(g_request_id).c_str(), exited ? "true" : "false",
      exited ? WEXITSTATUS(out.status) : -1, WIFSIGNALED(out.status) ? WTERMSIG(out.status) : 0,
      cpu_us, out.wall_us, out.usage.ru_maxrss,
      oom_after > oom_before ? "true" : "false", out.wall_exceeded ? "true" : "false", isolation,
      abi, json_escape(setup_error).c_str());
  emit(line);
  return 0;
}

// ---- server mode: one long-lived launcher, one forked runner per request -------------------
//
// Requests arrive on stdin, one per line, fields separated by tabs: "<id>\t<option>\t...\t--\t
// <program>" runs a program, "kill\t<id>" stops one.  Each runner writes its result line on
// stdout.  Forking this small static process costs far less than Python spawning a launcher.

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

[[noreturn]] void runner_main(std::vector<std::string> fields) {
  signal(SIGCHLD, SIG_DFL);  // the server ignores it; wait4 needs it back
  g_request_id = fields[0];
  std::vector<char*> argv;
  for (std::string& f : fields) argv.push_back(f.data());  // fields[0] stands in for argv[0]
  Options o = parse_options(static_cast<int>(argv.size()), argv.data());
  _exit(run_once(o));
}

struct Runner {
  std::string id;
  int pidfd;
};

void handle_request(const std::string& line, std::vector<Runner>& runners) {
  std::vector<std::string> fields = split_tabs(line);
  if (fields.size() == 2 && fields[0] == "kill") {
    for (const Runner& r : runners)
      if (r.id == fields[1]) syscall(SYS_pidfd_send_signal, r.pidfd, SIGKILL, nullptr, 0);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) runner_main(fields);
  if (pid < 0) {
    g_request_id = fields[0];
    emit("{\"id\":\"" + json_escape(fields[0]) + "\",\"setup_error\":\"launcher: fork failed\"}");
    return;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) runners.push_back({fields[0], pidfd});
}

int serve() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGCHLD, SIG_IGN);  // runners are reaped by the kernel; pidfds tell us when they end
  std::vector<Runner> runners;
  std::string pending;
  char chunk[65536];
  for (;;) {
    std::vector<pollfd> fds{{0, POLLIN, 0}};
    for (const Runner& r : runners) fds.push_back({r.pidfd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (size_t i = fds.size() - 1; i >= 1; --i) {
      if (fds[i].revents == 0) continue;
      close(runners[i - 1].pidfd);
      runners.erase(runners.begin() + static_cast<long>(i - 1));
    }
    if (fds[0].revents == 0) continue;
    ssize_t n = read(0, chunk, sizeof chunk);
    if (n <= 0) {
      // The evaluator closed the pipe: stop everything still running.
      for (const Runner& r : runners) syscall(SYS_pidfd_send_signal, r.pidfd, SIGKILL, nullptr, 0);
      return 0;
    }
    pending.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!line.empty()) handle_request(line, runners);
    }
  }
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--serve") == 0) return serve();
  return run_once(parse_options(argc, argv));
}
