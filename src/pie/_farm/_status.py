"""What ``pie farm status`` shows: per-host counts kept as jobs run, and the snapshot file.

Each batch rewrites ``<cache dir>/farm/status-<pid>.json`` atomically twice a second, and once
more when it ends; ``pie farm status`` reads every such file.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from pie._files import write_atomically
from pie._json import dumps
from pie._paths import FARM_STATUS_FOLDER, default_cache_dir

PERIOD_S = 0.5


class HostTally:
    """One host's counts: busy slots, jobs done and failed, host errors, and the slot time
    spent holding a job and waiting with nothing this host could run."""

    def __init__(self) -> None:
        self.busy = 0
        self.done = 0
        self.failed = 0
        self.host_errors = 0
        self.busy_seconds = 0.0  # slot time holding a job, from dispatch to its outcome
        self.first_up: float | None = None
        # slots waiting now, and the integral of waiting slots so far
        self._waiting_slots = 0
        self._waiting_since = time.monotonic()
        self._waited = 0.0

    def up(self) -> None:
        if self.first_up is None:
            self.first_up = time.monotonic()

    def waiting(self, change: int) -> None:
        self._waited = self.waiting_seconds()
        self._waiting_since = time.monotonic()
        self._waiting_slots += change

    def waiting_seconds(self) -> float:
        return self._waited + self._waiting_slots * (time.monotonic() - self._waiting_since)

    def row(self, host: str, state: str, reason: str, slots: int) -> dict[str, Any]:
        up_for = time.monotonic() - self.first_up if self.first_up is not None else 0.0
        finished = self.done + self.failed
        return {
            "host": host,
            "state": state,
            "reason": reason,
            "slots": slots,
            "busy": self.busy,
            "done": self.done,
            "failed": self.failed,
            "host_errors": self.host_errors,
            "busy_seconds": round(self.busy_seconds, 3),
            "waiting_seconds": round(self.waiting_seconds(), 3),
            "jobs_per_minute": round(60 * finished / up_for, 2) if up_for > 0 else 0.0,
        }


def snapshot(
    hosts: Sequence[dict[str, Any]],
    *,
    identity: str | None,
    queue: int,
    counts: dict[str, int],
    started: float,
    finished: bool,
) -> dict[str, Any]:
    """The whole batch: queue, slots (of the hosts not taken out), counts, and the hosts."""
    return {
        "pid": os.getpid(),
        "state": "finished" if finished else "running",
        "started": started,
        "updated": time.time(),
        "identity": identity,
        "queue": queue,
        "busy_slots": sum(host["busy"] for host in hosts),
        "slots": sum(host["slots"] for host in hosts if host["state"] != "out"),
        "done": counts.get("done", 0),
        "failed": counts.get("failed", 0),
        "requeued": counts.get("requeued", 0),
        "hosts": list(hosts),
    }


class StatusFile:
    """The batch's snapshot file (none when ``path`` is None)."""

    def __init__(self, path: Path | None, take: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._take = take

    def write(self) -> None:
        if self.path is None:
            return
        with contextlib.suppress(OSError):  # status is a courtesy: never fail the batch for it
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, dumps(self._take(), indent=1))

    async def keep_writing(self) -> None:
        while True:
            self.write()
            await anyio.sleep(PERIOD_S)


def farm_status(cache_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """The snapshot of each batch that used ``cache_dir`` (default: the default cache
    directory), oldest first, as the batches wrote them (``pie farm status``; docs/FARM.md)."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = sorted(
        (folder / FARM_STATUS_FOLDER).glob("status-*.json"), key=lambda p: p.stat().st_mtime
    )
    snapshots = []
    for file in files:
        try:
            snapshots.append(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # being replaced right now, or not ours
    return snapshots
