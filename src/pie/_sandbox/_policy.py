"""What an untrusted program (and the compiler run on it) may do: the sandbox policy as data.

Everything the launcher enforces is declared here and rendered into ``policy.h``; the launcher
source only knows how to apply it.  Reading this file answers "what can a submission do?".
"""

from __future__ import annotations

import errno
from pathlib import Path

import attrs


@attrs.frozen
class SyscallRule:
    """One seccomp rule: ``action`` is ``allow``, ``errno`` or ``kill``.

    ``allow_if_flag`` allows the call when bit ``flag`` of argument ``arg`` is set and fails it
    with ``err`` otherwise (used to allow threads but not processes).
    """

    name: str
    action: str
    err: int = errno.EPERM
    arg: int = 0
    flag: int = 0


CLONE_THREAD = 0x00010000

# A glibc/libstdc++ program that computes, allocates, reads stdin, writes stdout and maybe
# starts threads.  Anything not listed kills the process with SIGSYS.
_RUN_ALLOWED = """
read write readv writev pread64 pwrite64 lseek close fstat newfstatat stat lstat statx
access faccessat faccessat2 open openat readlink readlinkat getcwd getdents64 fcntl dup dup2
dup3 pipe pipe2 poll ppoll select pselect6 ioctl
mmap munmap mprotect mremap brk madvise mincore membarrier
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait rt_sigsuspend
sigaltstack kill tgkill tkill
getpid gettid getppid getuid geteuid getgid getegid getresuid getresgid getgroups getpgrp
getpgid getsid uname arch_prctl set_tid_address set_robust_list get_robust_list rseq
prlimit64 getrlimit setrlimit getrusage times sysinfo umask
futex futex_waitv sched_yield sched_getaffinity sched_getparam sched_getscheduler
clock_gettime clock_getres clock_nanosleep nanosleep gettimeofday time getrandom
exit exit_group execve execveat
"""

# Calls a hostile program reaches for; they fail with an error instead of killing it, so that
# ordinary library probes (e.g. glibc trying clone3 first) keep working.
_RUN_DENIED = {
    errno.EACCES: "socket socketpair connect bind listen accept accept4 sendto recvfrom "
    "sendmsg recvmsg shutdown",
    errno.EPERM: "ptrace process_vm_readv process_vm_writev personality setuid setgid "
    "setreuid setregid setresuid setresgid setgroups unshare setns mount umount2 "
    "chroot pivot_root keyctl add_key request_key bpf perf_event_open userfaultfd "
    "io_uring_setup kcmp name_to_handle_at open_by_handle_at memfd_create "
    "setpriority sched_setaffinity sched_setscheduler",
    errno.EAGAIN: "fork vfork",
    errno.ENOSYS: "clone3",
}
# Changing the file system; Landlock forbids it too, this says so earlier and more plainly.
_RUN_FILE_CHANGES = (
    "mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link linkat symlink "
    "symlinkat chmod fchmod fchmodat chown fchown lchown fchownat creat truncate "
    "ftruncate mknod mknodat"
)

# The compiler forks and execs its own tools; it is confined by Landlock, limits and the PID
# namespace, and seccomp only closes the network and other processes.
_COMPILE_DENIED = {
    errno.EACCES: "socket socketpair connect bind listen accept accept4",
    errno.EPERM: "ptrace process_vm_readv process_vm_writev unshare setns mount "
    "keyctl add_key request_key bpf perf_event_open userfaultfd io_uring_setup",
}


def _names(text: str) -> list[str]:
    return text.split()


def run_rules() -> list[SyscallRule]:
    rules = [SyscallRule(name, "allow") for name in _names(_RUN_ALLOWED)]
    rules.append(SyscallRule("clone", "allow_if_flag", errno.EAGAIN, 0, CLONE_THREAD))
    rules.extend(_denied_rules())
    rules.extend(SyscallRule(name, "errno", errno.EPERM) for name in _names(_RUN_FILE_CHANGES))
    return rules


def _denied_rules() -> list[SyscallRule]:
    return [
        SyscallRule(name, "errno", err)
        for err, names in _RUN_DENIED.items()
        for name in _names(names)
    ]


# qemu-user executes the program's system calls itself and needs many of its own (threads for
# its RCU and the guest's, signals, memory maps), so it gets a deny-list: the run profile's
# refusals of network, processes, tracing and privileges, and SysV IPC refused, since its
# objects would outlive the run (there is no IPC namespace: it costs more than a run).  pie's
# plugin refuses the same calls with a reason before qemu makes them.  Process creation is left
# to the plugin: it forks the emulator itself (one child per test after a shared start-up),
# refuses every guest fork before qemu can make it, and puts each child (and a one-test run)
# under a filter of its own that refuses clone without CLONE_THREAD.  Only programs that
# already passed every test are timed this way.
_SYSV_IPC = "shmget shmat shmdt shmctl semget semop semtimedop semctl msgget msgsnd msgrcv msgctl"


def qemu_rules() -> list[SyscallRule]:
    return [
        *_denied_rules(),
        *(SyscallRule(name, "errno", errno.EPERM) for name in _names(_SYSV_IPC)),
        # the launcher starts qemu with execveat; nothing in the run may start another program
        SyscallRule("execve", "errno", errno.EPERM),
    ]


def compile_rules() -> list[SyscallRule]:
    return [
        SyscallRule(name, "errno", err)
        for err, names in _COMPILE_DENIED.items()
        for name in _names(names)
    ]


# Landlock: the only paths a test run may open.  Libraries and the loader, nothing else;
# the binary itself is added per run with execute rights.
RUN_READ_PATHS = (
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/dev/urandom",
    "/dev/zero",
)
RUN_WRITE_PATHS = ("/dev/null",)

# The compiler also needs its headers and tools; /usr/local and /home are deliberately absent
# (pip installs there, and test folders live there), so no test output can be #included.
COMPILE_EXEC_PATHS = (
    "/usr/bin",
    "/usr/libexec",
    "/usr/lib",
    "/usr/lib64",
    "/lib",
    "/lib64",
    "/bin",
)
COMPILE_READ_PATHS = (
    "/usr/include",
    "/usr/share/gcc",
    "/etc/ld.so.cache",
    "/etc/alternatives",
    "/dev/zero",
)
COMPILE_WRITE_PATHS = ("/dev/null",)
# A toolchain root (CompileOptions.toolchain_root) adds its own copies of the toolchain folders:
# the compiler and its programs (executed), the headers (read). Its /etc, /home, /opt, /var and
# /tmp stay out of reach (a gem5 host's root holds the farm's scratch space).
TOOLCHAIN_ROOT_EXEC_PATHS = (
    "usr/bin",
    "usr/libexec",
    "usr/lib",
    "usr/lib64",
    "lib",
    "lib64",
    "bin",
)
TOOLCHAIN_ROOT_READ_PATHS = ("usr/include",)


def toolchain_root_paths(root: Path) -> tuple[list[str], list[str]]:
    """The (read, execute) grants of a toolchain root: its toolchain folders that exist and do
    not lead out of it (``lib -> usr/lib`` is followed; an absolute link, meant for the root's
    own ``/``, would grant a folder of this host instead and is left out)."""
    real_root = root.resolve()

    def inside(folders: tuple[str, ...]) -> list[str]:
        found = []
        for folder in folders:
            real = (root / folder).resolve()
            if real.is_dir() and real.is_relative_to(real_root) and str(real) not in found:
                found.append(str(real))
        return found

    return inside(TOOLCHAIN_ROOT_READ_PATHS), inside(TOOLCHAIN_ROOT_EXEC_PATHS)


# qemu reads the guest's loader and libraries as the program would, and its own libraries.
QEMU_READ_PATHS = RUN_READ_PATHS


def _render_rules(array: str, rules: list[SyscallRule]) -> str:
    actions = {
        "allow": "Action::Allow",
        "errno": "Action::Errno",
        "kill": "Action::Kill",
        "allow_if_flag": "Action::AllowIfFlag",
    }
    lines = [f"static const Rule {array}[] = {{"]
    for r in rules:
        lines.append(f"#ifdef __NR_{r.name}")
        lines.append(f"  {{__NR_{r.name}, {actions[r.action]}, {r.err}, {r.arg}, {r.flag}ULL}},")
        lines.append("#endif")
    lines.append("};")
    return "\n".join(lines)


def render_header() -> str:
    """The C++ header the launcher includes: the seccomp rules of its profiles."""
    return "\n".join(
        [
            "// Generated by pie/_sandbox/_policy.py; do not edit.",
            "#pragma once",
            "#include <sys/syscall.h>",
            "enum class Action { Allow, Errno, Kill, AllowIfFlag };",
            "struct Rule { long nr; Action action; int err; int arg; unsigned long long flag; };",
            _render_rules("RUN_RULES", run_rules()),
            "constexpr Action RUN_DEFAULT = Action::Kill;",
            _render_rules("COMPILE_RULES", compile_rules()),
            "constexpr Action COMPILE_DEFAULT = Action::Allow;",
            _render_rules("QEMU_RULES", qemu_rules()),
            "constexpr Action QEMU_DEFAULT = Action::Allow;",
            "",
        ]
    )
