"""Reading callgrind's output: whole-run event totals and the inclusive cost of ``main``.

Format facts (valgrind's callgrind format, version 1): an ``events:`` header names the cost
columns and ``positions:`` how many position columns start a cost line; ``fn=`` starts a
function's block; a ``calls=`` line announces that the next cost line is the inclusive cost of
a call made from the current function; names may be compressed, ``(id) name`` on first use and
``(id)`` afterwards; ``summary:`` (or ``totals:``) gives the whole run.
"""

from __future__ import annotations

import re

import attrs

from pie._errors import PieError

_COMPRESSED = re.compile(r"\((\d+)\)(?:\s+(.*))?")
_NAME_FIELDS = frozenset({"fn", "cfn", "cfni"})


class CallgrindFormatError(PieError):
    """The profile file is not in the format this parser knows."""


@attrs.frozen
class Profile:
    totals: dict[str, int]
    main_inclusive: dict[str, int] | None

    def total(self, event: str) -> int:
        return self.totals.get(event, 0)


def _name(value: str, table: dict[str, str]) -> str:
    match = _COMPRESSED.fullmatch(value.strip())
    if not match:
        return value.strip()
    ident, name = match.groups()
    if name is not None:
        table[ident] = name
        return name
    return table.get(ident, f"({ident})")


def _numbers(fields: list[str], events: tuple[str, ...]) -> dict[str, int]:
    values = [int(v) for v in fields]
    return {event: values[i] if i < len(values) else 0 for i, event in enumerate(events)}


@attrs.define
class _State:
    function: str
    events: tuple[str, ...] = ()
    positions: int = 1
    totals: dict[str, int] | None = None
    names: dict[str, str] = attrs.field(factory=dict)
    current: str = ""
    inclusive: dict[str, int] | None = None

    def header(self, head: str, rest: str) -> None:
        if head == "events":
            self.events = tuple(rest.split())
        elif head == "positions":
            self.positions = len(rest.split())
        elif self.totals is None or head == "summary":
            self.totals = _numbers(rest.split(), self.events)

    def costs(self, line: str) -> None:
        if self.current != self.function or self.inclusive is None:
            return
        for event, amount in _numbers(line.split()[self.positions :], self.events).items():
            self.inclusive[event] += amount

    def name(self, field: str, value: str) -> None:
        name = _name(value, self.names)
        if field == "fn":
            self.current = name
            if name == self.function and self.inclusive is None:
                self.inclusive = dict.fromkeys(self.events, 0)


def parse(text: str, function: str = "main") -> Profile:
    """Totals, and ``function``'s inclusive cost: its own lines plus every call it made."""
    state = _State(function)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, colon, rest = line.partition(":")
        field, equals, value = line.partition("=")
        try:
            if colon and head in ("events", "positions", "summary", "totals"):
                state.header(head, rest)
            elif line[0].isdigit() or line[0] in "+-*":
                state.costs(line)
            elif equals and field in _NAME_FIELDS:
                state.name(field, value)
        except ValueError:
            raise CallgrindFormatError(
                f"callgrind output line {number} has a count that is not an integer: {raw!r}"
            ) from None
    if not state.events or state.totals is None:
        raise CallgrindFormatError("callgrind output has no 'events:' or 'summary:' line")
    return Profile(state.totals, state.inclusive)
