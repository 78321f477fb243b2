"""The ``gem5`` timing backend: PIE's simulated seconds from a farm of gem5 hosts.

Per test, the time is gem5's ``sim_ticks / sim_freq`` (PIE's ``sim_seconds_precise``); a
program's total is their sum, as in PIE.  The time counts only when what the program printed
under gem5 passes the test as its test run did (the evaluator's checker, at least the test
run's accuracy, within the output limit): a program that detects gem5 and skips its work there
gets an error, not a speedup.  A result is cached by (binary, test, checker, the farm's
identity: gem5 build, config, host libraries) with its output's accuracy and size, so a second
evaluation asks nothing of the farm.

The farm runs on its own event loop in a thread (asyncssh needs asyncio; pie's API works
under asyncio and trio), started at the first measurement and closed with the evaluator.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread

from pie._cache import ResultCache
from pie._check import CheckMode
from pie._data import input_digest, test_digest
from pie._errors import InputError
from pie._farm._config import FarmConfig
from pie._farm._outcome import Failed, Kind, Outcome, Simulated, held_to, within_budget
from pie._farm._output import ExpectedOutput
from pie._farm._queue import Job
from pie._farm._scheduler import Farm
from pie._hashing import key_of
from pie._model import Limits, Measure, TestCase, Timing
from pie._paths import farm_status_path
from pie._timing import NO_FARM

if TYPE_CHECKING:
    from pie._timing import BackendContext

# threads that wait for the farm's answers, one per program being measured
_WAITERS = 256


class Gem5Backend:
    name = "gem5"
    unit = "seconds"

    def __init__(self, config: FarmConfig, store: ResultCache, *, check: CheckMode) -> None:
        self.config = config
        self.check = check  # the tests' checker, which judges the simulated runs' output too
        self._store = store
        self._start_lock = threading.Lock()
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._farm_cm: AbstractContextManager[Farm] | None = None
        self._farm: Farm | None = None
        self._waiters: anyio.CapacityLimiter | None = None

    async def measure(
        self,
        binary: Path,
        binary_sha256: str,
        tests: Sequence[TestCase],
        limits: Limits,
        accuracies: Sequence[float] | None = None,
    ) -> Timing | None:
        farm = await anyio.to_thread.run_sync(self._started)
        if farm.identity is None:
            return self._failed(len(tests), "", Failed(Kind.HOST, farm.unavailable).message)
        identity = farm.identity.key()
        digests = [input_digest(case) for case in tests]
        floors = list(accuracies) if accuracies is not None else [1.0] * len(tests)
        expected = [
            ExpectedOutput(case.output, test_digest(case), self.check, floor, limits.output_bytes)
            for case, floor in zip(tests, floors, strict=True)
        ]
        outcomes: list[Outcome | None] = []
        for judged in expected:
            hit = await self._store.get_json("timings", _key(binary_sha256, judged, identity))
            outcomes.append(None if hit is None else self._cached(hit, judged))
        cached = all(outcome is not None for outcome in outcomes)
        missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if missing:
            jobs = [
                Job(
                    binary,
                    binary_sha256,
                    tests[i].input,
                    digests[i],
                    expected[i],
                    tests[i].input.stat().st_size,
                )
                for i in missing
            ]
            fresh = await self._in_farm(farm, jobs)
            for position, outcome in zip(missing, fresh, strict=True):
                outcomes[position] = outcome
        return self._timing(tests, outcomes, identity, cached=cached)

    def _cached(self, hit: dict[str, Any], expected: ExpectedOutput) -> Outcome:
        """A cached time held to this farm's budget (it may have been cached under a larger
        one) and to this test run's output judgment."""
        budgeted = within_budget(Simulated.from_json(hit), self.config.max_ticks)
        return held_to(budgeted, expected) if isinstance(budgeted, Simulated) else budgeted

    async def _in_farm(self, farm: Farm, jobs: list[Job]) -> list[Outcome | None]:
        """``farm.simulate_all(jobs)`` on the farm's loop; cancelling us cancels it there."""
        assert self._portal is not None
        if self._waiters is None:
            self._waiters = anyio.CapacityLimiter(_WAITERS)
        future: Future[list[Outcome | None]] = self._portal.start_task_soon(farm.simulate_all, jobs)
        try:
            return await anyio.to_thread.run_sync(
                future.result, abandon_on_cancel=True, limiter=self._waiters
            )
        except BaseException:
            future.cancel()
            raise

    def _timing(
        self,
        tests: Sequence[TestCase],
        outcomes: list[Outcome | None],
        identity: str,
        *,
        cached: bool,
    ) -> Timing:
        failure = next(
            (
                (case, outcome)
                for case, outcome in zip(tests, outcomes, strict=True)
                if isinstance(outcome, Failed)
            ),
            None,
        )
        if failure is not None:
            case, failed = failure
            return self._failed(len(tests), identity, f"{failed.message} (test {case.index})")
        simulated = [outcome for outcome in outcomes if isinstance(outcome, Simulated)]
        assert len(simulated) == len(tests)
        seconds = [outcome.seconds for outcome in simulated]
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=float(sum(seconds, Fraction(0))),
            per_test=tuple(float(value) for value in seconds),
            config=identity,
            cached=cached,
            measures=(
                _measure("instructions", "instructions", [o.instructions for o in simulated]),
                _measure("ticks", "ticks", [o.ticks for o in simulated]),
                _measure("host_seconds", "host seconds", [o.host_seconds for o in simulated]),
            ),
        )

    def _failed(self, count: int, identity: str, reason: str) -> Timing:
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=math.inf,
            per_test=(math.inf,) * count,
            config=identity,
            error=reason,
        )

    # ---- the farm's thread -------------------------------------------------------------

    def _started(self) -> Farm:
        """The running farm, started (hosts connected) by the first caller."""
        with self._start_lock:
            if self._farm is None:
                self._portal_cm = anyio.from_thread.start_blocking_portal("asyncio")
                self._portal = self._portal_cm.__enter__()
                farm = Farm(
                    self.config,
                    record=self._record,
                    status_file=farm_status_path(self._store.path.parent),
                )
                self._farm_cm = self._portal.wrap_async_context_manager(farm)
                try:
                    self._farm_cm.__enter__()
                except BaseException:
                    self._stop()
                    raise
                self._farm = farm
            return self._farm

    async def _record(self, job: Job, outcome: Outcome) -> None:
        """Called on the farm's loop as each result lands: successes go to the cache."""
        farm = self._farm
        if not isinstance(outcome, Simulated) or farm is None or farm.identity is None:
            return  # failures may be the host's or the timeout's: simulate them again next time
        row: dict[str, Any] = {
            "key": _key(job.binary_sha256, job.expected, farm.identity.key()),
            "binary": job.binary_sha256,
            "result": json.dumps(outcome.to_json()),
        }
        # the store's own async helpers belong to the caller's event loop; this is the farm's
        await anyio.to_thread.run_sync(self._store.put, "timings", row)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._stop)

    def _stop(self) -> None:
        with self._start_lock:
            farm_cm, self._farm_cm = self._farm_cm, None
            portal_cm, self._portal_cm = self._portal_cm, None
            self._farm = None
            self._portal = None
            try:
                if farm_cm is not None:
                    farm_cm.__exit__(None, None, None)
            finally:
                if portal_cm is not None:
                    portal_cm.__exit__(None, None, None)


def _key(binary_sha256: str, expected: ExpectedOutput, identity: str) -> str:
    """A binary's time on a test, its output judged with one checker (the accuracy and size
    are kept with it, held to each later test run's floor and limit)."""
    return key_of(binary_sha256, expected.test_digest, expected.mode.value, "gem5", identity)


def _measure(name: str, unit: str, values: Sequence[float]) -> Measure:
    return Measure(name, unit, float(sum(values)), tuple(float(value) for value in values))


def make(context: BackendContext, config: None) -> Gem5Backend:
    """The farm's settings come from the farm YAML, not from a config object."""
    if context.farm is None:
        raise InputError(NO_FARM)
    return Gem5Backend(context.farm, context.store, check=context.check)
