"""What isolation this host offers, detected once; weaker modes are named, never silent."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import attrs

CGROUP_V1_ROOT = Path("/sys/fs/cgroup")
_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_VERSION_FLAG = 1


@attrs.frozen
class HostCapabilities:
    root: bool
    landlock_abi: int
    seccomp: bool
    cgroup_memory: Path | None
    cgroup_pids: Path | None
    pid_namespace: bool = False

    @property
    def summary(self) -> str:
        parts = ["pidns" if self.pid_namespace else "no-pidns"]
        parts.append(f"landlock{self.landlock_abi}" if self.landlock_abi else "no-landlock")
        parts.append("seccomp" if self.seccomp else "no-seccomp")
        groups = [n for n, p in (("memory", self.cgroup_memory), ("pids", self.cgroup_pids)) if p]
        parts.append(f"cgroup({','.join(groups)})" if groups else "no-cgroup")
        parts.append("uid-drop" if self.root else "same-uid")
        return "+".join(parts)

    def weaknesses(self) -> list[str]:
        """One sentence per missing mechanism: what is lost and what replaces it."""
        notes = []
        if not self.pid_namespace:
            notes.append(
                "no PID namespace: processes a program leaves behind are killed by process "
                "group only; a daemon that calls setsid may escape cleanup"
            )
        if self.landlock_abi == 0:
            notes.append(
                "no Landlock (kernel < 5.13 or disabled): a program can read any file its uid "
                "can read, expected outputs included unless they are private to root"
            )
        if not self.seccomp:
            notes.append("no seccomp: network and process creation are not blocked")
        if self.cgroup_memory is None:
            notes.append(
                "no memory cgroup (pie drives cgroup v1 as root): the memory limit is an "
                "address-space rlimit, so MLE shows as a failed allocation (RE)"
            )
        if self.cgroup_pids is None:
            notes.append("no pids cgroup: thread count is bounded by RLIMIT_NPROC only")
        if not self.root:
            notes.append("not root: programs run under your own uid (Landlock still confines them)")
        return notes


def landlock_abi() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_VERSION_FLAG)
    return max(0, int(abi))


def seccomp_available() -> bool:
    status = Path("/proc/self/status").read_text()
    return any(line.startswith("Seccomp:") for line in status.splitlines())


def _cgroup_v1_dir(controller: str) -> Path | None:
    """``/sys/fs/cgroup/<controller>/pie`` if we may create groups there (cgroup v1, root)."""
    mount = CGROUP_V1_ROOT / controller
    marker = "memory.limit_in_bytes" if controller == "memory" else "pids.max"
    if os.geteuid() != 0 or not (mount / "cgroup.procs").exists():
        return None
    base = mount / "pie"
    try:
        base.mkdir(exist_ok=True)
    except OSError:
        return None
    if controller == "memory" and not (base / marker).exists():
        return None
    return base


def detect() -> HostCapabilities:
    return HostCapabilities(
        root=os.geteuid() == 0,
        landlock_abi=landlock_abi(),
        seccomp=seccomp_available(),
        cgroup_memory=_cgroup_v1_dir("memory"),
        cgroup_pids=_cgroup_v1_dir("pids"),
    )
