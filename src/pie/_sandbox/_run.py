"""Running one untrusted program through the launcher, and reading what happened."""

from __future__ import annotations

import math
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from pie._errors import SandboxError
from pie._model import Limits, Verdict
from pie._sandbox import _policy
from pie._sandbox._slots import Slot

STDERR_KEEP = 4096


@attrs.frozen
class RunOutcome:
    exit_code: int | None
    signal: int | None
    cpu_seconds: float
    wall_seconds: float
    max_rss_kib: int
    oom_killed: bool
    wall_exceeded: bool
    stdout: bytes
    stdout_size: int
    stderr: bytes
    stderr_size: int
    isolation: str
    landlock_abi: int


def _read_capped(path: Path, cap: int) -> tuple[bytes, int]:
    try:
        with path.open("rb") as handle:
            data = handle.read(cap)
            size = handle.seek(0, 2)
    except FileNotFoundError:
        return b"", 0
    return data, size


def launcher_args(
    *,
    profile: str,
    program: Sequence[str],
    slot: Slot,
    cpu_seconds: float,
    wall_seconds: float,
    memory_bytes: int,
    output_bytes: int,
    processes: int,
    stdin: Path,
    cwd: Path,
    read: Sequence[str] = (),
    execute: Sequence[str] = (),
    write: Sequence[str] = (),
    env: Sequence[str] = (),
    use_address_limit: bool = False,
    pid_namespace: bool = True,
    pin_cpu: int | None = None,
) -> list[str]:
    """The launcher's options for one run (the policy's paths plus the run's own)."""
    args = ["--profile", profile, "--pidns", "1" if pid_namespace else "0"]
    if pin_cpu is not None:
        args += ["--pin-cpu", str(pin_cpu)]
    args += ["--cpu-ms", str(math.ceil(cpu_seconds * 1000))]
    args += ["--wall-ms", str(math.ceil(wall_seconds * 1000))]
    args += ["--mem-bytes", str(memory_bytes), "--stack-bytes", str(memory_bytes)]
    if use_address_limit:
        args += ["--as-bytes", str(memory_bytes)]
    args += ["--fsize-bytes", str(output_bytes)]
    if slot.uid is not None:
        # RLIMIT_NPROC counts every process of the uid, so it only fits a uid of our own.
        args += ["--uid", str(slot.uid), "--gid", str(slot.uid), "--nproc", str(processes)]
    for group in slot.cgroups:
        args += ["--cgroup", str(group)]
    args += ["--stdin", str(stdin), "--stdout", str(slot.stdout), "--stderr", str(slot.stderr)]
    args += ["--cwd", str(cwd)]
    for option, paths in (("--read", read), ("--exec", execute), ("--write", write)):
        for path in paths:
            args += [option, path]
    for item in env:
        args += ["--env", item]
    return [*args, "--", *program]


def outcome_from_report(report: dict[str, Any], slot: Slot, output_cap: int) -> RunOutcome:
    """What the launcher reported, plus the program's output read back from the slot."""
    if report.get("setup_error"):
        raise SandboxError(f"sandbox set-up failed: {report['setup_error']}")
    stdout, stdout_size = _read_capped(slot.stdout, output_cap)
    stderr, stderr_size = _read_capped(slot.stderr, STDERR_KEEP)
    return RunOutcome(
        exit_code=report["exit_code"] if report["exited"] else None,
        signal=report["signal"] or None,
        cpu_seconds=report["cpu_us"] / 1e6,
        wall_seconds=report["wall_us"] / 1e6,
        max_rss_kib=report["maxrss_kib"],
        oom_killed=report["oom_killed"],
        wall_exceeded=report["wall_exceeded"],
        stdout=stdout,
        stdout_size=stdout_size,
        stderr=stderr,
        stderr_size=stderr_size,
        isolation=report["isolation"],
        landlock_abi=report["landlock_abi"],
    )


def run_paths(binary: Path, interpreter: Path | None) -> dict[str, list[str]]:
    """Landlock grants of a test run: system libraries, the loader and the binary itself."""
    execute = [str(binary)] + ([str(interpreter)] if interpreter else [])
    return {
        "read": list(_policy.RUN_READ_PATHS),
        "execute": execute,
        "write": list(_policy.RUN_WRITE_PATHS),
    }


def classify(outcome: RunOutcome, limits: Limits) -> Verdict | None:
    """The verdict the run itself decides, or None when only the output check can tell."""
    output_cap = limits.output_bytes
    if outcome.oom_killed:
        return Verdict.MLE
    if (
        outcome.stdout_size >= output_cap
        or outcome.stderr_size >= output_cap
        or outcome.signal == signal.SIGXFSZ
    ):
        return Verdict.OLE
    if (
        outcome.wall_exceeded
        or outcome.cpu_seconds > limits.time
        or outcome.signal == signal.SIGXCPU
    ):
        return Verdict.TLE
    if outcome.signal is not None or outcome.exit_code != 0:
        return Verdict.RE
    return None
