"""What the two counting backends (``cachegrind``, ``qemu``) decide alike once every test ran."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pie._model import TestCase


class Counted(Protocol):
    @property
    def instructions(self) -> int: ...


def first_failure(
    tests: Sequence[TestCase], rows: Sequence[Counted | str], budget: int | None
) -> str | None:
    """Why the program gets no timing, or None: a test over the instruction budget comes first
    (it says the program is too slow, whatever else failed), then the first test that could
    not be counted (its row is the reason)."""
    for case, row in zip(tests, rows, strict=True):
        if not isinstance(row, str) and budget is not None and row.instructions > budget:
            ran = f"{row.instructions:,} instructions (> {budget:,})"
            return f"over budget: test {case.index} ran {ran}"
    return next((row for row in rows if isinstance(row, str)), None)
