"""Running one untrusted program through the launcher, and reading what happened."""

from __future__ import annotations

import io
import os
import signal
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from pie._errors import SandboxError
from pie._model import Limits, Verdict
from pie._sandbox import _policy
from pie._sandbox._slots import Slot

STDERR_KEEP = 4096

# Reads a run's stdout (the open file and how many bytes of it count) and scores it.
OutputJudge = Callable[[BinaryIO, int], float]


@attrs.frozen
class RunOutcome:
    exit_code: int | None
    signal: int | None
    cpu_seconds: float
    wall_seconds: float
    max_rss_kib: int
    oom_killed: bool
    wall_exceeded: bool
    stdout_size: int
    stderr: bytes
    stderr_size: int
    isolation: str
    landlock_abi: int
    # the resident-size watch's verdict where no memory cgroup exists
    memory_exceeded: bool = False
    refused_syscall: int | None = None
    refused_syscall_name: str = ""
    hidden: bool = False
    stdin_copied: bool = False
    accuracy: float | None = None  # the judge's score, when one was asked for and the run ended

    @property
    def memory_limit_hit(self) -> bool:
        return self.oom_killed or self.memory_exceeded

    @property
    def reason(self) -> str | None:
        """Why the sandbox ended the run, where a signal alone does not say it."""
        if self.refused_syscall is not None:
            name = self.refused_syscall_name or "unknown"
            return f"system call {name} ({self.refused_syscall}) refused by the sandbox"
        return None


def open_capture(path: Path) -> BinaryIO | None:
    """A file the run could write (its stdout, stderr, a profile), opened without following a
    symlink and only when it is a regular file; None when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SandboxError(f"cannot open the run's file {path}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SandboxError(f"the run's file {path} is not a regular file: the sandbox leaked")
    return os.fdopen(fd, "rb")


def read_capped(path: Path, cap: int) -> tuple[bytes, int]:
    """At most ``cap`` bytes of a run's file, and its size."""
    handle = open_capture(path)
    if handle is None:
        return b"", 0
    with handle:
        return handle.read(cap), os.fstat(handle.fileno()).st_size


def judge_output(path: Path, cap: int, judge: OutputJudge) -> float:
    """``judge`` on the first ``cap`` bytes of a run's stdout, read in place (never whole)."""
    handle = open_capture(path)
    if handle is None:
        return judge(io.BytesIO(), 0)
    with handle:
        return judge(handle, min(os.fstat(handle.fileno()).st_size, cap))


def _size_of(path: Path) -> int:
    handle = open_capture(path)
    if handle is None:
        return 0
    with handle:
        return os.fstat(handle.fileno()).st_size


def outcome_from_report(report: dict[str, Any], slot: Slot, output_cap: int) -> RunOutcome:
    """What the launcher reported, plus the program's output read back from the slot."""
    if report.get("setup_error"):
        raise SandboxError(f"sandbox set-up failed: {report['setup_error']}")
    stdout_size = _size_of(slot.stdout)
    stderr, stderr_size = read_capped(slot.stderr, min(STDERR_KEEP, output_cap))
    return RunOutcome(
        exit_code=report["exit_code"] if report["exited"] else None,
        signal=report["signal"] or None,
        cpu_seconds=report["cpu_us"] / 1e6,
        wall_seconds=report["wall_us"] / 1e6,
        max_rss_kib=report["maxrss_kib"],
        oom_killed=report["oom_killed"],
        wall_exceeded=report["wall_exceeded"],
        stdout_size=stdout_size,
        stderr=stderr,
        stderr_size=stderr_size,
        isolation=report["isolation"],
        landlock_abi=report["landlock_abi"],
        memory_exceeded=report["memory_exceeded"],
        refused_syscall=report["refused_syscall"] if report["refused_syscall"] >= 0 else None,
        refused_syscall_name=report["refused_syscall_name"],
        hidden=report["hidden"],
        stdin_copied=report["stdin_copied"],
    )


def run_paths(binary: Path, interpreter: Path | None) -> dict[str, list[str]]:
    """Landlock grants of a test run: system libraries, the loader and the binary itself."""
    execute = [str(binary)] + ([str(interpreter)] if interpreter else [])
    return {
        "read": list(_policy.RUN_READ_PATHS),
        "execute": execute,
        "write": list(_policy.RUN_WRITE_PATHS),
    }


def how_it_ended(exit_code: int | None, signal_number: int | None) -> str:
    """``exit 3`` or ``killed by SIGSEGV``, never ``exit None, signal 11``."""
    if signal_number is None:
        return f"exit {exit_code}"
    try:
        return f"killed by {signal.Signals(signal_number).name}"
    except ValueError:
        return f"killed by signal {signal_number}"


# the kernel's and rusage's CPU time of a process killed at its limit may differ a little
_CPU_ACCOUNTING_SLACK = 0.9


def classify(outcome: RunOutcome, limits: Limits) -> Verdict | None:
    """The verdict the run itself decides, or None when only the output check can tell."""
    output_cap = limits.output_bytes
    if outcome.memory_limit_hit:
        return Verdict.MLE
    if (
        outcome.stdout_size >= output_cap
        or outcome.stderr_size >= output_cap
        or outcome.signal == signal.SIGXFSZ
    ):
        return Verdict.OLE
    if (
        outcome.wall_exceeded
        or outcome.cpu_seconds > limits.time_limit
        # the CPU limit's signal (sent at the limit rounded up to a second), not a SIGXCPU
        # the program raised itself long before it: that is a runtime error like any signal
        or (
            outcome.signal == signal.SIGXCPU
            and outcome.cpu_seconds >= limits.time_limit * _CPU_ACCOUNTING_SLACK
        )
    ):
        return Verdict.TLE
    if outcome.signal is not None or outcome.exit_code != 0:
        return Verdict.RE
    return None
