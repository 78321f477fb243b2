"""Run slots: per concurrent run, a private directory, a uid and cgroups, reused across runs.

Creating cgroups and directories once per slot instead of once per run keeps the per-run cost
to a few writes inside the launcher.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import attrs

from pie._errors import SandboxError
from pie._sandbox._host import HostCapabilities

# Sandboxed programs run as these uids (one per slot), far above any real account.
UID_BASE = 1_800_000
_UIDS_PER_PROCESS = 256


@attrs.frozen
class Slot:
    index: int
    root: Path
    uid: int | None
    cgroups: tuple[Path, ...]

    @property
    def box(self) -> Path:
        """The program's working directory: empty and not writable."""
        return self.root / "box"

    @property
    def stdout(self) -> Path:
        return self.root / "stdout"

    @property
    def stderr(self) -> Path:
        return self.root / "stderr"

    @property
    def build(self) -> Path:
        """Scratch directory the compiler may write."""
        return self.root / "build"

    def prepare_profile(self, binary: Path) -> tuple[Path, Path, Path]:
        """A profiling run's scratch directory, ``a.out`` copy and empty report file."""
        timing = self.root / "timing"
        work = self.root / "timing-scratch"
        for folder in (timing, work):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(mode=0o755)
        program = timing / "a.out"
        shutil.copyfile(binary, program)
        os.chmod(program, 0o755)
        report = work / "profile.out"
        report.touch(mode=0o600)
        if self.uid is not None:
            os.chown(work, self.uid, self.uid)
            os.chown(report, self.uid, self.uid)
        return work, program, report

    def reset_build(self) -> Path:
        shutil.rmtree(self.build, ignore_errors=True)
        self.build.mkdir(mode=0o700)
        if self.uid is not None:
            os.chown(self.build, self.uid, self.uid)
        return self.build


def _shared_root() -> Path:
    """``$TMPDIR/pie-shared-<uid>``, owned by us and writable by nobody else (checked, so that
    another local user cannot plant a header the compiler would read)."""
    root = Path(tempfile.gettempdir()) / f"pie-shared-{os.geteuid()}"
    root.mkdir(mode=0o755, exist_ok=True)
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxError(
            f"{root} is not a directory owned by you and closed to others; remove it "
            "(pie recreates it)"
        )
    return root


def _scratch_root() -> str | None:
    """Memory-backed scratch space when there is some: truncating and rewriting output files
    on a disk file system costs more than a short run.  Output written there counts against
    the run's memory limit."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _uid_for(index: int) -> int:
    return UID_BASE + (os.getpid() % 4096) * _UIDS_PER_PROCESS + index


class SlotPool:
    """A fixed set of slots handed out to concurrent runs."""

    def __init__(self, count: int, host: HostCapabilities) -> None:
        self._host = host
        _remove_stale_scratch()
        self._dir = Path(tempfile.mkdtemp(prefix=f"pie-slots-{os.getpid()}-", dir=_scratch_root()))
        # Traversable by the sandbox uids (they need their cwd), listable by nobody else.
        os.chmod(self._dir, 0o711)
        _remove_stale_cgroups(host)
        # several pools may live in one process: their groups must not share names
        self._token = secrets.token_hex(4)
        self._slots = [self._make_slot(i) for i in range(count)]
        self._free = list(self._slots)
        self._semaphore = anyio.Semaphore(count)

    def _make_slot(self, index: int) -> Slot:
        root = self._dir / f"slot-{index}"
        root.mkdir(mode=0o711)
        (root / "box").mkdir(mode=0o555)
        groups = []
        for base in (self._host.cgroup_memory, self._host.cgroup_pids):
            if base is not None:
                group = base / f"{os.getpid()}-{self._token}-{index}"
                group.mkdir(exist_ok=True)
                groups.append(group)
        uid = _uid_for(index) if self._host.root else None
        return Slot(index, root, uid, tuple(groups))

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Slot]:
        async with self._semaphore:
            slot = self._free.pop()
            try:
                yield slot
            finally:
                self._free.append(slot)

    def share(self, source: Path, name: str) -> Path:
        """A read-only mirror of directory ``source`` that sandbox uids can reach.

        The cache directory usually sits in a private home; hard links (or one copy across
        file systems) put what the compiler must read where its uid can traverse.  The mirror
        is kept on disk beside the system's temporary files and shared by every evaluator of
        this user: ``name`` carries the content's key, so a mirror never goes stale.
        """
        target = _shared_root() / name
        if (target / ".complete").exists():
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=_shared_root()))
        for path in source.rglob("*"):
            if path.is_file():
                mirror = staging / path.relative_to(source)
                mirror.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, mirror)
                except OSError:
                    shutil.copyfile(path, mirror)
                os.chmod(mirror, 0o644)
        for folder in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
            os.chmod(folder, 0o755)
        (staging / ".complete").touch()
        try:
            os.rename(staging, target)
        except OSError:  # another evaluator finished first: use its copy
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def close(self) -> None:
        for slot in self._slots:
            for group in slot.cgroups:
                with contextlib.suppress(OSError):
                    group.rmdir()
        shutil.rmtree(self._dir, ignore_errors=True)


def _remove_stale_scratch() -> None:
    """Slot directories of pie processes that died without cleaning up."""
    for root in {_scratch_root() or tempfile.gettempdir(), tempfile.gettempdir()}:
        for folder in Path(root).glob("pie-slots-*"):
            owner = folder.name.split("-")[2]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                shutil.rmtree(folder, ignore_errors=True)


def _remove_stale_cgroups(host: HostCapabilities) -> None:
    """Groups left by pie processes that died without cleaning up (``<pid>-<token>-<slot>``)."""
    for base in (host.cgroup_memory, host.cgroup_pids):
        if base is None:
            continue
        for group in base.iterdir():
            owner = group.name.split("-", 1)[0]
            if group.is_dir() and owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    group.rmdir()
