"""The ``cachegrind`` backend: exact instruction counts and a Skylake-like cycle estimate.

One callgrind run per test (valgrind's cache and branch simulation, the cache geometry of PIE's
gem5 Skylake configuration) gives instructions, the estimated cycles, and the share of work done
outside ``main`` (dynamic loading, static initialisers, exit), which on PIE's small tests is most
of what gem5 measures (``../shared/gem5/PROXY.md``).  Valgrind is deterministic: the same
binary on the same input gives the same counts on any run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import anyio
import attrs

from pie._model import Limits, Measure, TestCase, Timing
from pie._sandbox import Sandbox
from pie._timing._callgrind import CallgrindFormatError, parse

_L1_MISSES = ("I1mr", "D1mr", "D1mw")
_LL_MISSES = ("ILmr", "DLmr", "DLmw")
_MISPREDICTS = ("Bcm", "Bim")


@attrs.frozen
class CycleWeights:
    """cycles ≈ instruction·Ir + l1_miss·(L1 misses) + ll_miss·(LL misses) + mispredict·(...).

    The default (IPC 2, a heavy memory penalty) ranked PIE's recorded gem5 speedups best among
    the weights measured in PROXY.md (Spearman 0.87 on 21 rows; partly tuned to them)."""

    instruction: float = 0.5
    l1_miss: float = 12.0
    ll_miss: float = 200.0
    mispredict: float = 20.0

    def cycles(self, totals: dict[str, int]) -> float:
        def total(names: tuple[str, ...]) -> int:
            return sum(totals.get(name, 0) for name in names)

        return (
            self.instruction * totals.get("Ir", 0)
            + self.l1_miss * total(_L1_MISSES)
            + self.ll_miss * total(_LL_MISSES)
            + self.mispredict * total(_MISPREDICTS)
        )


@attrs.frozen
class CachegrindConfig:
    """Cache geometry (size,associativity,line) as PIE's gem5 config: L1I/L1D 32 KiB 16-way,
    last level 2 MiB 16-way; valgrind runs ``time_factor`` times the CPU limit."""

    i1: str = "32768,16,64"
    d1: str = "32768,16,64"
    ll: str = "2097152,16,64"
    weights: CycleWeights = CycleWeights()
    time_factor: float = 50.0
    memory_extra_mib: int = 512

    def tool_args(self) -> list[str]:
        return [
            "--tool=callgrind",
            "--cache-sim=yes",
            "--branch-sim=yes",
            f"--I1={self.i1}",
            f"--D1={self.d1}",
            f"--LL={self.ll}",
        ]

    def key(self) -> str:
        w = self.weights
        return (
            f"callgrind;I1={self.i1};D1={self.d1};LL={self.ll};"
            f"w={w.instruction},{w.l1_miss},{w.ll_miss},{w.mispredict}"
        )


class CachegrindBackend:
    name = "cachegrind"
    unit = "instructions"

    def __init__(self, sandbox: Sandbox, config: CachegrindConfig | None = None) -> None:
        self._sandbox = sandbox
        self.config = config or CachegrindConfig()

    async def measure(
        self, binary: Path, tests: Sequence[TestCase], limits: Limits
    ) -> Timing | None:
        scaled = attrs.evolve(
            limits,
            time=limits.time * self.config.time_factor,
            memory_mib=limits.memory_mib + self.config.memory_extra_mib,
        )
        rows: list[tuple[float, float, float] | str] = [""] * len(tests)

        async def one(position: int, case: TestCase) -> None:
            rows[position] = await self._profile(binary, case, scaled)

        async with anyio.create_task_group() as group:
            for position, case in enumerate(tests):
                group.start_soon(one, position, case)
        failures = [r for r in rows if isinstance(r, str)]
        if failures:
            return self._failed(len(tests), failures[0])
        counts = [r for r in rows if not isinstance(r, str)]
        instructions = tuple(c[0] for c in counts)
        cycles = tuple(c[1] for c in counts)
        in_main = tuple(c[2] for c in counts)
        startup = tuple(
            1.0 - m / i if i else 0.0 for m, i in zip(in_main, instructions, strict=True)
        )
        total_i = sum(instructions)
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=total_i,
            per_test=instructions,
            config=self.config.key(),
            measures=(
                Measure("estimated_cycles", "cycles", sum(cycles), cycles),
                Measure(
                    "startup_share",
                    "fraction of instructions outside main",
                    1.0 - sum(in_main) / total_i if total_i else 0.0,
                    startup,
                ),
            ),
        )

    async def _profile(
        self, binary: Path, case: TestCase, limits: Limits
    ) -> tuple[float, float, float] | str:
        outcome, text = await self._sandbox.profile(
            binary, case.input, limits, self.config.tool_args()
        )
        if outcome.exit_code != 0:
            reason = (
                "over the time limit"
                if outcome.wall_exceeded
                else (f"exit {outcome.exit_code}, signal {outcome.signal}")
            )
            return f"test {case.index} failed under valgrind ({reason})"
        try:
            profile = parse(text)
        except CallgrindFormatError as error:
            return f"test {case.index}: {error}"
        main = profile.main_inclusive or {}
        return (
            float(profile.total("Ir")),
            self.config.weights.cycles(profile.totals),
            float(main.get("Ir", 0)),
        )

    def _failed(self, count: int, reason: str) -> Timing:
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=math.inf,
            per_test=(math.inf,) * count,
            config=self.config.key(),
            error=reason,
        )
