"""Keeping every gem5 slot of the farm busy without losing or repeating a job.

- One task per slot (a slot is one gem5 process on a host) takes the queued job expected to
  run longest (``_queue``, ``_estimates``).
- A (binary, test) pair asked for twice while queued or running is simulated once; the
  callers share the outcome.
- Each run's output is judged against its test's expected output (``_output``) before its
  outcome lands: a wrong one is a failure, never a time.
- A job whose attempt failed because of the host (connection lost, disk, SFTP) goes back to
  the queue after a backoff, preferring hosts that have not failed it, at most ``retries``
  extra times.  A host is reconnected with backoff and taken out, with its reason reported,
  after ``host_failures`` failures in a row (or at once when retrying cannot help).
- Each outcome goes to ``record`` (the result cache) as it lands, before its callers wake.
- When the last caller of a job is cancelled, the job leaves the queue or its remote gem5 is
  killed; closing the farm stops every remote gem5.
- A JSON snapshot (queue, busy slots, per-host counts) is rewritten atomically twice a second
  for ``pie farm status`` (``_status``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import attrs

from pie._farm._config import FarmConfig, HostConfig
from pie._farm._estimates import Estimates
from pie._farm._hosts import (
    HostError,
    HostIdentity,
    HostLink,
    HostUnusable,
    LocalFileError,
    RemoteRun,
)
from pie._farm._outcome import Failed, Kind, Outcome, outcome_of
from pie._farm._output import output_accuracy
from pie._farm._queue import Entry, Job, JobQueue
from pie._farm._status import HostTally, StatusFile, snapshot

_BACKOFF_CAP_S = 30.0


Recorder = Callable[[Job, Outcome], Awaitable[None]]


class _Signal:
    """Wakes every waiter at once; a waiter that checks state and then waits misses nothing,
    since nothing runs between the check and taking the current event."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self, timeout: float | None = None) -> None:
        event = self._event
        with anyio.move_on_after(timeout):
            await event.wait()


class _Host:
    """A host's link, its health and its tally.  ``state``: connecting, up, down or out."""

    def __init__(self, config: HostConfig, farm: FarmConfig) -> None:
        self.config = config
        self.link = HostLink(config, farm)
        self.state = "connecting"
        self.reason = ""
        self.failures = 0  # host failures in a row
        self.generation = 0  # connections made so far
        self.tally = HostTally()

    @property
    def name(self) -> str:
        return self.config.name


class Farm:
    """The farm's hosts and queue; ``async with Farm(config) as farm: await farm.simulate(job)``.

    Entering connects every host; the farm's identity (gem5 build, config, host libraries) is
    the one most hosts share, and hosts that differ are taken out: their ticks would differ.
    """

    def __init__(
        self,
        config: FarmConfig,
        *,
        record: Recorder | None = None,
        status_file: Path | None = None,
    ) -> None:
        self.config = config
        self._hosts = [_Host(host, config) for host in config.hosts]
        self._record = record
        self._status = StatusFile(status_file, self.snapshot)
        self._queue = JobQueue()
        self._entries: dict[tuple[str, str, str], Entry] = {}
        self._seq = itertools.count()
        self._estimates = Estimates()
        self._changed = _Signal()
        self._group: anyio.abc.TaskGroup | None = None
        self.identity: HostIdentity | None = None
        self.unavailable = ""
        self._started = time.time()
        self._finished = False
        self._counts: Counter[str] = Counter()

    # ---- lifetime ----------------------------------------------------------------------

    async def __aenter__(self) -> Farm:
        await self._connect_all()
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        for host in self._hosts:
            group.start_soon(self._supervise, host)
            for _ in range(host.config.slots):
                group.start_soon(self._slot, host)
        if self._status.path is not None:
            group.start_soon(self._status.keep_writing)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group, self._group = self._group, None
        try:
            if group is not None:
                group.cancel_scope.cancel()  # each slot stops its remote gem5 on the way out
                await group.__aexit__(None, None, None)
        finally:
            self._fail_waiting("the farm was shut down")
            with anyio.CancelScope(shield=True):
                for host in self._hosts:
                    await host.link.close()
            self._finished = True
            self._status.write()

    async def _connect_all(self) -> None:
        results: dict[str, HostIdentity | HostError] = {}

        async def connect(host: _Host) -> None:
            try:
                results[host.name] = await host.link.connect()
            except HostError as error:
                results[host.name] = error

        async with anyio.create_task_group() as group:
            for host in self._hosts:
                group.start_soon(connect, host)
        found = [r for host in self._hosts if isinstance(r := results[host.name], HostIdentity)]
        if found:
            counts = Counter(found)
            self.identity = max(found, key=lambda identity: counts[identity])  # first of the most
        for host in self._hosts:
            result = results[host.name]
            if isinstance(result, HostIdentity):
                if result == self.identity:
                    self._up(host)
                else:
                    await self._take_out(host, _differs(result, self.identity))
            elif isinstance(result, HostUnusable) or self.identity is None:
                await self._take_out(host, str(result))
            else:
                host.state, host.failures, host.reason = "down", 1, str(result)
        if self.identity is None:
            self.unavailable = "no gem5 host could be used: " + "; ".join(
                host.reason for host in self._hosts
            )

    # ---- asking for simulations --------------------------------------------------------

    async def simulate(self, job: Job) -> Outcome:
        """The outcome of ``job``; a job already queued or running is shared, not repeated."""
        if self.identity is None:
            return Failed(Kind.HOST, self.unavailable)
        if self._group is None:
            return Failed(Kind.HOST, "the farm has stopped")
        if self._all_out():
            return Failed(Kind.HOST, self._no_host_left())
        entry = self._entries.get(job.key)
        if entry is None:
            entry = Entry(job, self._estimates.expected(job), next(self._seq))
            self._entries[job.key] = entry
            self._queue.put(entry)
            self._changed.fire()
        entry.waiters += 1
        try:
            await entry.done.wait()
        finally:
            entry.waiters -= 1
            if entry.outcome is None and entry.waiters == 0:
                self._abandon(entry)
        assert entry.outcome is not None
        return entry.outcome

    async def simulate_all(self, jobs: Sequence[Job]) -> list[Outcome | None]:
        """Outcomes in order; after the first failure the rest are dropped (None), as PIE
        stops a program's tests at its first failure: its total is infinite anyway."""
        outcomes: list[Outcome | None] = [None] * len(jobs)
        async with anyio.create_task_group() as group:

            async def one(position: int, job: Job) -> None:
                outcomes[position] = outcome = await self.simulate(job)
                if isinstance(outcome, Failed):
                    group.cancel_scope.cancel()

            for position, job in enumerate(jobs):
                group.start_soon(one, position, job)
        return outcomes

    def _abandon(self, entry: Entry) -> None:
        """Nobody waits for ``entry`` any more: dequeue it, or stop its remote run."""
        entry.abandoned = True
        self._entries.pop(entry.job.key, None)
        self._queue.remove(entry)
        if entry.scope is not None:
            entry.scope.cancel()

    # ---- slots -------------------------------------------------------------------------

    async def _slot(self, host: _Host) -> None:
        while host.state != "out":
            if host.state != "up":
                await self._changed.wait()
                continue
            entry = await self._take(host)
            if entry is not None:
                await self._execute(host, entry)

    async def _take(self, host: _Host) -> Entry | None:
        while host.state == "up":
            now = time.monotonic()
            entry, due = self._queue.take(host.name, self._usable(), now)
            if entry is not None:
                return entry
            host.tally.waiting(+1)
            try:
                await self._changed.wait(None if due == math.inf else due - now)
            finally:
                host.tally.waiting(-1)
        return None

    async def _execute(self, host: _Host, entry: Entry) -> None:
        generation = host.generation
        host.tally.busy += 1
        started = time.monotonic()
        binary, given = entry.job.uploads()
        run: RemoteRun | None = None
        accuracy: float | None = None
        try:
            with anyio.CancelScope() as scope:
                entry.scope = scope
                try:
                    run = await host.link.run(binary, given, entry.job.expected.limit)
                    accuracy = await output_accuracy(run, entry.job.expected)
                except HostError as error:
                    await self._host_trouble(host, generation, error)
                    await self._retry(entry, host, error)
                    return
                except LocalFileError as error:
                    await self._complete(entry, Failed(Kind.LOCAL, str(error)))
                    return
        finally:
            entry.scope = None
            host.tally.busy -= 1
            host.tally.busy_seconds += time.monotonic() - started
        if run is None:
            return  # abandoned by its callers: the remote gem5 was stopped
        host.failures = 0
        outcome = outcome_of(run, self.config, entry.job.expected, accuracy)
        self._estimates.record(entry.job, run.seconds)
        if isinstance(outcome, Failed):
            host.tally.failed += 1
        else:
            host.tally.done += 1
        await self._complete(entry, outcome)

    async def _retry(self, entry: Entry, host: _Host, error: HostError) -> None:
        entry.attempts += 1
        entry.avoid.add(host.name)
        if entry.abandoned:
            return
        if self._all_out():
            await self._complete(entry, Failed(Kind.HOST, self._no_host_left()))
        elif entry.attempts > self.config.retries:
            tries = f"{entry.attempts} attempt{'s' if entry.attempts > 1 else ''}"
            await self._complete(entry, Failed(Kind.HOST, f"{error} (gave up after {tries})"))
        else:
            entry.not_before = time.monotonic() + self._backoff(entry.attempts)
            self._counts["requeued"] += 1
            self._queue.put(entry)
            self._changed.fire()

    async def _complete(self, entry: Entry, outcome: Outcome) -> None:
        if self._record is not None:
            with anyio.CancelScope(shield=True):  # a finished result is kept, even at Ctrl-C
                await self._record(entry.job, outcome)
        self._counts["failed" if isinstance(outcome, Failed) else "done"] += 1
        entry.outcome = outcome
        if self._entries.get(entry.job.key) is entry:
            del self._entries[entry.job.key]
        entry.done.set()

    def _fail_waiting(self, reason: str) -> None:
        for entry in list(self._entries.values()):
            if entry.outcome is None:
                entry.outcome = Failed(Kind.HOST, reason)
                self._queue.remove(entry)
                entry.done.set()
        self._entries.clear()

    # ---- host health -------------------------------------------------------------------

    async def _supervise(self, host: _Host) -> None:
        """Reconnect a host that went down, with backoff; take it out when it keeps failing."""
        while host.state != "out":
            if host.state == "up":
                await self._until_down(host)
                continue
            await anyio.sleep(self._backoff(host.failures))
            host.state = "connecting"
            try:
                identity = await host.link.connect()
            except HostUnusable as error:
                await self._take_out(host, str(error))
                return
            except HostError as error:
                await self._count_failure(host, error)
                continue
            if host.state == "out":
                await host.link.close()
            elif identity != self.identity:
                await self._take_out(host, _differs(identity, self.identity))
            else:
                self._up(host)

    async def _until_down(self, host: _Host) -> None:
        generation = host.generation
        async with anyio.create_task_group() as group:

            async def lost() -> None:
                await host.link.wait_closed()
                group.cancel_scope.cancel()

            async def changed() -> None:
                while host.state == "up" and host.generation == generation:
                    await self._changed.wait()
                group.cancel_scope.cancel()

            group.start_soon(lost)
            group.start_soon(changed)
        if host.state == "up" and host.generation == generation:
            await self._host_trouble(host, generation, HostError(f"{host.name}: connection lost"))

    async def _host_trouble(self, host: _Host, generation: int, error: HostError) -> None:
        """A job or the connection failed on ``host``; counted once per connection."""
        host.tally.host_errors += 1
        if host.state != "up" or host.generation != generation:
            return  # this connection's failure is already counted
        if isinstance(error, HostUnusable):
            await self._take_out(host, str(error))
            return
        await self._count_failure(host, error)
        await host.link.close()

    async def _count_failure(self, host: _Host, error: HostError) -> None:
        host.failures += 1
        host.reason = str(error)
        if host.failures >= self.config.host_failures:
            await self._take_out(host, f"{error} ({host.failures} failures in a row)")
        else:
            host.state = "down"
            self._changed.fire()

    def _up(self, host: _Host) -> None:
        host.state = "up"
        host.generation += 1
        host.reason = ""
        host.tally.up()
        self._changed.fire()

    async def _take_out(self, host: _Host, reason: str) -> None:
        host.state = "out"
        host.reason = reason
        self._changed.fire()
        if self._all_out():
            left = self._no_host_left()
            for entry in self._queue.entries():
                self._queue.remove(entry)
                await self._complete(entry, Failed(Kind.HOST, left))
        with anyio.CancelScope(shield=True):
            await host.link.close()

    def _usable(self) -> set[str]:
        return {host.name for host in self._hosts if host.state == "up"}

    def _all_out(self) -> bool:
        return all(host.state == "out" for host in self._hosts)

    def _no_host_left(self) -> str:
        return "no gem5 host left: " + "; ".join(
            f"{host.name}: {host.reason}" for host in self._hosts
        )

    def _backoff(self, attempt: int) -> float:
        return float(min(_BACKOFF_CAP_S, self.config.backoff * 2 ** max(0, attempt - 1)))

    # ---- status ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What ``pie farm status`` prints: queue, slots, and per-host counts."""
        return snapshot(
            [
                host.tally.row(host.name, host.state, host.reason, host.config.slots)
                for host in self._hosts
            ],
            identity=self.identity.key() if self.identity else None,
            queue=self._queue.waiting,
            counts=dict(self._counts),
            started=self._started,
            finished=self._finished,
        )


def _differs(identity: HostIdentity, farm: HostIdentity | None) -> str:
    if farm is None:
        return "no farm identity"
    theirs, ours = attrs.asdict(identity), attrs.asdict(farm)
    parts = [
        f"{name} sha256 {theirs[name][:12]} where the farm has {ours[name][:12]}"
        for name in theirs
        if theirs[name] != ours[name]
    ]
    return "simulates differently from the other hosts: " + ", ".join(parts)
