"""The ``wall`` backend: repeated sandboxed runs, medians, and a rank test for comparisons.

Wall time is not deterministic; it is here for quick looks.  Each test is run ``warmup`` times
unmeasured, then ``repetitions`` times; a result reports per test the median (the primary
number), the minimum and the interquartile range, plus the host settings that make such numbers
noisy.  ``compare`` interleaves two programs' runs and decides with a Mann-Whitney U test
whether one is faster.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import anyio
import attrs

from pie._model import Limits, Measure, TestCase, Timing
from pie._sandbox import Sandbox
from pie._timing import _noise

if TYPE_CHECKING:
    from pie._timing import BackendContext


@attrs.frozen
class WallConfig:
    backend: ClassVar[str] = "wall"

    repetitions: int = 10
    warmup: int = 1

    def __attrs_post_init__(self) -> None:
        if self.repetitions < 3:
            raise ValueError(f"wall timing needs at least 3 repetitions, got {self.repetitions}")

    def key(self) -> str:
        return f"wall;n={self.repetitions};warmup={self.warmup};{_noise.summary()}"


def iqr(values: Sequence[float]) -> float:
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


class WallBackend:
    name = "wall"
    unit = "seconds"

    def __init__(self, sandbox: Sandbox, config: WallConfig | None = None) -> None:
        self._sandbox = sandbox
        self.config = config or WallConfig()
        # one measurement at a time: concurrent timings would measure each other
        self._lock = anyio.Lock()

    async def samples(self, binary: Path, case: TestCase, limits: Limits) -> list[float]:
        """``repetitions`` wall-clock seconds of one test, after the warm-up runs."""
        measured = []
        for round_ in range(self.config.warmup + self.config.repetitions):
            outcome = await self._sandbox.run(binary, case.input, limits, pin=True)
            if round_ >= self.config.warmup:
                measured.append(outcome.wall_seconds)
        return measured

    async def measure(
        self,
        binary: Path,
        binary_sha256: str,
        tests: Sequence[TestCase],
        limits: Limits,
        accuracies: Sequence[float] | None = None,
    ) -> Timing | None:
        async with self._lock:
            per_test = [await self.samples(binary, case, limits) for case in tests]
        medians = tuple(statistics.median(s) for s in per_test)
        minima = tuple(min(s) for s in per_test)
        spreads = tuple(iqr(s) for s in per_test)
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=sum(medians),
            per_test=medians,
            config=self.config.key(),
            measures=(
                Measure("min", "seconds", sum(minima), minima),
                Measure("iqr", "seconds", sum(spreads), spreads),
            ),
        )

    async def compare(
        self, baseline: Path, candidate: Path, tests: Sequence[TestCase], limits: Limits
    ) -> Comparison:
        """Interleaved runs of both programs (A, B, A, B, ...) over all tests."""
        totals: dict[str, list[float]] = {"a": [], "b": []}
        async with self._lock:
            for round_ in range(self.config.warmup + self.config.repetitions):
                for name, binary in (("a", baseline), ("b", candidate)):
                    total = 0.0
                    for case in tests:
                        outcome = await self._sandbox.run(binary, case.input, limits, pin=True)
                        total += outcome.wall_seconds
                    if round_ >= self.config.warmup:
                        totals[name].append(total)
        return Comparison.of(totals["a"], totals["b"])

    async def aclose(self) -> None:
        pass  # holds nothing between measurements


def make(context: BackendContext, config: WallConfig | None) -> WallBackend:
    return WallBackend(context.sandbox, config)


@attrs.frozen
class Comparison:
    """Is ``b`` faster than ``a``?  ``speedup`` = median(a) / median(b)."""

    speedup: float
    p_value: float
    resolvable_speedup: float
    a_seconds: tuple[float, ...]
    b_seconds: tuple[float, ...]

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05

    @classmethod
    def of(cls, a: Sequence[float], b: Sequence[float]) -> Comparison:
        speedup = statistics.median(a) / statistics.median(b)
        return cls(speedup, mann_whitney_p(a, b), resolvable(a, b), tuple(a), tuple(b))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tie-corrected)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    rank_sum_a = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum_a - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    return max(0.0, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2))))


def resolvable(a: Sequence[float], b: Sequence[float]) -> float:
    """The smallest speedup these samples could tell from noise: 1 + 2 times the larger
    relative interquartile range over sqrt(n) (a rough bound; noisier hosts resolve less)."""
    spread = max(iqr(s) / statistics.median(s) for s in (a, b) if s)
    return 1.0 + 2.0 * spread / math.sqrt(min(len(a), len(b)))
