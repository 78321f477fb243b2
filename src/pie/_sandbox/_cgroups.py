"""cgroups behind one seam: v1 (a group per controller) and v2 (one group, a delegated subtree).

Detection tries instead of assuming: a candidate place counts only after a probe group was
created there and its limit files written.  What could not be used is said in ``Cgroups.notes``
(``pie doctor`` and the sandbox summary show it).  The launcher sets the limits and moves each
run into the slot's groups; it tells v1 from v2 by the files a group has.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import attrs

CGROUP_ROOT = Path("/sys/fs/cgroup")
# An explicitly delegated cgroup v2 directory (e.g. from systemd's Delegate=yes), used first.
DELEGATED_ENV = "PIE_CGROUP"
_V1_CONTROLLERS = ("memory", "pids")
_V1_LIMIT_FILE = {"memory": "memory.limit_in_bytes", "pids": "pids.max"}
_V2_LIMIT_FILE = {"memory": "memory.max", "pids": "pids.max"}


class CgroupDriver(Protocol):
    @property
    def version(self) -> int: ...

    @property
    def controllers(self) -> frozenset[str]:
        """Of ``memory`` and ``pids``, those whose limits this driver can set."""

    def create(self, name: str) -> tuple[Path, ...]:
        """The slot's groups, one per controller (v1) or one for all (v2)."""

    def remove(self, groups: Iterable[Path]) -> None:
        """Kill what is left in them and remove them."""

    def groups_with_prefix(self, prefix: str) -> list[Path]:
        """This driver's groups whose name starts with ``prefix``."""

    def where(self) -> str: ...


@attrs.frozen
class Cgroups:
    """What detection found: a driver, or None, and why each missing part is missing."""

    driver: CgroupDriver | None
    notes: tuple[str, ...] = ()

    @property
    def memory(self) -> bool:
        return self.driver is not None and "memory" in self.driver.controllers

    @property
    def pids(self) -> bool:
        return self.driver is not None and "pids" in self.driver.controllers

    @property
    def version(self) -> int | None:
        return self.driver.version if self.driver is not None else None


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every cgroup mount we can see."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                point = fields[4].replace("\\040", " ")
                found.append((point, tail[0], set(tail[2].split(","))))
    return found


def _why(error: OSError) -> str:
    if error.errno == errno.EROFS:
        return "read-only file system"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return os.strerror(error.errno or 0) or str(error)


def _write_control(path: Path, text: str) -> None:
    """Writes a control file that must already exist (no O_CREAT: a plain folder posing as a
    cgroup, or a controller that is absent, fails here instead of growing a file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _remove_group(group: Path) -> None:
    kill = group / "cgroup.kill"
    with contextlib.suppress(OSError):
        if kill.exists():
            _write_control(kill, "1")
    with contextlib.suppress(OSError):
        group.rmdir()


# ---- v1 ---------------------------------------------------------------------------------------


@attrs.define
class V1Driver:
    bases: dict[str, Path]  # controller -> the pie folder in its hierarchy
    version: int = 1

    @property
    def controllers(self) -> frozenset[str]:
        return frozenset(self.bases)

    def create(self, name: str) -> tuple[Path, ...]:
        groups = []
        for base in self.bases.values():
            group = base / name
            group.mkdir(exist_ok=True)
            groups.append(group)
        return tuple(groups)

    def remove(self, groups: Iterable[Path]) -> None:
        for group in groups:
            _remove_group(group)

    def groups_with_prefix(self, prefix: str) -> list[Path]:
        found = []
        for base in self.bases.values():
            with contextlib.suppress(OSError):
                found += [g for g in base.iterdir() if g.is_dir() and g.name.startswith(prefix)]
        return found

    def where(self) -> str:
        return ", ".join(str(base) for base in self.bases.values())


def _v1_base(mount: Path, controller: str) -> Path:
    """``<mount>/pie``, checked by creating a probe group and writing its limit."""
    base = mount / "pie"
    base.mkdir(exist_ok=True)
    probe = base / f"probe-{secrets.token_hex(4)}"
    probe.mkdir()
    try:
        limit = probe / _V1_LIMIT_FILE[controller]
        _write_control(limit, "max" if controller == "pids" else str(1 << 40))
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()
    return base


def detect_v1(mounts: list[tuple[str, str, set[str]]]) -> tuple[V1Driver | None, list[str]]:
    bases: dict[str, Path] = {}
    notes = []
    for controller in _V1_CONTROLLERS:
        points = [
            Path(p) for p, kind, options in mounts if kind == "cgroup" and controller in options
        ]
        if not points:
            continue
        try:
            bases[controller] = _v1_base(points[0], controller)
        except OSError as error:
            notes.append(f"cgroup v1 {controller} at {points[0]}: {_why(error)}")
    return (V1Driver(bases) if bases else None), notes


# ---- v2 ---------------------------------------------------------------------------------------


@attrs.define
class V2Driver:
    base: Path  # a delegated directory whose subtree_control enables our controllers
    controllers: frozenset[str]
    version: int = 2

    def create(self, name: str) -> tuple[Path, ...]:
        group = self.base / name
        group.mkdir(exist_ok=True)
        return (group,)

    def remove(self, groups: Iterable[Path]) -> None:
        for group in groups:
            _remove_group(group)

    def groups_with_prefix(self, prefix: str) -> list[Path]:
        with contextlib.suppress(OSError):
            return [g for g in self.base.iterdir() if g.is_dir() and g.name.startswith(prefix)]
        return []

    def where(self) -> str:
        return str(self.base)


def _own_v2_path() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:]
    return None


def _enable(base: Path, wanted: Iterable[str]) -> None:
    """Ask for each controller in ``base``'s children (one at a time: one refusal must not
    cost the others); the probe below decides what really works."""
    available = set((base / "cgroup.controllers").read_text().split())
    enabled = set((base / "cgroup.subtree_control").read_text().split())
    for controller in wanted:
        if controller in available and controller not in enabled:
            with contextlib.suppress(OSError):
                _write_control(base / "cgroup.subtree_control", f"+{controller}")


def _v2_probe(base: Path) -> frozenset[str]:
    """Creates a probe group under ``base``, joins nothing, and returns the controllers whose
    limit files it has and accepts writes to."""
    _enable(base, _V2_LIMIT_FILE)
    probe = base / f"probe-{secrets.token_hex(4)}"
    probe.mkdir()
    usable = set()
    try:
        for controller, limit in _V2_LIMIT_FILE.items():
            with contextlib.suppress(OSError):
                _write_control(probe / limit, "max")
                usable.add(controller)
    finally:
        _remove_group(probe)
    return frozenset(usable)


def _leave_for_leaf(own: Path) -> Path:
    """Our cgroup holds only this process: move it into a leaf, so that our cgroup may enable
    controllers for its children (cgroup v2 allows no processes in an inner group)."""
    leaf = own / "pie-evaluator"
    leaf.mkdir(exist_ok=True)
    _write_control(leaf / "cgroup.procs", str(os.getpid()))
    return own


def _v2_candidates(mount: Path) -> list[tuple[str, Path]]:
    candidates = []
    explicit = os.environ.get(DELEGATED_ENV)
    if explicit:
        candidates.append((f"${DELEGATED_ENV}", Path(explicit)))
    own = _own_v2_path()
    if own is not None:
        own_dir = mount / own.lstrip("/")
        if own == "/":
            candidates.append(("the root cgroup", mount / "pie"))
        else:
            candidates.append(("our own cgroup", own_dir))
    return candidates


def detect_v2(mounts: list[tuple[str, str, set[str]]]) -> tuple[V2Driver | None, list[str]]:
    points = [Path(p) for p, kind, _ in mounts if kind == "cgroup2"]
    if not points:
        return None, []
    mount = points[0]
    notes = []
    for label, base in _v2_candidates(mount):
        created = False
        try:
            if label == "the root cgroup":
                _enable(mount, _V2_LIMIT_FILE)
                created = not base.exists()
                base.mkdir(exist_ok=True)
            elif label == "our own cgroup":
                members = (base / "cgroup.procs").read_text().split()
                if members != [str(os.getpid())]:
                    notes.append(
                        f"cgroup v2 at {base}: shared with other processes; delegate a subtree "
                        f"and name it in ${DELEGATED_ENV}"
                    )
                    continue
                _leave_for_leaf(base)
            usable = _v2_probe(base)
        except OSError as error:
            notes.append(f"cgroup v2 at {base} ({label}): {_why(error)}")
            continue
        if usable:
            missing = sorted(set(_V2_LIMIT_FILE) - usable)
            if missing:
                notes.append(f"cgroup v2 at {base}: no {', '.join(missing)} controller")
            return V2Driver(base, usable), notes
        if created:  # an unusable group of ours would stay behind for good
            with contextlib.suppress(OSError):
                base.rmdir()
        available = (mount / "cgroup.controllers").read_text().split()
        notes.append(
            f"cgroup v2 at {base}: neither memory nor pids controller "
            f"(the unified hierarchy offers: {' '.join(available) or 'none'})"
        )
    return None, notes


def detect() -> Cgroups:
    """The best usable driver: v2 where it has both controllers, else v1, else whichever has
    any; notes say what was tried and failed."""
    mounts = _mounts()
    v2, notes_v2 = detect_v2(mounts)
    if v2 is not None and v2.controllers >= {"memory", "pids"}:
        return Cgroups(v2, tuple(notes_v2))
    v1, notes_v1 = detect_v1(mounts)
    choices: list[CgroupDriver] = [d for d in (v1, v2) if d is not None]
    best = max(choices, key=lambda d: len(d.controllers), default=None)
    if not mounts:
        notes_v1.append("no cgroup file system is mounted")
    return Cgroups(best, tuple(notes_v2 + notes_v1))
