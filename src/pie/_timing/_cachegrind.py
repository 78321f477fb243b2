"""The ``cachegrind`` backend: exact event counts, and cycles of a model calibrated on gem5.

One callgrind run per test (valgrind's cache and branch simulation, the cache geometry of PIE's
gem5 Skylake configuration) gives instructions, cache misses, mispredicts, and the share of
work done outside ``main`` (dynamic loading, static initialisers, exit), which on PIE's small
tests is most of what gem5 measures (``../shared/gem5/PROXY.md``).  The primary quantity is
the cycles the calibrated model (``_cycles.py``) makes of these counts; the counts stay
available as measures.
Valgrind is deterministic: the same binary on the same input gives the same counts on any run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import anyio
import attrs

from pie._cache import ResultCache
from pie._data import input_digest
from pie._errors import InputError
from pie._hashing import key_of
from pie._model import Limits, Measure, TestCase, Timing
from pie._sandbox import Sandbox
from pie._timing._callgrind import CallgrindFormatError, parse
from pie._timing._counted import first_failure, scaled_limits, startup_share
from pie._timing._cycles import CACHEGRIND_MODEL, CycleModel

if TYPE_CHECKING:
    from pie._timing import BackendContext

_L1I_MISSES = ("I1mr",)
_L1D_MISSES = ("D1mr", "D1mw")
_LL_MISSES = ("ILmr", "DLmr", "DLmw")
_MISPREDICTS = ("Bcm", "Bim")


@attrs.frozen
class Counts:
    """What one simulated run counted (the cached, weight-free part)."""

    instructions: int
    l1i_misses: int
    l1d_misses: int
    ll_misses: int
    mispredicts: int
    instructions_in_main: int

    @classmethod
    def of(cls, totals: dict[str, int], main: dict[str, int]) -> Counts:
        def total(names: tuple[str, ...]) -> int:
            return sum(totals.get(name, 0) for name in names)

        return cls(
            instructions=totals.get("Ir", 0),
            l1i_misses=total(_L1I_MISSES),
            l1d_misses=total(_L1D_MISSES),
            ll_misses=total(_LL_MISSES),
            mispredicts=total(_MISPREDICTS),
            instructions_in_main=main.get("Ir", 0),
        )

    @property
    def l1_misses(self) -> int:
        return self.l1i_misses + self.l1d_misses

    def events(self) -> dict[str, float]:
        """The counts a cycle model reads, by event name."""
        return {
            "instructions": self.instructions,
            "l1_misses": self.l1_misses,
            "ll_misses": self.ll_misses,
            "mispredicts": self.mispredicts,
        }


@attrs.frozen
class CachegrindConfig:
    """Cache geometry (size,associativity,line) as PIE's gem5 config: L1I/L1D 32 KiB 16-way,
    last level 2 MiB 16-way; valgrind runs ``time_factor`` times the CPU limit.  The budget
    (20 G instructions by default, far past what gem5 simulates in PIE's 120 s) is part of the
    timing's configuration.  ``model`` turns the counts into the primary quantity, cycles; a
    model fitted on other counts (another geometry, another mechanism) is refused."""

    backend: ClassVar[str] = "cachegrind"

    i1: str = "32768,16,64"
    d1: str = "32768,16,64"
    ll: str = "2097152,16,64"
    model: CycleModel = CACHEGRIND_MODEL
    time_factor: float = 50.0
    memory_extra_mib: int = 512
    # Instructions per test past which a program is reported over budget: a verdict that does
    # not depend on the host's speed (valgrind cannot stop a run at a count, so the run still
    # has to finish within time_factor times the CPU limit to be judged).
    instruction_budget: int | None = 20_000_000_000

    def tool_args(self) -> list[str]:
        return [
            "--tool=callgrind",
            "--cache-sim=yes",
            "--branch-sim=yes",
            f"--I1={self.i1}",
            f"--D1={self.d1}",
            f"--LL={self.ll}",
        ]

    def simulation_key(self) -> str:
        """What decides the counts (the cache key); the cycle model only reads them."""
        return f"callgrind-v3;I1={self.i1};D1={self.d1};LL={self.ll}"

    def key(self) -> str:
        model = self.model.key
        return f"{self.simulation_key()};model={model};budget={self.instruction_budget}"

    def __attrs_post_init__(self) -> None:
        fitted_on = f"cachegrind {self.simulation_key()}"
        if self.model.counts != fitted_on:
            raise InputError(
                f"cycle model {self.model.key} was fitted on counts of {self.model.counts!r}, "
                f"not on this configuration's {fitted_on!r}; refit it with bench/calibrate.py"
            )


class CachegrindBackend:
    name = "cachegrind"
    unit = "cycles"

    def __init__(
        self, sandbox: Sandbox, store: ResultCache, config: CachegrindConfig | None = None
    ) -> None:
        self._sandbox = sandbox
        self._store = store
        self.config = config or CachegrindConfig()

    async def measure(
        self,
        binary: Path,
        binary_sha256: str,
        tests: Sequence[TestCase],
        limits: Limits,
        accuracies: Sequence[float] | None = None,
    ) -> Timing | None:
        scaled = scaled_limits(limits, self.config)
        rows: list[Counts | str] = [""] * len(tests)
        hits = [False] * len(tests)

        async def one(position: int, case: TestCase) -> None:
            key = key_of(binary_sha256, input_digest(case), self.config.simulation_key())
            cached = await self._store.get_json("timings", key)
            if cached is not None:
                rows[position] = Counts(**cached)
                hits[position] = True
                return
            rows[position] = row = await self._profile(binary, case, scaled)
            if isinstance(row, Counts):  # failures are not kept: they may be the host's
                await self._store.put_json("timings", key, binary_sha256, attrs.asdict(row))

        async with anyio.create_task_group() as group:
            for position, case in enumerate(tests):
                group.start_soon(one, position, case)
        failure = first_failure(tests, rows, self.config.instruction_budget)
        if failure is not None:
            return self._failed(len(tests), failure)
        return self._timing([r for r in rows if isinstance(r, Counts)], cached=all(hits))

    def _timing(self, counts: list[Counts], *, cached: bool) -> Timing:
        def measure(name: str, unit: str, values: tuple[float, ...]) -> Measure:
            return Measure(name, unit, sum(values), values)

        instructions = tuple(float(c.instructions) for c in counts)
        overall_startup, startup = startup_share(counts)
        model = self.config.model
        cycles = tuple(model.cycles(c.events()) for c in counts)
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=sum(cycles),
            per_test=cycles,
            config=self.config.key(),
            cached=cached,
            quantity=model.quantity(),
            measures=(
                Measure("startup_share", "fraction of instructions outside main",
                        overall_startup, startup),
                measure("instructions", "instructions", instructions),
                measure("l1_misses", "misses", tuple(float(c.l1_misses) for c in counts)),
                measure("l1i_misses", "misses", tuple(float(c.l1i_misses) for c in counts)),
                measure("l1d_misses", "misses", tuple(float(c.l1d_misses) for c in counts)),
                measure("ll_misses", "misses", tuple(float(c.ll_misses) for c in counts)),
                measure("mispredicts", "branches", tuple(float(c.mispredicts) for c in counts)),
            ),
        )  # fmt: skip

    async def _profile(self, binary: Path, case: TestCase, limits: Limits) -> Counts | str:
        outcome, text = await self._sandbox.profile(
            binary, case.input, limits, self.config.tool_args()
        )
        if outcome.exit_code != 0:
            reason = (
                "over the time limit"
                if outcome.wall_exceeded
                else f"exit {outcome.exit_code}, signal {outcome.signal}"
            )
            return f"test {case.index} failed under valgrind ({reason})"
        try:
            profile = parse(text)
        except CallgrindFormatError as error:
            return f"test {case.index}: {error}"
        return Counts.of(profile.totals, profile.main_inclusive or {})

    def _failed(self, count: int, reason: str) -> Timing:
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=math.inf,
            per_test=(math.inf,) * count,
            config=self.config.key(),
            error=reason,
            quantity=self.config.model.quantity(),
        )

    async def aclose(self) -> None:
        pass  # holds nothing between measurements


def make(context: BackendContext, config: CachegrindConfig | None) -> CachegrindBackend:
    return CachegrindBackend(context.sandbox, context.store, config)
