"""What one finished gem5 run means: a simulated time, or a failure of a named kind.

Kinds stay apart because they mean different things to a user: a program gem5's syscall
emulation cannot run ("cannot be simulated") is not slow, a timeout depends on the host's
speed, a rejected stats file may be a guest gaming the statistics, and a host failure says
nothing about the program at all.
"""

from __future__ import annotations

import enum
import re
import signal
from fractions import Fraction
from typing import Any

import attrs

from pie._farm._hosts import RemoteRun
from pie._farm._stats import StatsError, parse_stats

_TIMEOUT_STATUSES = (124, 128 + signal.SIGKILL)  # GNU timeout, plain and with -s KILL
_TIMEOUT_SHARE = 0.9  # a KILL this late into the allowed time was the timeout's


class Kind(str, enum.Enum):
    UNSIMULABLE = "cannot be simulated"
    TIMEOUT = "gem5 timed out"
    STATS = "gem5 stats rejected"
    GEM5 = "gem5 failed"
    HOST = "gem5 host failure"
    LOCAL = "cannot read a local file"


@attrs.frozen
class Simulated:
    """A trusted run: simulated seconds = ticks / freq, exactly."""

    ticks: int
    freq: int
    instructions: int
    host_seconds: float

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.ticks, self.freq)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Simulated:
        return cls(
            ticks=int(data["ticks"]),
            freq=int(data["freq"]),
            instructions=int(data["instructions"]),
            host_seconds=float(data["host_seconds"]),
        )


@attrs.frozen
class Failed:
    kind: Kind
    reason: str

    @property
    def message(self) -> str:
        joint = " " if self.kind is Kind.TIMEOUT else ": "  # "gem5 timed out after 120 s"
        return f"{self.kind.value}{joint}{self.reason}"


Outcome = Simulated | Failed

# gem5's own words for what its syscall emulation cannot do (G5 v20.1 syscall_emul.cc,
# syscall_desc.hh, arch/x86/faults.cc, sim/process.cc), most specific first
_UNSIMULABLE = (
    (re.compile(r"syscall (\S+) \(#(\d+)\) unimplemented"), "unimplemented syscall {0} (#{1})"),
    (re.compile(r"Syscall (\d+) out of range"), "syscall #{0} is unknown to this gem5"),
    (
        re.compile(r"Unrecognized/invalid instruction"),
        "an instruction gem5 does not decode (AVX or another extension)",
    ),
    (
        re.compile(r"Maximum stack size exceeded"),
        "the stack outgrew gem5's limit (8 MB on gem5 v20.1)",
    ),
    (
        re.compile(r"Page table fault|Tried to \w+ unmapped address|Page fault at"),
        "a page fault gem5 cannot map (often a stack beyond gem5's limit)",
    ),
)
_RUN_SE_FAILED = re.compile(r"Benchmark failed with bad exit (cause|code)")


def outcome_of(run: RemoteRun, timeout: float) -> Outcome:
    """Classify a finished remote run (``timeout`` is the host seconds it was allowed)."""
    if run.status != 0:
        return _failure(run, timeout)
    if run.stats is None:
        return Failed(Kind.STATS, "gem5 exited normally but wrote no stats file")
    try:
        stats = parse_stats(run.stats.decode("utf-8", errors="replace"))
    except StatsError as error:
        return Failed(Kind.STATS, str(error))
    return Simulated(
        ticks=stats.ticks,
        freq=stats.freq,
        instructions=stats.instructions,
        host_seconds=stats.host_seconds if stats.host_seconds is not None else run.seconds,
    )


def _failure(run: RemoteRun, timeout: float) -> Failed:
    for pattern, template in _UNSIMULABLE:
        found = pattern.search(run.log)
        if found:
            return Failed(Kind.UNSIMULABLE, template.format(*found.groups()))
    if run.status in _TIMEOUT_STATUSES and run.seconds >= _TIMEOUT_SHARE * timeout:
        return Failed(Kind.TIMEOUT, f"after {timeout:g} s")
    if _RUN_SE_FAILED.search(run.log):
        return Failed(Kind.GEM5, "the program did not exit normally with code 0 under gem5")
    return Failed(Kind.GEM5, f"{_status(run.status)}: {_last_line(run.log)}")


def _status(status: int) -> str:
    if status > 128:
        try:
            return f"killed by {signal.Signals(status - 128).name}"
        except ValueError:
            pass
    return f"exit {status}"


def _last_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
