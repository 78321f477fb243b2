#include "run.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "child.h"
#include "common.h"
#include "landlock.h"
#include "seccomp.h"

namespace {

// The init's stack: in BSS, so pages are only touched as used (a zero-filled vector costs more).
alignas(16) char g_clone_stack[256 * 1024];

struct Outcome {
  int status = 0;
  bool wall_exceeded = false;
  bool memory_exceeded = false;
  long refused_syscall = -1;
  rusage usage{};
  long long wall_us = 0;
};

long long now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

// The test input as a sealed anonymous copy: /proc/self/fd/0 then names no file, so a program
// cannot learn where the tests (and their expected outputs) live.  Devices stay as they are.
int open_stdin(const std::string& path, bool* copied) {
  int source = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source < 0) return -1;
  struct stat st;
  if (fstat(source, &st) != 0 || !S_ISREG(st.st_mode)) return source;
  int copy = memfd_create("pie-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (copy < 0) return source;  // no memfd (kernel < 3.17): the path stays visible
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(copy, source, nullptr, static_cast<size_t>(left));
    if (n <= 0) break;
    left -= n;
  }
  close(source);
  if (left != 0) {
    close(copy);
    return -1;
  }
  lseek(copy, 0, SEEK_SET);
  fcntl(copy, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  *copied = true;
  return copy;
}

int receive_listener(int socket_fd) {
  char data;
  iovec iov{&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  if (recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
  return fd;
}

// The number of the system call a notification is about, or -1.
long refused_call(int listener) {
#ifdef SECCOMP_IOCTL_NOTIF_RECV
  seccomp_notif_sizes sizes{};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) return -1;
  std::string buffer(sizes.seccomp_notif < sizeof(seccomp_notif) ? sizeof(seccomp_notif) : sizes.seccomp_notif, '\0');
  auto* notice = reinterpret_cast<seccomp_notif*>(buffer.data());
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, notice) != 0) return -1;
  return notice->data.nr;
#else
  (void)listener;
  return -1;
#endif
}

// The program's pid as we see it: the child, or the init's only child.
pid_t program_pid(pid_t child, bool as_init) {
  if (!as_init) return child;
  std::string path = "/proc/" + std::to_string(child) + "/task/" + std::to_string(child) + "/children";
  long long pid = read_counter(path, nullptr);
  return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

long long resident_bytes(pid_t pid) {
  if (pid <= 0) return 0;
  long long pages = read_counter("/proc/" + std::to_string(pid) + "/statm", " ");
  return pages < 0 ? 0 : pages * sysconf(_SC_PAGESIZE);
}

struct Watch {
  int notify_socket;  // until the listener arrives
  int listener;
  bool by_rss;
  long long memory_bytes;
  bool as_init;
};

constexpr long long RSS_POLL_MS = 5;

void on_notify_socket(Watch& w) {
  w.listener = receive_listener(w.notify_socket);
  close(w.notify_socket);
  w.notify_socket = -1;
}

Outcome wait_for(pid_t child, long long wall_limit_ms, long long started, Watch w) {
  Outcome out;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (pidfd >= 0) {
    long long deadline = started + wall_limit_ms * 1000LL;
    for (;;) {
      long long left_ms = (deadline - now_us() + 999) / 1000;
      if (left_ms <= 0) { out.wall_exceeded = true; break; }
      if (w.by_rss && left_ms > RSS_POLL_MS) left_ms = RSS_POLL_MS;
      pollfd fds[2] = {{pidfd, POLLIN, 0}, {w.listener >= 0 ? w.listener : w.notify_socket, POLLIN, 0}};
      nfds_t count = fds[1].fd >= 0 ? 2 : 1;
      int ready = poll(fds, count, static_cast<int>(left_ms > INT_MAX ? INT_MAX : left_ms));
      if (ready < 0 && errno != EINTR) break;
      if (ready > 0 && fds[0].revents) break;
      if (ready > 0 && count == 2 && fds[1].revents) {
        if (w.listener < 0) {
          on_notify_socket(w);
        } else if (fds[1].revents & POLLIN) {
          out.refused_syscall = refused_call(w.listener);
          kill(child, SIGKILL);
        } else {
          close(w.listener);
          w.listener = -1;
        }
      }
      if (w.by_rss && resident_bytes(program_pid(child, w.as_init)) > w.memory_bytes) {
        out.memory_exceeded = true;
        kill(child, SIGKILL);
      }
    }
    close(pidfd);
  } else {
    // Old kernels: SIGALRM interrupts wait4 at the deadline.
    alarm(static_cast<unsigned>((wall_limit_ms + 999) / 1000));
  }
  if (w.notify_socket >= 0) close(w.notify_socket);
  if (w.listener >= 0) close(w.listener);
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

std::string report_line(const Request& r, const Outcome& out, const char* isolation, int abi,
                        bool oom, bool hidden, bool stdin_copied, const char* setup_error) {
  bool exited = WIFEXITED(out.status);
  int signal_number = WIFSIGNALED(out.status) ? WTERMSIG(out.status) : 0;
  // killed by us for a refused call: report the signal the kernel would have sent
  if (out.refused_syscall >= 0) signal_number = SIGSYS;
  long long cpu_us = out.usage.ru_utime.tv_sec * 1000000LL + out.usage.ru_utime.tv_usec +
                     out.usage.ru_stime.tv_sec * 1000000LL + out.usage.ru_stime.tv_usec;
  char numbers[512];
  std::snprintf(numbers, sizeof numbers,
                "\"exited\":%s,\"exit_code\":%d,\"signal\":%d,\"cpu_us\":%lld,\"wall_us\":%lld,"
                "\"maxrss_kib\":%ld,\"oom_killed\":%s,\"memory_exceeded\":%s,\"wall_exceeded\":%s,"
                "\"refused_syscall\":%ld,\"landlock_abi\":%d,\"hidden\":%s,\"stdin_copied\":%s",
                exited ? "true" : "false", exited ? WEXITSTATUS(out.status) : -1, signal_number,
                cpu_us, out.wall_us, out.usage.ru_maxrss, oom ? "true" : "false",
                out.memory_exceeded ? "true" : "false", out.wall_exceeded ? "true" : "false",
                out.refused_syscall, abi, hidden ? "true" : "false", stdin_copied ? "true" : "false");
  (void)r;
  return "{\"id\":" + json_string(g_request_id) + "," + numbers +
         ",\"refused_syscall_name\":" + json_string(syscall_name(out.refused_syscall)) +
         ",\"isolation\":" + json_string(isolation) + ",\"setup_error\":" + json_string(setup_error) + "}";
}

void reap_orphans() {
  while (waitpid(-1, nullptr, WNOHANG | __WALL) > 0) {
  }
}

}  // namespace

int run_once(const Request& r) {
  // Dies with whoever started it (the evaluator, or the server); the child dies with us in turn.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Orphans of a run without a PID namespace become ours, so they can be killed and reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
  // The OOM killer must pick the program, never the process that reports on it.
  write_file("/proc/self/oom_score_adj", "-1000");

  bool stdin_copied = false;
  int stdin_fd = open_stdin(r.stdin_path, &stdin_copied);
  if (stdin_fd < 0) usage_error((std::string("open stdin: ") + std::strerror(errno)).c_str());
  long long oom_before = oom_kills(r);
  int abi = landlock_abi();
  auto* shared = static_cast<Shared*>(mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                                           MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) usage_error("mmap");
  shared->hidden = 0;

  int error_pipe[2];
  int status_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0) usage_error("pipe");
  int notify[2] = {-1, -1};
  bool name_calls = r.profile == "run" && r.name_refused_syscalls && r.open_files < NOTIFY_SOCKET_FD;
  if (name_calls && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, notify) != 0) notify[0] = notify[1] = -1;
  ChildArgs args{&r, error_pipe[1], status_pipe[1], stdin_fd, notify[1], abi, true, shared};
  // A new PID namespace: when its init dies, the kernel kills and reaps everything the
  // program started, daemons included, before wait4 returns.  No IPC or UTS namespace: they
  // cost more than the whole run, and seccomp already refuses SysV IPC and sethostname.
  int flags = CLONE_NEWPID | SIGCHLD;
  const char* isolation = "pidns";
  long long started = now_us();
  pid_t child = -1;
  if (r.pid_namespace) {
    child = clone(child_main, g_clone_stack + sizeof g_clone_stack, flags, &args);
    if (child < 0 && r.uid < 0) {
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
    isolation = r.pid_namespace ? "none" : "process";
    child = clone(child_main, g_clone_stack + sizeof g_clone_stack, SIGCHLD, &args);
  }
  if (child < 0) usage_error("clone failed");
  close(error_pipe[1]);
  close(status_pipe[1]);
  close(stdin_fd);
  if (notify[1] >= 0) close(notify[1]);

  Watch watch{notify[0], -1, r.memory_by_rss && r.memory_bytes > 0, r.memory_bytes, args.as_init};
  Outcome out = wait_for(child, r.wall_limit_ms, started, watch);
  int program_status = 0;
  if (read(status_pipe[0], &program_status, sizeof program_status) == sizeof program_status)
    out.status = program_status;
  char setup_error[300] = {0};
  ssize_t n = read(error_pipe[0], setup_error, sizeof setup_error - 1);
  if (n < 0) n = 0;
  setup_error[n] = '\0';

  // Nothing the run started may outlive it: its cgroups, then its session (no PID namespace).
  kill_cgroup_members(r);
  if (!args.as_init) kill(-child, SIGKILL);
  reap_orphans();
  if (watch.by_rss && static_cast<long long>(out.usage.ru_maxrss) * 1024 > r.memory_bytes)
    out.memory_exceeded = true;
  bool oom = oom_kills(r) > oom_before;
  emit(report_line(r, out, isolation, abi, oom, shared->hidden != 0, stdin_copied, setup_error));
  return 0;
}
