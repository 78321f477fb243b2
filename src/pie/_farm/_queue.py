"""The farm's jobs and its queue: what one gem5 run is, and which waiting run a free slot takes.

A free slot takes the waiting job expected to run longest (ties: the larger input first, then
the older job); a job that failed on a host waits out its backoff, and prefers the hosts that
have not failed it while any is up.
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path

import anyio
import attrs

from pie._farm._hosts import Upload
from pie._farm._outcome import Outcome
from pie._farm._output import ExpectedOutput


@attrs.frozen
class Job:
    """One gem5 run to do: a binary on one test input, its output judged against the test's
    expected output (which stays here)."""

    binary: Path
    binary_sha256: str
    input: Path
    input_digest: str
    expected: ExpectedOutput
    input_bytes: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.binary_sha256, self.input_digest, self.expected.key())

    def uploads(self) -> tuple[Upload, Upload]:
        return (
            Upload(self.binary, self.binary_sha256, "bin"),
            Upload(self.input, self.input_digest, "inputs"),
        )


class Entry:
    """A job in the farm: queued or running, with the callers waiting for it."""

    def __init__(self, job: Job, expected: float, seq: int) -> None:
        self.job = job
        self.order = (-expected, -job.input_bytes, seq)
        self.waiters = 0
        self.attempts = 0
        self.avoid: set[str] = set()  # hosts on which an attempt failed
        self.not_before = 0.0
        self.queued = False
        self.abandoned = False
        self.scope: anyio.CancelScope | None = None
        self.outcome: Outcome | None = None
        self.done = anyio.Event()


class JobQueue:
    """Waiting entries, longest expected first (removal is lazy: a flag on the entry)."""

    def __init__(self) -> None:
        self._heap: list[tuple[tuple[float, int, int], Entry]] = []
        self.waiting = 0

    def put(self, entry: Entry) -> None:
        entry.queued = True
        self.waiting += 1
        heapq.heappush(self._heap, (entry.order, entry))

    def remove(self, entry: Entry) -> None:
        if entry.queued:
            entry.queued = False
            self.waiting -= 1

    def entries(self) -> list[Entry]:
        return [entry for _, entry in self._heap if entry.queued]

    def take(self, host: str, usable: set[str], now: float) -> tuple[Entry | None, float]:
        """The first entry ``host`` may run now, and when a delayed entry becomes due."""
        skipped = []
        chosen = None
        due = math.inf
        while self._heap:
            item = heapq.heappop(self._heap)
            entry = item[1]
            if not entry.queued:
                continue
            if entry.not_before > now:
                due = min(due, entry.not_before)
            elif host in entry.avoid and not usable <= entry.avoid:
                pass  # other hosts first: this one failed it, and others are up
            else:
                chosen = entry
                break
            skipped.append(item)
        for item in skipped:
            heapq.heappush(self._heap, item)
        if chosen is not None:
            self.remove(chosen)
        return chosen, due
