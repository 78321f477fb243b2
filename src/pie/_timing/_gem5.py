"""The ``gem5`` timing backend: PIE's simulated seconds from a farm of gem5 hosts.

Per test, the time is gem5's ``sim_ticks / sim_freq`` (PIE's ``sim_seconds_precise``); a
program's total is their sum, as in PIE.  A result is cached by (binary, input, the farm's
identity: gem5 build, config, host libraries), so a second evaluation asks nothing of the farm.

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
from pie._data import input_digest
from pie._errors import InputError
from pie._farm._config import FarmConfig
from pie._farm._outcome import Failed, Kind, Outcome, Simulated, within_budget
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

    def __init__(self, config: FarmConfig, store: ResultCache) -> None:
        self.config = config
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
        outcomes: list[Outcome | None] = []
        for digest in digests:
            hit = await self._store.get_json("timings", _key(binary_sha256, digest, identity))
            # a time cached under a larger budget may be over this farm's
            outcomes.append(
                within_budget(Simulated.from_json(hit), self.config.max_ticks)
                if hit is not None
                else None
            )
        cached = all(outcome is not None for outcome in outcomes)
        missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if missing:
            inputs = [tests[i].input for i in missing]
            jobs = [
                Job(binary, binary_sha256, path, digests[i], path.stat().st_size)
                for i, path in zip(missing, inputs, strict=True)
            ]
            fresh = await self._in_farm(farm, jobs)
            for position, outcome in zip(missing, fresh, strict=True):
                outcomes[position] = outcome
        return self._timing(tests, outcomes, identity, cached=cached)

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
            "key": _key(job.binary_sha256, job.input_digest, farm.identity.key()),
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


def _key(binary_sha256: str, digest: str, identity: str) -> str:
    return key_of(binary_sha256, digest, "gem5", identity)


def _measure(name: str, unit: str, values: Sequence[float]) -> Measure:
    return Measure(name, unit, float(sum(values)), tuple(float(value) for value in values))


def make(context: BackendContext, config: None) -> Gem5Backend:
    """The farm's settings come from the farm YAML, not from a config object."""
    if context.farm is None:
        raise InputError(NO_FARM)
    return Gem5Backend(context.farm, context.store)
