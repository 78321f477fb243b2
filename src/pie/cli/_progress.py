"""Progress of a long run: a live rich display on a terminal, periodic plain lines otherwise.

Both show programs done/total, verdict counts (of the whole run, resumed part included),
throughput and the time left, counting only programs evaluated in this session for the rate, so
a resumed run does not look instant.  rich is optional (the ``progress`` extra) and imported only
for the live display.
"""

from __future__ import annotations

import collections
import json
import sys
import time
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TextIO

import pie

PLAIN_EVERY_SECONDS = 10.0


def _verdict_text(counts: collections.Counter[str]) -> str:
    return " ".join(f"{verdict} {n}" for verdict, n in sorted(counts.items()))


def farm_text(status: Path | None) -> str:
    """Busy gem5 slots and queue length, from the farm's status file, when a farm runs."""
    if status is None:
        return ""
    try:
        data = json.loads(status.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    busy, slots, queue = (data.get(k, 0) for k in ("busy_slots", "slots", "queue"))
    return f"farm {busy}/{slots} slots busy, queue {queue}"


class Tracker:
    """Counts shared by both displays."""

    def __init__(
        self, total: int, already: Iterable[pie.Outcome], farm_status: Path | None = None
    ) -> None:
        earlier = list(already)
        self.farm_status = farm_status
        self.total = total
        self.done = len(earlier)
        self.fresh = 0
        self.started = time.monotonic()
        self.verdicts = collections.Counter(outcome.verdict for outcome in earlier)

    def add(self, outcome: pie.Outcome) -> None:
        self.done += 1
        self.fresh += 1
        self.verdicts[outcome.verdict] += 1

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.fresh / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{left / 60:.1f} min left" if left != float("inf") else "time left unknown"
        return (
            f"{self.done}/{self.total} programs  {rate:.2f}/s  {eta}  "
            f"{_verdict_text(self.verdicts)}  {farm_text(self.farm_status)}"
        ).rstrip()


class LiveProgress:
    def __init__(self, tracker: Tracker, stream: TextIO = sys.stderr) -> None:
        # optional dependency, imported only for a terminal
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.tracker = tracker
        total, already = tracker.total, tracker.done
        self.display = Progress(
            TextColumn("[bold]programs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rate]}/s {task.fields[verdicts]} {task.fields[farm]}"),
            console=Console(file=stream),
            transient=False,
        )
        self.task: Any = self.display.add_task(
            "run",
            total=total,
            completed=already,
            rate="0.00",
            verdicts=_verdict_text(tracker.verdicts),
            farm="",
        )

    def __enter__(self) -> LiveProgress:
        self.display.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.display.stop()

    def __call__(self, outcome: pie.Outcome) -> None:
        self.tracker.add(outcome)
        self.display.update(
            self.task,
            completed=self.tracker.done,
            rate=f"{self.tracker.rate():.2f}",
            verdicts=_verdict_text(self.tracker.verdicts),
            farm=farm_text(self.tracker.farm_status),
        )


class PlainProgress:
    """One line every ``PLAIN_EVERY_SECONDS`` and at the end, for logs and pipes."""

    def __init__(self, tracker: Tracker, stream: TextIO = sys.stderr) -> None:
        self.tracker = tracker
        self.stream = stream
        self.last = 0.0
        self.printed: tuple[int, int] | None = None  # (done, fresh) when last printed

    def __enter__(self) -> PlainProgress:
        print(
            f"pie: {self.tracker.total} programs, {self.tracker.done} done before", file=self.stream
        )
        return self

    def __exit__(self, *_: object) -> None:
        self._print()  # the final state, unless the last line already showed it

    def _print(self) -> None:
        state = (self.tracker.done, self.tracker.fresh)
        if state != self.printed:
            print(f"pie: {self.tracker.line()}", file=self.stream, flush=True)
            self.printed = state

    def __call__(self, outcome: pie.Outcome) -> None:
        self.tracker.add(outcome)
        now = time.monotonic()
        if now - self.last >= PLAIN_EVERY_SECONDS:
            self.last = now
            self._print()


class QuietProgress:
    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def __call__(self, outcome: pie.Outcome) -> None:
        return None


def make_progress(
    total: int,
    already: Iterable[pie.Outcome],
    *,
    quiet: bool,
    farm_status: Path | None = None,
    stream: TextIO = sys.stderr,
) -> LiveProgress | PlainProgress | QuietProgress:
    if quiet:
        return QuietProgress()
    tracker = Tracker(total, already, farm_status)
    if stream.isatty() and find_spec("rich") is not None:
        return LiveProgress(tracker, stream)
    return PlainProgress(tracker, stream)
