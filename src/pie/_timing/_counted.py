"""What a counting backend (``qemu``) decides once every test ran."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from pie._model import Limits, TestCase


class Counted(Protocol):
    @property
    def instructions(self) -> int: ...

    @property
    def instructions_in_main(self) -> int: ...


class Scaling(Protocol):
    """The part of a counting backend's config that widens the tests' limits for the emulator."""

    @property
    def time_factor(self) -> float: ...

    @property
    def memory_extra_mib(self) -> int: ...


def scaled_limits(limits: Limits, scaling: Scaling) -> Limits:
    """The limits of a counted run: the emulator is slower and bigger than the program alone."""
    return attrs.evolve(
        limits,
        time_limit=limits.time_limit * scaling.time_factor,
        memory_limit=limits.memory_limit + scaling.memory_extra_mib,
    )


def startup_share(counts: Sequence[Counted]) -> tuple[float, tuple[float, ...]]:
    """The share of instructions not counted as the program's own work: over all tests, and
    per test."""

    def share(in_main: int, instructions: int) -> float:
        return 1.0 - in_main / instructions if instructions else 0.0

    overall = share(
        sum(c.instructions_in_main for c in counts), sum(c.instructions for c in counts)
    )
    return overall, tuple(share(c.instructions_in_main, c.instructions) for c in counts)


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
