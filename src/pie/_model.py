"""The data types every stage of the pipeline passes along (attrs, frozen)."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from pie._errors import InputError

MIB = 1 << 20


class Verdict(str, enum.Enum):
    """A judge verdict, as competitive-programming judges name them."""

    AC = "AC"  # accepted
    WA = "WA"  # wrong answer
    TLE = "TLE"  # time limit exceeded (CPU or wall clock)
    MLE = "MLE"  # memory limit exceeded
    RE = "RE"  # runtime error: a signal, a non-zero exit, a forbidden system call
    OLE = "OLE"  # output limit exceeded
    CE = "CE"  # compile error
    IE = "IE"  # not a judge verdict: the input could not be evaluated (see Evaluation.error)

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Limits:
    """Resource limits of one test run: ``time_limit`` CPU seconds and ``memory_limit`` MiB (the
    names of ``pie run --time-limit/--memory-limit`` and of the YAML keys).  The wall-clock limit
    follows the CPU limit: ``wall_limit = time_limit * wall_factor + wall_extra``."""

    time_limit: float = 10.0
    memory_limit: int = 1024
    output_mib: int = 64
    processes: int = 64
    wall_factor: float = 2.0
    wall_extra: float = 1.0

    def __attrs_post_init__(self) -> None:
        if not self.time_limit > 0:
            raise InputError(f"time limit must be positive, got {self.time_limit!r}")
        if self.memory_limit < 16:
            raise InputError(f"memory limit must be at least 16 MiB, got {self.memory_limit!r}")
        if self.output_mib < 1:
            raise InputError(f"output limit must be at least 1 MiB, got {self.output_mib!r}")

    @property
    def wall_limit(self) -> float:
        return self.time_limit * self.wall_factor + self.wall_extra

    @property
    def memory_bytes(self) -> int:
        return self.memory_limit * MIB

    @property
    def output_bytes(self) -> int:
        return self.output_mib * MIB

    def key(self) -> str:
        """A stable text form, part of cache keys; ``time_limit=10`` and ``10.0`` (the API's
        and the command line's spelling) are one key, so they share cached verdicts."""
        return (
            f"t={float(self.time_limit)};m={self.memory_limit};o={self.output_mib};"
            f"p={self.processes};wf={float(self.wall_factor)};we={float(self.wall_extra)}"
        )


@attrs.frozen
class TestCase:
    """One test: its index, the input file and the expected output file."""

    __test__ = False  # not a pytest class

    index: int
    input: Path
    output: Path


@attrs.frozen
class CompileResult:
    ok: bool
    seconds: float
    cached: bool
    message: str
    binary: Path | None = None
    binary_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 4),
            "cached": self.cached,
            "message": self.message,
        }


@attrs.frozen
class TestResult:
    """The outcome of one test run: verdict, accuracy of its lines and what it cost."""

    __test__ = False

    index: int
    verdict: Verdict
    accuracy: float
    cpu_seconds: float
    wall_seconds: float
    max_rss_kib: int
    exit_code: int | None
    signal: int | None
    stderr: str = ""
    cached: bool = False
    # why the sandbox ended the run, where the signal alone does not say it
    # (e.g. "system call pause (34) refused by the sandbox")
    reason: str | None = None

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        data = {
            "index": self.index,
            "verdict": self.verdict.value,
            "accuracy": self.accuracy,
            "cpu_seconds": round(self.cpu_seconds, 4),
            "wall_seconds": round(self.wall_seconds, 4),
            "max_rss_kib": self.max_rss_kib,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "reason": self.reason,
            "cached": self.cached,
        }
        if full:
            data["stderr"] = self.stderr
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestResult:
        return cls(
            index=data["index"],
            verdict=Verdict(data["verdict"]),
            accuracy=data["accuracy"],
            cpu_seconds=data["cpu_seconds"],
            wall_seconds=data["wall_seconds"],
            max_rss_kib=data["max_rss_kib"],
            exit_code=data["exit_code"],
            signal=data["signal"],
            stderr=data.get("stderr", ""),
            cached=data.get("cached", False),
            reason=data.get("reason"),
        )


@attrs.frozen
class Measure:
    """One timing quantity, per test and over all tests."""

    name: str
    unit: str
    total: float
    per_test: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        total, per_test = _finite(self.total), _finites(self.per_test)
        return {"unit": self.unit, "total": total, "per_test": per_test}


@attrs.frozen
class Quantity:
    """What a timing's primary number is when a model makes it from counts, and how far it
    agreed with PIE's gem5 numbers (``agreement``: the model's measured figures)."""

    name: str
    version: int
    unit: str
    description: str
    agreement: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "unit": self.unit,
            "description": self.description,
            "agreement": dict(self.agreement),
        }


@attrs.frozen
class Timing:
    """A speed measurement; numbers of different ``backend``/``config`` never compare.

    ``total``/``per_test`` are the backend's primary quantity (in ``unit``; ``quantity`` names
    the model that made it, when one did); ``measures`` holds the others it reports.  ``error``
    says why a measurement failed (``total`` is then inf, and null in JSON, which has no
    infinity).
    """

    backend: str
    unit: str
    total: float
    per_test: tuple[float, ...]
    config: str = ""
    measures: tuple[Measure, ...] = ()
    error: str | None = None
    cached: bool = False
    quantity: Quantity | None = None

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "backend": self.backend,
            "unit": self.unit,
            "total": _finite(self.total),
            "per_test": _finites(self.per_test),
            "config": self.config,
            "cached": self.cached,
        }
        if self.quantity is not None:
            data["quantity"] = self.quantity.to_json()
        data.update({m.name: m.to_json() for m in self.measures})
        if self.error:
            data["error"] = self.error
        elif data["total"] is None or None in data["per_test"]:
            data["error"] = "not measured"
        return data


def _finite(value: float) -> float | None:
    """A number as JSON can hold it: None for inf and NaN (RFC 8259 has neither)."""
    return value if math.isfinite(value) else None


def _finites(values: Sequence[float]) -> list[float | None]:
    return [_finite(v) for v in values]


def speedup(baseline: Timing, candidate: Timing) -> float:
    """baseline / candidate, refused when the two were not measured the same way."""
    for field in ("backend", "unit", "config"):
        if getattr(baseline, field) != getattr(candidate, field):
            raise InputError(
                f"cannot compare timings of different {field}s: "
                f"{getattr(baseline, field)!r} against {getattr(candidate, field)!r}; "
                "measure both programs with the same backend and configuration"
            )
    return baseline.total / candidate.total


@attrs.frozen
class Evaluation:
    """Everything known about one program on one problem."""

    verdict: Verdict
    accuracy: float
    source_sha256: str
    compile: CompileResult
    tests: tuple[TestResult, ...]
    timing: Timing | None = None
    sandbox: str = ""
    label: str | None = None
    error: str | None = None
    infrastructure: bool = False  # an IE the host caused (sandbox, disk): worth a retry

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.AC

    @classmethod
    def failed(
        cls, error: str, label: str | None = None, *, infrastructure: bool = False
    ) -> Evaluation:
        """A submission that could not be evaluated at all (bad input, or a failure of the
        host when ``infrastructure``), reported in a batch."""
        nothing = CompileResult(ok=False, seconds=0.0, cached=False, message=error)
        return cls(Verdict.IE, 0.0, "", nothing, (), None, "", label, error, infrastructure)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "accuracy": self.accuracy,
            "source_sha256": self.source_sha256,
            "compile": self.compile.to_json(),
            "tests": [t.to_json() for t in self.tests],
            "timing": self.timing.to_json() if self.timing else None,
            "sandbox": self.sandbox,
            **({"error": self.error} if self.error else {}),
            **({"infrastructure": True} if self.infrastructure else {}),
        }


def overall_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """The first non-AC verdict in index order; AC when every test passed."""
    return next((v for v in verdicts if v is not Verdict.AC), Verdict.AC)
