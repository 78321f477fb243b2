"""Run slots: per concurrent run, a private directory, a uid and cgroups, reused across runs.

Creating cgroups and directories once per slot instead of once per run keeps the per-run cost
to a few writes inside the launcher.

Several evaluators may share a host in any users and PID namespaces, so nothing here judges
liveness by process ids: a pool holds a lock on a file in its folder for its whole life, and a
folder (with its cgroups) is stale only when that lock can be taken.  Slot uids are leased the
same way, one lock file per uid, so no two live evaluators ever run programs as the same uid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import anyio
import attrs

from pie._errors import SandboxError
from pie._sandbox._cgroups import CgroupDriver
from pie._sandbox._host import HostCapabilities, scratch_root

# Sandboxed programs run as these uids (one per slot), far above any real account.
UID_BASE = 1_800_000
UID_RANGE = 1 << 20
_PREFIX = "pie-slots-"
_LIVENESS = ".alive"
_UID_LEASES = "pie-uid-leases"


@attrs.frozen
class EmulationFiles:
    program: Path
    plugin: Path
    report: Path


@attrs.frozen
class BatchFiles:
    """One fork-server run: its program and plugin, the plan (the evaluator's alone), the
    status file and each test's input copy, output and report."""

    single: EmulationFiles
    plan: Path
    status: Path
    inputs: tuple[Path, ...]
    outputs: tuple[Path, ...]
    reports: tuple[Path, ...]


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

    def prepare_emulation(self, binary: Path, plugin: Path) -> EmulationFiles:
        """A timing run's folder: the program as ``a.out``, the plugin, an empty report file.

        The folder is the evaluator's and closed to writes by the program's uid; the report is
        the only file the run may write (Landlock), and the plugin truncates it at exit."""
        folder = self.root / "timing"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(mode=0o755)
        files = EmulationFiles(folder / "a.out", folder / "plugin.so", folder / "report")
        shutil.copyfile(binary, files.program)
        os.chmod(files.program, 0o755)
        shutil.copyfile(plugin, files.plugin)
        os.chmod(files.plugin, 0o644)
        self._writable(files.report)
        return files

    def prepare_batch(self, binary: Path, plugin: Path, inputs: Sequence[Path]) -> BatchFiles:
        """A batch timing run's folder: as ``prepare_emulation``, plus per test a copy of its
        input (the forked children open it as the slot's uid, which may not reach the test
        folder), an empty output and report file the run may write, and the status file its
        fork server appends to."""
        single = self.prepare_emulation(binary, plugin)
        folder = single.program.parent
        count = len(inputs)
        files = BatchFiles(
            single,
            folder / "plan",
            folder / "status",
            tuple(folder / f"in.{k}" for k in range(count)),
            tuple(folder / f"out.{k}" for k in range(count)),
            tuple(folder / f"report.{k}" for k in range(count)),
        )
        for given, copy in zip(inputs, files.inputs, strict=True):
            shutil.copyfile(given, copy)
            os.chmod(copy, 0o644)
        for path in (files.status, *files.outputs, *files.reports):
            self._writable(path)
        return files

    def _writable(self, path: Path) -> None:
        """An empty file the run's uid may write (and nobody else)."""
        path.touch(mode=0o600)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def reset_build(self) -> Path:
        shutil.rmtree(self.build, ignore_errors=True)
        self.build.mkdir(mode=0o700)
        if self.uid is not None:
            os.chown(self.build, self.uid, self.uid)
        return self.build


def _private_dir(root: Path, what: str) -> Path:
    """``root`` as a directory owned by us and writable by nobody else (checked, so that
    another local user cannot plant files pie trusts)."""
    root.mkdir(mode=0o755, exist_ok=True)
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxError(
            f"{root} ({what}) is not a directory owned by you and closed to others; remove "
            "it (pie recreates it)"
        )
    return root


def _shared_root() -> Path:
    """``$TMPDIR/pie-shared-<uid>``: the PCH mirror every evaluator of this user shares."""
    return _private_dir(Path(tempfile.gettempdir()) / f"pie-shared-{os.geteuid()}", "PCH mirror")


def _lock(path: Path, *, create: bool) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None when someone else holds it."""
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class UidLeases:
    """Slot uids leased by lock files (``$TMPDIR/pie-uid-leases/<uid>``), held while the pool
    lives: evaluators in other PID namespaces that share the temporary directory never pick a
    uid in use.  Only root drops to slot uids, so the folder is root's and closed to others."""

    def __init__(self) -> None:
        self._folder = _private_dir(Path(tempfile.gettempdir()) / _UID_LEASES, "uid leases")
        self._held: list[int] = []

    def take(self, count: int) -> list[int]:
        uids: list[int] = []
        start = secrets.randbelow(UID_RANGE)
        for step in range(UID_RANGE):
            if len(uids) == count:
                break
            uid = UID_BASE + (start + step) % UID_RANGE
            fd = _lock(self._folder / str(uid), create=True)
            if fd is not None:
                self._held.append(fd)
                uids.append(uid)
        if len(uids) < count:
            raise SandboxError(f"no free slot uid in {self._folder}")
        return uids

    def release(self) -> None:
        for fd in self._held:
            os.close(fd)
        self._held = []


class SlotPool:
    """A fixed set of slots handed out to concurrent runs."""

    def __init__(self, count: int, host: HostCapabilities, driver: CgroupDriver | None) -> None:
        self._host = host
        self._driver = driver
        _remove_stale(driver)
        self._token = secrets.token_hex(6)
        self._dir, self._alive = _make_pool_dir(self._token)
        self._uids = UidLeases() if host.root else None
        try:
            uids = self._uids.take(count) if self._uids else [None] * count
            self._slots = [self._make_slot(i, uid) for i, uid in enumerate(uids)]
        except BaseException:
            self.close()
            raise
        self._free = list(self._slots)
        self._semaphore = anyio.Semaphore(count)

    def _make_slot(self, index: int, uid: int | None) -> Slot:
        root = self._dir / f"slot-{index}"
        root.mkdir(mode=0o711)
        (root / "box").mkdir(mode=0o555)
        groups = self._driver.create(f"{_PREFIX}{self._token}-{index}") if self._driver else ()
        return Slot(index, root, uid, groups)

    @property
    def uids(self) -> frozenset[int]:
        return frozenset(s.uid for s in self._slots if s.uid is not None)

    @property
    def folder(self) -> Path:
        return self._dir

    @property
    def cgroups(self) -> tuple[Path, ...]:
        return tuple(g for s in self._slots for g in s.cgroups)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Slot]:
        async with self._semaphore:
            slot = self._free.pop()
            try:
                yield slot
            finally:
                self._free.append(slot)

    def share(self, source: Path, name: str, *, executable: bool = False) -> Path:
        """A read-only mirror of directory ``source`` that sandbox uids can reach.

        The cache directory usually sits in a private home; hard links (or one copy across
        file systems) put what the compiler must read where its uid can traverse.  The mirror
        is kept on disk beside the system's temporary files and shared by every evaluator of
        this user: ``name`` carries the content's key, so a mirror never goes stale.
        ``executable`` files (programs the compiler runs) are mode 0755 instead of 0644.
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
                os.chmod(mirror, 0o755 if executable else 0o644)
        for folder in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
            os.chmod(folder, 0o755)
        (staging / ".complete").touch()
        try:
            os.rename(staging, target)
        except OSError:  # another evaluator finished first: use its copy
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def close(self) -> None:
        if self._driver is not None:
            self._driver.remove(g for slot in getattr(self, "_slots", ()) for g in slot.cgroups)
        shutil.rmtree(self._dir, ignore_errors=True)
        os.close(self._alive)
        if self._uids is not None:
            self._uids.release()


def _scratch_parents() -> set[str]:
    return {scratch_root() or tempfile.gettempdir(), tempfile.gettempdir()}


def _make_pool_dir(token: str) -> tuple[Path, int]:
    """The pool's folder, published only once its liveness lock is held (created under a
    hidden name, then renamed), so no one ever sees it unlocked."""
    parent = scratch_root() or tempfile.gettempdir()
    staging = Path(tempfile.mkdtemp(prefix=f".{_PREFIX}", dir=parent))
    fd = _lock(staging / _LIVENESS, create=True)
    if fd is None:  # pragma: no cover - a fresh private folder cannot be locked by another
        raise SandboxError(f"cannot lock {staging / _LIVENESS}")
    # Traversable by the sandbox uids (they need their cwd), listable by nobody else.
    os.chmod(staging, 0o711)
    final = staging.with_name(f"{_PREFIX}{token}")
    os.rename(staging, final)
    return final, fd


@contextlib.contextmanager
def _if_stale(folder: Path) -> Iterator[bool]:
    """Holds the folder's liveness lock while the body runs, if it could be taken."""
    fd = _lock(folder / _LIVENESS, create=False)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)


def _remove_stale(driver: CgroupDriver | None) -> None:
    """Slot folders (and their cgroups) of pools that ended without cleaning up: those whose
    liveness lock nobody holds.  A folder we cannot open the lock of is someone else's."""
    for parent in _scratch_parents():
        for folder in Path(parent).glob(f"{_PREFIX}*"):
            with _if_stale(folder) as stale:
                if not stale:
                    continue
                token = folder.name[len(_PREFIX) :]
                if driver is not None:
                    driver.remove(driver.groups_with_prefix(f"{_PREFIX}{token}-"))
                shutil.rmtree(folder, ignore_errors=True)
