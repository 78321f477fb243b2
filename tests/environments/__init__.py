"""The environments pie must work in, built on this host for a test (root needed to build).

- ``root``: as is.
- ``non-root``: ``setpriv`` to an unprivileged uid with no groups.
- ``container-root``: what a default Docker container gives root: Docker's default capability
  set (``capsh --drop`` of every other capability), a seccomp filter refusing new namespaces
  as Docker's profile does (``no_namespaces.c``), and ``/sys/fs/cgroup`` mounted read-only in a
  private mount namespace.
- ``container-non-root``: the same, then ``setpriv`` to the unprivileged uid.
- ``no-shm``: ``/dev/shm`` replaced by a read-only file system.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import attrs

WRAPPER_SOURCE = Path(__file__).with_name("no_namespaces.c")
UNPRIVILEGED_UID = 43210
# Docker's default capabilities (moby's oci/caps/defaults.go)
_DOCKER_CAPS = (
    "chown dac_override fsetid fowner mknod net_raw setgid setuid setfcap setpcap "
    "net_bind_service sys_chroot kill audit_write"
)
DOCKER_CAPS = frozenset(_DOCKER_CAPS.split())
TOOLS = ("capsh", "setpriv", "unshare", "mount", "gcc")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@functools.cache
def all_caps() -> tuple[str, ...]:
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    mask = (1 << (last + 1)) - 1
    done = subprocess.run(
        ["capsh", f"--decode={mask:#x}"], capture_output=True, text=True, check=True
    )
    names = done.stdout.strip().split("=", 1)[1].split(",")
    return tuple(name.removeprefix("cap_") for name in names)


def build_wrapper(folder: Path) -> Path:
    target = folder / "no-namespaces"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(target), str(WRAPPER_SOURCE)], check=True)
    return target


def cgroup_mounts() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == "/sys/fs/cgroup" or point.startswith("/sys/fs/cgroup/"):
            points.append(point)
    return points


@attrs.frozen
class Environment:
    name: str
    uid: int | None = None  # None: root
    container: bool = False
    shm: bool = True

    def wrap(self, argv: Sequence[str], wrapper: Path) -> list[str]:
        """``argv`` as it runs in this environment (to be started as root)."""
        command = list(argv)
        if self.uid is not None:
            ids = [f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
            command = ["setpriv", *ids, "--", *command]
        if self.container:
            drop = ",".join(f"cap_{cap}" for cap in all_caps() if cap not in DOCKER_CAPS)
            command = [
                str(wrapper),
                "capsh",
                f"--drop={drop}",
                "--",
                "-c",
                'exec "$0" "$@"',
                *command,
            ]
        mounts = []
        if self.container:
            mounts += [f"mount -o remount,bind,ro {point}" for point in cgroup_mounts()]
        if not self.shm:
            mounts.append("mount -t tmpfs -o ro,size=4k pie-no-shm /dev/shm")
        if mounts:
            script = " && ".join(mounts) + ' && exec "$0" "$@"'
            command = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "/bin/sh",
                "-c",
                script,
                *command,
            ]
        return command


MATRIX = (
    Environment("root"),
    Environment("non-root", uid=UNPRIVILEGED_UID),
    Environment("container-root", container=True),
    Environment("container-non-root", uid=UNPRIVILEGED_UID, container=True),
    Environment("no-shm", shm=False),
)
