"""The run journal: one line per finished program, so a killed run resumes where it stopped.

Lines are appended and flushed to disk as each program finishes; a line cut short by SIGKILL
is dropped on the next start.  The first line records the settings that decide a program's
result; resuming with different settings is refused, since the outputs would mix two runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs

from pie._errors import InputError
from pie._json import dumps
from pie._public import public

FOLDER = ".pie"
NAME = "journal.jsonl"


@public
@attrs.frozen
class Outcome:
    """What a benchmark needs of one program's evaluation."""

    verdict: str
    accuracy: float
    compiled: bool
    runtime: float | None  # None: not timed (incorrect, failed, or no timing backend)
    per_test: dict[str, float]
    unit: str | None
    error: str | None
    test_verdicts: dict[str, int]
    startup_share: float | None  # of instructions outside main, where the backend measures it

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(**{field.name: data[field.name] for field in attrs.fields(cls)})


class Journal:
    def __init__(self, output_dir: Path, settings: dict[str, Any]) -> None:
        self.path = output_dir / FOLDER / NAME
        self.settings = settings
        self.done: dict[str, Outcome] = {}
        self._handle: Any = None

    def open(self) -> dict[str, Outcome]:
        """Load what an earlier run finished and get ready to append; returns it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._load()
        else:
            self._start()
        self._handle = self.path.open("a", encoding="utf-8")
        return self.done

    def read(self) -> dict[str, Outcome]:
        """What the journal holds, without opening it for writing."""
        if self.path.exists():
            self._load(repair=False)
        return self.done

    def _start(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(dumps({"settings": self.settings}) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def _load(self, *, repair: bool = True) -> None:
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if repair and len(complete) != len(data):
            with self.path.open("r+b") as handle:  # drop a line cut short by a kill
                handle.truncate(len(complete))
        lines = complete.decode("utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        if header.get("settings") != self.settings:
            raise InputError(
                f"{self.path.parent.parent} holds a run made with other settings "
                f"({_difference(header.get('settings') or {}, self.settings)}); "
                "use another output_dir, or delete that folder to start over"
            )
        for line in lines[1:]:
            record = json.loads(line)
            self.done[record["key"]] = Outcome.from_json(record["outcome"])

    def record(self, key: str, outcome: Outcome) -> None:
        self.done[key] = outcome
        self._handle.write(dumps({"key": key, "outcome": outcome.to_json()}) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    return "; ".join(changed) or "unreadable journal header"
