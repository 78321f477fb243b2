#include "child.h"

#include <cerrno>
#include <csignal>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "cgroups.h"
#include "common.h"
#include "landlock.h"
#include "seccomp.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace {

void set_limit(int resource, rlim_t value, const char* what) {
  rlimit limit{value, value};
  if (setrlimit(resource, &limit) != 0) child_fail(what);
}

void redirect(const std::string& path, int target, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) child_fail(target == 1 ? "open stdout" : "open stderr");
  if (dup2(fd, target) < 0) child_fail("dup2");
  close(fd);
}

// Keeps only stdio and the descriptors the child still needs.
void close_other_fds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned low = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(low)) continue;
    if (static_cast<unsigned>(fd) > low) syscall(SYS_close_range, low, static_cast<unsigned>(fd - 1), 0U);
    low = static_cast<unsigned>(fd) + 1;
  }
  syscall(SYS_close_range, low, ~0U, 0U);
}

void set_limits(const Request& r) {
  set_limit(RLIMIT_CORE, 0, "rlimit core");
  if (r.time_limit_ms > 0) {
    // SIGXCPU at the limit (rounded up to whole seconds, the rlimit's unit); SIGKILL one
    // second later for a program that ignores it.
    rlim_t soft = static_cast<rlim_t>((r.time_limit_ms + 999) / 1000);
    rlimit cpu{soft, soft + 1};
    if (setrlimit(RLIMIT_CPU, &cpu) != 0) child_fail("rlimit cpu");
  }
  if (r.address_bytes > 0) set_limit(RLIMIT_AS, static_cast<rlim_t>(r.address_bytes), "rlimit as");
  if (r.stack_bytes > 0) set_limit(RLIMIT_STACK, static_cast<rlim_t>(r.stack_bytes), "rlimit stack");
  if (r.output_bytes > 0) set_limit(RLIMIT_FSIZE, static_cast<rlim_t>(r.output_bytes), "rlimit fsize");
  if (r.processes > 0) set_limit(RLIMIT_NPROC, static_cast<rlim_t>(r.processes), "rlimit nproc");
  if (r.open_files > 0) set_limit(RLIMIT_NOFILE, static_cast<rlim_t>(r.open_files), "rlimit nofile");
  set_limit(RLIMIT_MEMLOCK, 0, "rlimit memlock");
  set_limit(RLIMIT_MSGQUEUE, 0, "rlimit msgqueue");
}

void drop_privileges(const Request& r) {
  if (r.uid < 0) return;
  if (setgroups(0, nullptr) != 0) child_fail("setgroups");
  if (setresgid(static_cast<gid_t>(r.gid), static_cast<gid_t>(r.gid), static_cast<gid_t>(r.gid)) != 0)
    child_fail("setresgid");
  if (setresuid(static_cast<uid_t>(r.uid), static_cast<uid_t>(r.uid), static_cast<uid_t>(r.uid)) != 0)
    child_fail("setresuid");
}

// A private mount namespace in which each ``hide`` directory is an empty read-only tmpfs: the
// expected outputs beside the test input cannot even be stat'ed.  Unprivileged, a user
// namespace owns the mount namespace.  Where neither can be made (a default container), the
// run goes on and the launcher reports that nothing was hidden.
bool hide_directories(const Request& r) {
  if (r.hide.empty()) return false;
  if (unshare(CLONE_NEWNS) != 0) {
    if (r.uid >= 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
  }
  // private first: a mount made here must never propagate to the host's namespace
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail("private mounts");
  for (const std::string& dir : r.hide) {
    unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("pie-hidden", dir.c_str(), "tmpfs", flags, "size=4k,nr_inodes=1,mode=0555") != 0)
      child_fail("hide a test directory");
  }
  return true;
}

[[noreturn]] void exec_program(const ChildArgs& a) {
  const Request& r = *a.request;
  g_error_fd = a.error_fd;
  // Its own session: kill(0, ...) from the program reaches nobody outside.
  setsid();
  if (dup2(a.stdin_fd, 0) < 0) child_fail("stdin");
  redirect(r.stdout_path, 1, O_WRONLY | O_CREAT | O_TRUNC);
  redirect(r.stderr_path, 2, O_WRONLY | O_CREAT | O_TRUNC);
  int program = open(r.program[0].c_str(), O_PATH | O_CLOEXEC);
  if (program < 0) child_fail("open program");
  int notify = -1;
  if (a.notify_fd >= 0) {
    if (dup2(a.notify_fd, NOTIFY_SOCKET_FD) < 0) child_fail("dup2 notify socket");
    notify = NOTIFY_SOCKET_FD;
  }
  close_other_fds({g_error_fd, program, notify});
  if (hide_directories(r)) a.shared->hidden = 1;
  int ruleset = build_landlock(r, a.landlock_abi);
  if (chdir(r.cwd.c_str()) != 0) child_fail("chdir");
  if (r.pin_cpu >= 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(static_cast<int>(r.pin_cpu), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) child_fail("sched_setaffinity");
  }
  set_limits(r);
  drop_privileges(r);
  // After the uid change: the kernel clears the parent-death signal on credential changes.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail("pdeathsig");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail("no_new_privs");
  if (prctl(PR_SET_DUMPABLE, 0) != 0) child_fail("dumpable");
  restrict_self(ruleset);
  std::vector<char*> envp;
  for (const std::string& e : r.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<char*> argv = program_argv(r);
  install_seccomp(r.profile, notify);
  syscall(SYS_execveat, program, "", argv.data(), envp.data(), AT_EMPTY_PATH);
  child_fail("execve");
}

}  // namespace

// In a new PID namespace the first process is its init, and the kernel drops signals an init
// has no handler for (SIGXFSZ, SIGXCPU, SIGABRT...).  A tiny init of our own keeps the program
// an ordinary process, passes its wait status up, and its death takes the namespace down.
int child_main(void* raw) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(raw);
  g_error_fd = a.error_fd;
  // Before anything can allocate or fork; the init counts against pids.max too.
  const Request& r = *a.request;
  if (!r.cgroups.empty() && !join_cgroups(r, a.as_init ? 1 : 0)) child_fail("cannot enter the slot's cgroups");
  if (!a.as_init) exec_program(a);
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
