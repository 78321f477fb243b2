#include "seccomp.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "policy.h"
#include "syscall_names.h"

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

namespace {

uint32_t action_of(Action action, int err) {
  switch (action) {
    case Action::Allow: return SECCOMP_RET_ALLOW;
    case Action::Errno: return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA);
    case Action::Kill: return SECCOMP_RET_KILL_PROCESS;
    case Action::AllowIfFlag: return SECCOMP_RET_ALLOW;
  }
  return SECCOMP_RET_KILL_PROCESS;
}

class Program {
 public:
  void stmt(uint16_t code, uint32_t k) { p_.push_back(BPF_STMT(code, k)); }
  void jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { p_.push_back(BPF_JUMP(code, k, jt, jf)); }
  void load_nr() { stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)); }
  void load_arg_low(int arg) { stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args) + 8 * arg); }
  std::vector<sock_filter>& code() { return p_; }

 private:
  std::vector<sock_filter> p_;
};

// Rules are matched in order; the accumulator holds the call number between them.
std::vector<sock_filter> filter_for(const Rule* rules, size_t count, uint32_t fallback, int notify_socket) {
  Program p;
  p.stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  p.jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  p.stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  p.load_nr();
  p.jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);  // x32 numbers alias x86_64 ones
  p.stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  if (notify_socket >= 0) {
    // the one sendmsg the launcher itself makes after the filter is in place
    p.jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 4);
    p.load_arg_low(0);
    p.jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(notify_socket), 0, 1);
    p.stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    p.load_nr();
  }
  for (size_t i = 0; i < count; ++i) {
    const Rule& r = rules[i];
    if (r.action == Action::AllowIfFlag) {
      p.jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.nr), 0, 4);
      p.load_arg_low(r.arg);
      p.jump(BPF_JMP | BPF_JSET | BPF_K, static_cast<uint32_t>(r.flag), 0, 1);
      p.stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
      p.stmt(BPF_RET | BPF_K, action_of(Action::Errno, r.err));
    } else {
      p.jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.nr), 0, 1);
      p.stmt(BPF_RET | BPF_K, action_of(r.action, r.err));
    }
  }
  p.stmt(BPF_RET | BPF_K, fallback);
  return p.code();
}

int install(std::vector<sock_filter>& program, unsigned long flags) {
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  return static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog));
}

void send_listener(int socket_fd, int listener) {
  char data = 'L';
  iovec iov{&data, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof control);
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &listener, sizeof(int));
  if (sendmsg(socket_fd, &message, 0) != 1) child_fail("send seccomp listener");
}

}  // namespace

void install_seccomp(const std::string& profile, int notify_socket) {
  constexpr unsigned long SPEC = SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  std::vector<sock_filter> program;
  if (profile == "compile") {
    program = filter_for(COMPILE_RULES, std::size(COMPILE_RULES), action_of(COMPILE_DEFAULT, EPERM), -1);
  } else if (profile == "qemu") {
    program = filter_for(QEMU_RULES, std::size(QEMU_RULES), action_of(QEMU_DEFAULT, EPERM), -1);
  } else if (notify_socket >= 0) {
    program = filter_for(RUN_RULES, std::size(RUN_RULES), SECCOMP_RET_USER_NOTIF, notify_socket);
    int listener = install(program, SPEC | SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (listener >= 0) {
      send_listener(notify_socket, listener);
      close(listener);
      close(notify_socket);
      return;
    }
    // no listener here (an old kernel, or one already held above us): refused calls kill
    program = filter_for(RUN_RULES, std::size(RUN_RULES), action_of(RUN_DEFAULT, EPERM), -1);
  } else {
    program = filter_for(RUN_RULES, std::size(RUN_RULES), action_of(RUN_DEFAULT, EPERM), -1);
  }
  if (notify_socket >= 0) close(notify_socket);
  if (install(program, SPEC) != 0) child_fail("seccomp");
}

const char* syscall_name(long nr) {
  for (const SyscallName& entry : SYSCALL_NAMES)
    if (entry.nr == nr) return entry.name;
  return "";
}
