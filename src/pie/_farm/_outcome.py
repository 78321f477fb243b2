"""What one finished gem5 run means: a simulated time, or a failure of a named kind.

Kinds stay apart because they mean different things to a user: a program gem5's syscall
emulation cannot run ("cannot be simulated") is not slow, a program over the simulated-time
budget is too slow on every host alike, a rejected stats file may be a guest gaming the
statistics, a wrong output may be a program that detected gem5 and skipped its work there,
and a host failure (the host-time safety net included) says nothing about the program at all.

Only what the guest cannot write is trusted: the exit status, and the exit report run-se.py
writes to a pipe after the guest's last instruction.  The stats file's ``final_tick`` must be
the report's tick; gem5's stdout and stderr (shared with the guest) only explain failures.
The guest's own output is judged as the test's (``_output``): a time counts only with it right.
"""

from __future__ import annotations

import enum
import re
import signal
from fractions import Fraction
from typing import Any

import attrs

from pie._farm._config import FarmConfig
from pie._farm._hosts import RemoteRun
from pie._farm._output import ExpectedOutput, output_failure
from pie._farm._stats import StatsError, parse_stats
from pie._farm._unsimulable import outside_memory, unimplemented_instructions, unsimulable

_TIMEOUT_STATUSES = (124, 128 + signal.SIGKILL)  # GNU timeout, plain and with -s KILL
_TIMEOUT_SHARE = 0.9  # a KILL this late into the allowed time was the timeout's
# gem5's exit causes (src/sim/simulate.cc, sim/syscall_emul.cc)
NORMAL_EXIT = "exiting with last active thread context"
BUDGET_EXIT = "simulate() limit reached"
_REPORT = re.compile(rb"Exiting @ tick (0|[1-9]\d{0,19}) because ([^\n]{1,200})\n")


class Kind(str, enum.Enum):
    UNSIMULABLE = "cannot be simulated"
    OVER_BUDGET = "over the gem5 time budget"
    STATS = "gem5 stats rejected"
    OUTPUT = "the simulated run's output is wrong"
    GEM5 = "gem5 failed"
    HOST = "gem5 host failure"
    LOCAL = "cannot read a local file"


@attrs.frozen
class Simulated:
    """A trusted run: simulated seconds = ticks / freq, exactly, and what its output was:
    its size and its accuracy against the test's expected output, under the test's checker."""

    ticks: int
    freq: int
    instructions: int
    host_seconds: float
    output_bytes: int
    accuracy: float

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
            output_bytes=int(data["output_bytes"]),
            accuracy=float(data["accuracy"]),
        )


@attrs.frozen
class Failed:
    kind: Kind
    reason: str

    @property
    def message(self) -> str:
        return f"{self.kind.value}: {self.reason}"


Outcome = Simulated | Failed

_RUN_SE_FAILED = re.compile(r"Benchmark failed with bad exit (cause|code)")
_EXIT_CODE = re.compile(r"^Exit code (-?\d+)$", re.MULTILINE)
# the guest's dynamic loader, when the binary needs a newer glibc than the host's
_GLIBC = re.compile(r"version `GLIBC_([\d.]+)' not found")
# gem5 follows every fatal and panic with a "Memory Usage:" line (src/base/logging.cc)
_FATAL = re.compile(r"^(?:fatal|panic): .*$", re.MULTILINE)


@attrs.frozen
class ExitReport:
    """run-se.py's last word: the tick the simulation ended at, and why."""

    tick: int
    cause: str


def exit_report(data: bytes) -> ExitReport | None:
    """The report from the pipe's last line, or None when it is not one (none, cut short)."""
    found = _REPORT.fullmatch(data)
    if found is None:
        return None
    return ExitReport(int(found[1]), found[2].decode("utf-8", errors="replace"))


def outcome_of(
    run: RemoteRun, config: FarmConfig, expected: ExpectedOutput, accuracy: float | None
) -> Outcome:
    """Classify a finished remote run under the farm's budget and safety net, its output
    (whose ``accuracy`` against ``expected`` is given, None when there was none to judge)
    held to the test's."""
    report = exit_report(run.report)
    if run.status != 0:
        return _failure(run, report, config)
    if run.stats is None:
        return Failed(Kind.STATS, "gem5 exited normally but wrote no stats file")
    try:
        stats = parse_stats(run.stats.decode("utf-8", errors="replace"))
    except StatsError as error:
        return Failed(Kind.STATS, str(error))
    if report is None:
        return Failed(
            Kind.STATS,
            "gem5 ended without run-se.py's exit report ('Exiting @ tick N because ...' on "
            "descriptor 3), so its stats cannot be checked; the host's run-se.py must be pie's "
            "patched one (docker/gem5-host/skylake-config.patch)",
        )
    if report.cause != NORMAL_EXIT:
        return Failed(Kind.STATS, f"gem5 exited normally but reported {report.cause!r}")
    if report.tick != stats.final_tick:
        return Failed(
            Kind.STATS,
            f"the stats file's final_tick {stats.final_tick} is not the tick gem5 ended at "
            f"({report.tick}): the file was replaced during the run (a guest writes files as "
            "gem5 does), so none of its numbers can be trusted",
        )
    if stats.bad_address_packets:
        return Failed(Kind.UNSIMULABLE, bad_address(stats.bad_address_packets))
    wrong = output_failure(run.output_bytes, accuracy, expected)
    if wrong is not None:
        return Failed(Kind.OUTPUT, wrong + _no_ops(run.log))
    assert run.output_bytes is not None and accuracy is not None  # else ``wrong`` says so
    return Simulated(
        ticks=stats.ticks,
        freq=stats.freq,
        instructions=stats.instructions,
        host_seconds=stats.host_seconds if stats.host_seconds is not None else run.seconds,
        output_bytes=run.output_bytes,
        accuracy=accuracy,
    )


def held_to(simulated: Simulated, expected: ExpectedOutput) -> Outcome:
    """A cached time, or why its output does not meet this test run's checker, accuracy or
    output limit."""
    wrong = output_failure(simulated.output_bytes, simulated.accuracy, expected)
    return simulated if wrong is None else Failed(Kind.OUTPUT, wrong)


def within_budget(simulated: Simulated, max_ticks: int) -> Outcome:
    """A time, or over budget when it took more than ``max_ticks`` (as gem5 would have
    stopped it)."""
    if simulated.ticks > max_ticks:
        return Failed(Kind.OVER_BUDGET, over_budget(max_ticks))
    return simulated


def bad_address(packets: int, *, stalled: bool = False) -> str:
    what = (
        "gem5 stopped fetching instructions from there and ran to the time budget"
        if stalled
        else "so gem5 timed memory that is not there"
    )
    return (
        f"the program used memory the Skylake config does not have ({packets} packets answered "
        "by gem5's bad-address responder: the config backs about 100 MiB of the program's "
        f"pages); {what}"
    )


def _no_ops(log: str) -> str:
    """What gem5 said it ran wrongly, when it said so: the likely cause of a wrong output."""
    skipped = unimplemented_instructions(log)
    if not skipped:
        return ""
    named = ", ".join(skipped[:5])
    return f" (gem5 warned that it ran instructions it does not implement as no-ops: {named})"


def _bad_address_packets(stats: bytes | None) -> int:
    """The bad-address packets of a failed run's stats file, 0 when it has none to read."""
    try:
        return parse_stats((stats or b"").decode("utf-8", errors="replace")).bad_address_packets
    except StatsError:
        return 0


def over_budget(max_ticks: int) -> str:
    return (
        f"still running after {max_ticks:,} ticks ({_milliseconds(max_ticks)} ms simulated, "
        "the farm's max_ticks)"
    )


def _failure(run: RemoteRun, report: ExitReport | None, config: FarmConfig) -> Failed:
    if report is not None and report.cause == BUDGET_EXIT:
        # a program past the config's memory stalls gem5's fetch until the budget runs out
        packets = _bad_address_packets(run.stats)
        if packets or outside_memory(run.log):
            return Failed(Kind.UNSIMULABLE, bad_address(packets, stalled=True))
        return Failed(Kind.OVER_BUDGET, over_budget(config.max_ticks))
    glibc = _GLIBC.search(run.log)
    if glibc:
        return Failed(
            Kind.UNSIMULABLE,
            f"the binary needs glibc {glibc[1]} (GLIBC_{glibc[1]}), newer than the gem5 host's; "
            "compile gem5-bound programs with a toolchain whose glibc is no newer than the "
            "hosts' (the docker/pie image: Ubuntu 20.04, glibc 2.31; 'pie farm check' compares "
            "the two)",
        )
    cannot = unsimulable(run.log)
    if cannot is not None:
        return Failed(Kind.UNSIMULABLE, cannot)
    if run.status in _TIMEOUT_STATUSES and run.seconds >= _TIMEOUT_SHARE * config.timeout:
        return Failed(
            Kind.HOST,
            f"gem5 was still running after {config.timeout:g} s of host time (the safety-net "
            f"'timeout'), before its simulated-time budget of {_milliseconds(config.max_ticks)} "
            "ms ran out: the host is too slow or overloaded; raise 'timeout' or use faster hosts",
        )
    if _RUN_SE_FAILED.search(run.log):
        code = _EXIT_CODE.search(run.log)
        detail = f" (exit code {code[1]})" if code else ""
        return Failed(
            Kind.GEM5, f"the program did not exit normally with code 0 under gem5{detail}"
        )
    return Failed(Kind.GEM5, f"{_status(run.status)}: {_last_message(run.log)}")


def _milliseconds(ticks: int) -> str:
    return f"{ticks / 10**9:g}"  # gem5's ticks are picoseconds


def _status(status: int) -> str:
    if status > 128:
        try:
            return f"killed by {signal.Signals(status - 128).name}"
        except ValueError:
            pass
    return f"exit {status}"


def _last_message(log: str) -> str:
    """gem5's last fatal or panic line, else the log's last line."""
    fatal = [found.group(0) for found in _FATAL.finditer(log)]
    if fatal:
        return fatal[-1].strip()[:300]
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
