"""The cgroup driver: detection that tries, v1 as this host has it, and v2 as far as a host
with cgroup v1 lets it be exercised (its unified hierarchy carries no memory or pids
controller here, so memory.max, pids.max and memory.events are not exercised)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pie._sandbox import _cgroups, _launcher
from pie._sandbox._cgroups import V2Driver
from pie._sandbox._request import LaunchRequest, Profile

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="creating cgroups here needs root")
UNIFIED = next((Path(p) for p, kind, _ in _cgroups._mounts() if kind == "cgroup2"), None)
needs_unified = pytest.mark.skipif(UNIFIED is None, reason="no cgroup2 mount on this host")


@pytest.fixture(scope="module")
def launcher(cache_dir: Path) -> Path:
    return _launcher.launcher_path(cache_dir)


def daemon_request(groups: tuple[Path, ...], pid_file: Path) -> LaunchRequest:
    """A compiler-profile run (it may fork) whose child escapes into its own session."""
    return LaunchRequest(
        profile=Profile.COMPILE,
        # the pid file is written after setsid, and the shell waits for it: the daemon has
        # left the run's session before the run ends (else killing the session would end it)
        program=(
            "/bin/sh",
            "-c",
            f"setsid /bin/sh -c 'echo $$ > {pid_file}; exec sleep 300' "
            f"</dev/null >/dev/null 2>&1 & while [ ! -s {pid_file} ]; do sleep 0.01; done",
        ),
        time_limit_ms=5000,
        wall_limit_ms=10000,
        memory_bytes=256 << 20,
        stack_bytes=8 << 20,
        output_bytes=1 << 20,
        processes=16,
        pid_namespace=False,  # no PID namespace: only the cgroup can catch the daemon
        cgroups=tuple(map(str, groups)),
        read=("/",),
        execute=("/",),
        write=(str(pid_file.parent), "/dev/null"),
    )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_daemon(launcher: Path, groups: tuple[Path, ...], tmp_path: Path) -> int:
    pid_file = tmp_path / "daemon.pid"
    subprocess.run([str(launcher), *daemon_request(groups, pid_file).to_args()], check=True,
                   capture_output=True, timeout=20)  # fmt: skip
    return int(pid_file.read_text())


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


@pytest.fixture
def v2_group() -> Iterator[V2Driver]:
    assert UNIFIED is not None
    base = UNIFIED / f"pie-test-{secrets.token_hex(4)}"
    base.mkdir()
    try:
        yield V2Driver(base, frozenset())
    finally:
        for child in base.iterdir():
            if child.is_dir():
                _cgroups._remove_group(child)
        _cgroups._remove_group(base)


def test_without_a_cgroup_a_setsid_daemon_escapes(launcher: Path, tmp_path: Path) -> None:
    """The control: what the cgroup tests below prove is the cgroup's doing."""
    pid = run_daemon(launcher, (), tmp_path)
    try:
        assert alive(pid)
    finally:
        os.kill(pid, 9)


@needs_root
def test_v1_groups_are_detected_by_trying_and_killed_after_the_run(
    launcher: Path, tmp_path: Path
) -> None:
    found = _cgroups.detect()
    if found.version != 1:
        pytest.skip(f"this host's cgroups are not v1 ({found})")
    assert found.memory and found.pids
    driver = found.driver
    assert driver is not None
    groups = driver.create(f"pie-test-{secrets.token_hex(4)}")
    try:
        pid = run_daemon(launcher, groups, tmp_path)
        assert gone_within(pid, 2), "a daemon outlived its run despite the slot's cgroups"
    finally:
        driver.remove(groups)
    assert not any(g.exists() for g in groups)


@needs_root
@needs_unified
def test_v2_cgroup_kill_ends_what_the_run_left(
    launcher: Path, tmp_path: Path, v2_group: V2Driver
) -> None:
    groups = v2_group.create("slot-0")
    pid = run_daemon(launcher, groups, tmp_path)
    assert gone_within(pid, 2), "cgroup.kill did not end the daemon"
    assert (groups[0] / "cgroup.procs").read_text() == ""
    v2_group.remove(groups)
    assert not groups[0].exists()


@needs_root
@needs_unified
def test_v2_detection_names_missing_controllers(
    v2_group: V2Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_cgroups.DELEGATED_ENV, str(v2_group.base))
    driver, notes = _cgroups.detect_v2(_cgroups._mounts())
    available = set((v2_group.base / "cgroup.controllers").read_text().split())
    if {"memory", "pids"} <= available:
        assert driver is not None and driver.controllers == {"memory", "pids"}
        return
    assert driver is None or driver.controllers < {"memory", "pids"}
    assert any(str(v2_group.base) in note for note in notes)
    # the probe group is gone again
    assert [p.name for p in v2_group.base.iterdir() if p.is_dir()] == []


@needs_root
@needs_unified
def test_v2_detection_leaves_no_unusable_group_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection on a host whose unified hierarchy has no memory or pids controller (cgroup v1
    hosts) used to leave an empty ``pie`` group in the root cgroup for good."""
    assert UNIFIED is not None
    monkeypatch.delenv(_cgroups.DELEGATED_ENV, raising=False)
    ours = UNIFIED / "pie"
    with contextlib.suppress(OSError):
        ours.rmdir()  # what an earlier run may have left (empty, or it stays: then not ours)
    existed = ours.exists()
    driver, _ = _cgroups.detect_v2(_cgroups._mounts())
    if driver is None and not existed:
        assert not ours.exists()
    elif driver is not None:
        assert driver.base.is_dir()


def test_unusable_cgroups_become_notes_not_errors(tmp_path: Path) -> None:
    """A mount we may not write (here: a plain folder standing in for a read-only hierarchy)."""
    locked = tmp_path / "memory"
    locked.mkdir()
    os.chmod(locked, 0o555)
    try:
        driver, notes = _cgroups.detect_v1([(str(locked), "cgroup", {"memory"})])
    finally:
        os.chmod(locked, 0o755)
    assert driver is None
    # root may write the folder anyway: then the probe fails on the missing limit file
    why = "No such file or directory" if ROOT else "permission denied"
    assert notes == [f"cgroup v1 memory at {locked}: {why}"]
