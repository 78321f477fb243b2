"""What isolation this host offers, detected once; weaker modes are named, never silent."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import attrs

from pie._sandbox import _cgroups
from pie._sandbox._cgroups import Cgroups

_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_VERSION_FLAG = 1


@attrs.frozen
class HostCapabilities:
    root: bool
    landlock_abi: int
    seccomp: bool
    cgroups: Cgroups = attrs.field(factory=lambda: Cgroups(None))
    pid_namespace: bool = False
    # the launcher's probes: a private mount namespace hides the test folder; the test input
    # is handed over as an anonymous copy; refused system calls can be named
    hide_tests: bool = False
    stdin_copy: bool = False
    name_syscalls: bool = False
    scratch_in_memory: bool = True

    @property
    def cgroup_memory(self) -> bool:
        return self.cgroups.memory

    @property
    def cgroup_pids(self) -> bool:
        return self.cgroups.pids

    @property
    def summary(self) -> str:
        parts = ["pidns" if self.pid_namespace else "no-pidns"]
        parts.append(f"landlock{self.landlock_abi}" if self.landlock_abi else "no-landlock")
        parts.append("seccomp" if self.seccomp else "no-seccomp")
        groups = [n for n, ok in (("memory", self.cgroup_memory), ("pids", self.cgroup_pids)) if ok]
        name = "cgroup2" if self.cgroups.version == 2 else "cgroup"
        parts.append(f"{name}({','.join(groups)})" if groups else "no-cgroup")
        parts.append("uid-drop" if self.root else "same-uid")
        parts.append("hidden-tests" if self.hide_tests else "visible-tests")
        return "+".join(parts)

    def weaknesses(self) -> list[str]:
        """One sentence per missing mechanism: what is lost and what replaces it."""
        notes = []
        if not self.pid_namespace:
            notes.append(
                "no PID namespace: the compiler's processes are killed by cgroup or session "
                "only; a compiler child that calls setsid may escape cleanup (test runs cannot "
                "create processes at all)"
            )
        if self.landlock_abi == 0:
            notes.append(
                "no Landlock (kernel < 5.13 or disabled): a program can read any file its uid "
                "can read, expected outputs included unless they are private to root"
            )
        if not self.seccomp:
            notes.append("no seccomp: network and process creation are not blocked")
        if not self.cgroup_memory:
            notes.append(
                "no memory cgroup: the memory limit is enforced by watching the resident size "
                "(every 5 ms, and the peak at exit) under a 16x address-space cap, so MLE stays "
                "MLE but a burst between two looks can briefly exceed the limit"
            )
        if not self.cgroup_pids:
            notes.append("no pids cgroup: thread count is bounded by RLIMIT_NPROC only")
        notes += [f"cgroup: {note}" for note in self.cgroups.notes]
        if not self.root:
            notes.append("not root: programs run under your own uid (Landlock still confines them)")
        if not self.hide_tests:
            notes.append(
                "no private mount namespace (no CAP_SYS_ADMIN, no user namespaces): a program "
                "that guesses the test folder's path can stat the expected outputs (their size, "
                "not their content: Landlock refuses to open them); keep test folders in a "
                "directory the sandbox uid cannot traverse (chmod o-x)"
            )
        if not self.stdin_copy:
            notes.append("no memfd: /proc/self/fd/0 names the test input's path")
        if not self.name_syscalls:
            notes.append(
                "no seccomp listener: a refused system call kills the program with SIGSYS "
                "without naming the call"
            )
        if not self.scratch_in_memory:
            notes.append(
                "no writable /dev/shm: run output is written to the temporary directory on disk "
                "(slower for big outputs; verdicts are the same)"
            )
        return notes


def landlock_abi() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_VERSION_FLAG)
    return max(0, int(abi))


def seccomp_available() -> bool:
    status = Path("/proc/self/status").read_text()
    return any(line.startswith("Seccomp:") for line in status.splitlines())


def scratch_root() -> str | None:
    """Memory-backed scratch space when there is some: truncating and rewriting output files
    on a disk file system costs more than a short run.  Output written there counts against
    the run's memory limit."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def detect() -> HostCapabilities:
    """What Python alone can tell; the launcher's probes (``Sandbox``) add the rest."""
    return HostCapabilities(
        root=os.geteuid() == 0,
        landlock_abi=landlock_abi(),
        seccomp=seccomp_available(),
        cgroups=_cgroups.detect(),
        scratch_in_memory=scratch_root() is not None,
    )
