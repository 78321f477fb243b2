"""The simulator's results in PIE's shapes (``PieSingleResult``, ``PiePairResult``) and how a
pie ``Evaluation`` and ``Timing`` become them; ``pie.simulator`` holds the environment."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import attrs

from pie._json import dumps
from pie._model import Evaluation, TestCase, Timing

# per test: the gem5 half holds a dict of statistics, the binary half the list of run times
Stats = dict[str, float] | list[float] | None


@attrs.frozen
class PieSingleResult:
    """One program's result with PIE's field names and types.

    ``agg_runtime`` is ``inf`` when the program failed or was below the accuracy threshold and
    ``nan`` when it passed but nothing timed it (``timing="none"``).  ``runtime_unit`` (pie's
    addition) names the unit of ``agg_runtime``/``tc2time``; ``evaluation`` is pie's full result
    (verdicts, per-test details).  The ``*_binary`` fields are set only for ``timing_env="both"``.
    """

    compilation: bool
    accs: dict[str, float]
    mean_acc: float
    agg_runtime: float
    agg_stdev: float
    tc2time: dict[int, float]
    tc2success: dict[int, bool]
    tc2stats: dict[int, Stats]
    agg_runtime_binary: float | None = None
    agg_stdev_binary: float | None = None
    tc2time_binary: dict[int, float] | None = None
    tc2success_binary: dict[int, bool] | None = None
    tc2stats_binary: dict[int, Stats] | None = None
    runtime_unit: str | None = None
    runtime_unit_binary: str | None = None
    evaluation: Evaluation | None = attrs.field(default=None, repr=False, eq=False)

    def to_dict(self) -> dict[str, Any]:
        """PIE's fields (and the units) as a plain dict; ``evaluation`` is left out."""
        return {k: v for k, v in attrs.asdict(self, recurse=False).items() if k != "evaluation"}

    def to_json(self) -> str:
        """Strict JSON: PIE's ``inf`` runtimes (failed or untimed programs) become null."""
        return dumps(self.to_dict())


@attrs.frozen
class PiePairResult:
    """Two programs on the same tests: every ``PieSingleResult`` field suffixed ``_v0``/``_v1``."""

    compilation_v0: bool
    compilation_v1: bool
    accs_v0: dict[str, float]
    accs_v1: dict[str, float]
    mean_acc_v0: float
    mean_acc_v1: float
    agg_runtime_v0: float
    agg_runtime_v1: float
    agg_stdev_v0: float
    agg_stdev_v1: float
    tc2time_v0: dict[int, float]
    tc2time_v1: dict[int, float]
    tc2success_v0: dict[int, bool]
    tc2success_v1: dict[int, bool]
    tc2stats_v0: dict[int, Stats]
    tc2stats_v1: dict[int, Stats]
    agg_runtime_binary_v0: float | None = None
    agg_runtime_binary_v1: float | None = None
    agg_stdev_binary_v0: float | None = None
    agg_stdev_binary_v1: float | None = None
    tc2time_binary_v0: dict[int, float] | None = None
    tc2time_binary_v1: dict[int, float] | None = None
    tc2success_binary_v0: dict[int, bool] | None = None
    tc2success_binary_v1: dict[int, bool] | None = None
    tc2stats_binary_v0: dict[int, Stats] | None = None
    tc2stats_binary_v1: dict[int, Stats] | None = None
    runtime_unit_v0: str | None = None
    runtime_unit_v1: str | None = None
    runtime_unit_binary_v0: str | None = None
    runtime_unit_binary_v1: str | None = None
    evaluation_v0: Evaluation | None = attrs.field(default=None, repr=False, eq=False)
    evaluation_v1: Evaluation | None = attrs.field(default=None, repr=False, eq=False)

    @classmethod
    def of(cls, v0: PieSingleResult, v1: PieSingleResult) -> PiePairResult:
        fields: dict[str, Any] = {}
        for suffix, single in (("_v0", v0), ("_v1", v1)):
            fields.update({k + suffix: v for k, v in attrs.asdict(single, recurse=False).items()})
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        skip = ("evaluation_v0", "evaluation_v1")
        return {k: v for k, v in attrs.asdict(self, recurse=False).items() if k not in skip}

    def to_json(self) -> str:
        """Strict JSON: PIE's ``inf`` runtimes (failed or untimed programs) become null."""
        return dumps(self.to_dict())


@attrs.frozen
class Timed:
    """One timing of one program in PIE's shapes: the gem5 half or the binary half."""

    agg_runtime: float
    agg_stdev: float
    tc2time: dict[int, float] = attrs.field(factory=dict)
    tc2success: dict[int, bool] = attrs.field(factory=dict)
    tc2stats: dict[int, Stats] = attrs.field(factory=dict)
    unit: str | None = None


# PIE: the gem5 half of a skipped program is inf with stdev 0; its binary half (where PIE's
# parser does not crash on it) inf with stdev inf.
GEM5_SKIPPED = Timed(math.inf, 0.0)
BINARY_SKIPPED = Timed(math.inf, math.inf)
UNMEASURED = Timed(math.nan, math.nan)


def from_samples(samples: dict[int, list[float]], unit: str) -> Timed:
    """PIE's hyperfine arithmetic: per test the mean; the runtime is the mean over runs of the
    sum over tests, its stdev the population stdev of those sums."""
    runs = min(len(s) for s in samples.values())
    totals = [sum(s[r] for s in samples.values()) for r in range(runs)]
    return Timed(
        agg_runtime=statistics.fmean(totals),
        agg_stdev=statistics.pstdev(totals),
        tc2time={i: statistics.fmean(s) for i, s in samples.items()},
        tc2success={i: True for i in samples},
        tc2stats={i: list(s) for i, s in samples.items()},
        unit=unit,
    )


def _per_test(timing: Timing, cases: Sequence[TestCase]) -> dict[int, float]:
    """Per-test numbers by test number; a test the backend did not reach counts as failed."""
    values = list(timing.per_test) + [math.inf] * (len(cases) - len(timing.per_test))
    return {case.index: value for case, value in zip(cases, values, strict=True)}


def _gem5_stats(timing: Timing, position: int) -> dict[str, float]:
    """Per test: PIE's key for simulated seconds, plus whatever else the backend measured."""
    stats = {"sim_seconds_precise": timing.per_test[position]}
    stats.update({m.name: m.per_test[position] for m in timing.measures})
    return stats


def from_gem5_timing(timing: Timing, cases: Sequence[TestCase]) -> Timed:
    times = _per_test(timing, cases)
    ok = {i: math.isfinite(t) for i, t in times.items()}
    return Timed(
        agg_runtime=timing.total,
        agg_stdev=0.0,  # deterministic, as PIE reports it
        tc2time=times,
        tc2success=ok,
        tc2stats={i: _gem5_stats(timing, p) for p, i in enumerate(times) if ok[i]},
        unit=timing.unit,
    )


def gem5_half(evaluation: Evaluation, cases: Sequence[TestCase], timed: bool) -> Timed:
    if not timed:
        return GEM5_SKIPPED
    if evaluation.timing is None:
        return UNMEASURED
    return from_gem5_timing(evaluation.timing, cases)


def from_local_timing(timing: Timing, cases: Sequence[TestCase]) -> Timed:
    """A deterministic local backend standing in for PIE's binary timing: one "run" per test."""
    times = _per_test(timing, cases)
    ok = {i: math.isfinite(t) for i, t in times.items()}
    return Timed(
        agg_runtime=timing.total,
        agg_stdev=0.0 if math.isfinite(timing.total) else math.inf,
        tc2time=times,
        tc2success=ok,
        tc2stats={i: [t] if ok[i] else None for i, t in times.items()},
        unit=timing.unit,
    )


def _accs(evaluation: Evaluation, cases: Sequence[TestCase]) -> dict[str, float]:
    """PIE's ``accs``: test number (as text, the way PIE's results arrive) -> accuracy, 0 for
    every test when the program does not compile."""
    scores = {t.index: t.accuracy for t in evaluation.tests}
    return {str(case.index): scores.get(case.index, 0.0) for case in cases}


def single_result(
    evaluation: Evaluation, cases: Sequence[TestCase], main: Timed, binary: Timed | None
) -> PieSingleResult:
    accs = _accs(evaluation, cases)
    extra: dict[str, Any] = {}
    if binary is not None:
        extra = {
            "agg_runtime_binary": binary.agg_runtime,
            "agg_stdev_binary": binary.agg_stdev,
            "tc2time_binary": binary.tc2time,
            "tc2success_binary": binary.tc2success,
            "tc2stats_binary": binary.tc2stats,
            "runtime_unit_binary": binary.unit,
        }
    return PieSingleResult(
        compilation=evaluation.compile.ok,
        accs=accs,
        mean_acc=statistics.fmean(accs.values()),
        agg_runtime=main.agg_runtime,
        agg_stdev=main.agg_stdev,
        tc2time=main.tc2time,
        tc2success=main.tc2success,
        tc2stats=main.tc2stats,
        runtime_unit=main.unit,
        evaluation=evaluation,
        **extra,
    )
