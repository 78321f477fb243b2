"""gem5 ``stats.txt``: the simulated time of one run, exactly, or a typed reason to refuse it.

PIE reads ``sim_ticks / sim_freq`` and lets later dumps overwrite earlier ones.  Here the time
is the same quotient, kept exact (``Fraction``), under both stat naming schemes (``sim_ticks``
up to gem5 v20.1, ``simTicks`` from v21.0).  A guest can run m5 pseudo-ops that dump or reset
the statistics and so report almost no time (``../shared/gem5/NOTES.md`` section 6), so a
file is refused unless it holds exactly one complete dump whose ``sim_ticks`` equals the
never-reset ``final_tick``, that stopped before MaxTick, and that shows a CPU which ran.

It also counts the packets that gem5's bad-address responder answered: the Skylake config backs
only some address ranges with memory, and gem5 answers accesses elsewhere without a warning, so
a program that needs more memory than the config backs runs on memory that is not there.
"""

from __future__ import annotations

import re
from fractions import Fraction

import attrs

from pie._errors import PieError

# gem5's MaxTick is 2**64 - 1; it is printed through a double, whose neighbours near 2**64 are
# 4096 apart, so anything this close to it is a run that hit the end of time.
MAX_TICK_FLOOR = 2**64 - 2**12
# sim_seconds is printed rounded to 6 decimals: a larger gap means the file is not one dump.
_SECONDS_TOLERANCE = Fraction(1, 10**6)
_MAX_TOKEN = 40

_BEGIN = re.compile(r"-+ Begin Simulation Statistics -+")
_END = re.compile(r"-+ End Simulation Statistics\s*-+")
_NAME = re.compile(r"[A-Za-z_][^\s#]*")
_VALUE = re.compile(r"-?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf)%?")
# system.membus.pkt_count_<requestor>::system.membus.badaddr_responder.pio (per-pair counts;
# the ::total rows are sums of these)
_BAD_ADDRESS = re.compile(r"[\w.]*\.pkt_count_[\w.]+::[\w.]*badaddr_responder\.pio")


class StatsError(PieError):
    """A gem5 stats file that cannot give a trustworthy time; the message says why."""


class EmptyStats(StatsError):
    """No statistics at all: gem5 ended before dumping them."""


class TruncatedStats(StatsError):
    """A dump that never ends: gem5 was killed while writing, or the disk filled up."""


class MalformedStats(StatsError):
    """Text that is not gem5's statistics format."""


class MultipleDumps(StatsError):
    """More than one dump: the guest dumped or reset statistics (m5 pseudo-ops)."""


class StatsReset(StatsError):
    """One dump, but its ``sim_ticks`` is not the whole run: statistics were reset."""


class MaxTickReached(StatsError):
    """The simulation ran to the end of time instead of to the program's exit."""


class NoCpu(StatsError):
    """No CPU executed anything (no instructions or no cycles)."""


class MissingStat(StatsError):
    """A statistic the time is computed from is absent."""


@attrs.frozen
class Naming:
    """The root statistic names of one gem5 generation."""

    ticks: str
    freq: str
    final_tick: str
    instructions: str
    seconds: str
    host_seconds: str


OLD_NAMES = Naming(
    "sim_ticks", "sim_freq", "final_tick", "sim_insts", "sim_seconds", "host_seconds"
)
NEW_NAMES = Naming("simTicks", "simFreq", "finalTick", "simInsts", "simSeconds", "hostSeconds")


@attrs.frozen
class Gem5Stats:
    """The figures of one trusted dump.  ``seconds`` = ticks / freq, exactly, as PIE's
    ``sim_seconds_precise``."""

    ticks: int
    freq: int
    final_tick: int
    instructions: int
    cycles: int
    host_seconds: float | None
    naming: str
    bad_address_packets: int = 0

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.ticks, self.freq)


def parse_stats(text: str) -> Gem5Stats:
    """The one dump of a gem5 stats file, checked; raises a ``StatsError`` subclass."""
    if not text.strip():
        raise EmptyStats("the stats file is empty: gem5 ended before dumping statistics")
    if text.rfind("Begin Simulation Statistics") > text.rfind("End Simulation Statistics"):
        raise _truncated()  # said first: the file's last line is then usually cut in two
    blocks = _blocks(text)
    if len(blocks) > 1:
        raise MultipleDumps(
            f"{len(blocks)} statistics dumps where a run makes one: the program dumped or reset "
            "gem5's statistics (m5 pseudo-instructions), so its time cannot be trusted"
        )
    return _checked(blocks[0])


def _blocks(text: str) -> list[dict[str, str]]:
    """The dumps, each as {stat name: first value}; raises on anything outside gem5's format."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if _BEGIN.fullmatch(line):
            if current is not None:
                raise TruncatedStats(f"line {number}: a dump starts before the previous one ended")
            current = {}
        elif _END.fullmatch(line):
            if current is None:
                raise MalformedStats(f"line {number}: a dump ends that never began")
            blocks.append(current)
            current = None
        elif not line:
            continue
        elif current is None:
            raise MalformedStats(f"line {number}: text outside a statistics dump: {line[:60]!r}")
        else:
            name, value = _stat(line, number)
            if name in current and name in _WATCHED:
                raise MalformedStats(f"line {number}: {name} appears twice in one dump")
            current.setdefault(name, value)
    if current is not None:
        raise _truncated()
    if not blocks:
        raise MalformedStats("no 'Begin Simulation Statistics' marker: not a gem5 stats file")
    return blocks


def _truncated() -> TruncatedStats:
    return TruncatedStats(
        "the last statistics dump has no end marker: gem5 stopped while writing it "
        "(killed, crashed or out of disk)"
    )


_WATCHED = {name for naming in (OLD_NAMES, NEW_NAMES) for name in attrs.astuple(naming)}


def _stat(line: str, number: int) -> tuple[str, str]:
    fields = line.split("#", 1)[0].split()
    if len(fields) < 2 or not _NAME.fullmatch(fields[0]):
        raise MalformedStats(f"line {number}: not a 'name value' statistic: {line[:60]!r}")
    bad = next((v for v in fields[1:] if not _VALUE.fullmatch(v)), None)
    if bad is not None:
        raise MalformedStats(f"line {number}: {fields[0]} has a non-numeric value {bad[:30]!r}")
    return fields[0], fields[1]


def _checked(block: dict[str, str]) -> Gem5Stats:
    if OLD_NAMES.ticks in block:
        naming = OLD_NAMES
    elif NEW_NAMES.ticks in block:
        naming = NEW_NAMES
    else:
        raise MissingStat("neither sim_ticks (gem5 <= v20.1) nor simTicks (v21+) is in the dump")
    ticks = _count(block, naming.ticks)
    final_tick = _count(block, naming.final_tick)
    if max(ticks, final_tick) >= MAX_TICK_FLOOR:
        raise MaxTickReached(
            f"{naming.final_tick} {final_tick}: the simulation ran to MaxTick instead of ending "
            "with the program"
        )
    freq = _count(block, naming.freq)
    if freq == 0:
        raise MalformedStats(f"{naming.freq} is 0")
    if final_tick != ticks:
        raise StatsReset(
            f"{naming.ticks} {ticks} differs from {naming.final_tick} {final_tick}: statistics "
            "were reset during the run, so they cover only part of it"
        )
    seconds = block.get(naming.seconds)
    if seconds is not None and abs(_exact(seconds, naming.seconds) - Fraction(ticks, freq)) > (
        _SECONDS_TOLERANCE
    ):
        raise MalformedStats(f"{naming.seconds} {seconds} disagrees with ticks / freq")
    instructions = _count(block, naming.instructions) if naming.instructions in block else 0
    cycles = sum(_count(block, name) for name in block if name.endswith(".numCycles"))
    if instructions == 0 or cycles == 0:
        raise NoCpu(
            "no CPU ran: the dump has no instructions or no CPU cycles (a system without a "
            "CPU, or a broken config)"
        )
    host = block.get(naming.host_seconds)
    bad = sum(_count(block, name) for name in block if _BAD_ADDRESS.fullmatch(name))
    return Gem5Stats(
        ticks=ticks,
        freq=freq,
        final_tick=final_tick,
        instructions=instructions,
        cycles=cycles,
        host_seconds=float(_exact(host, naming.host_seconds)) if host is not None else None,
        naming=naming.ticks,
        bad_address_packets=bad,
    )


def _exact(token: str, name: str) -> Fraction:
    if token.endswith("%") or "n" in token:  # nan, inf, percentages: not a plain count
        raise MalformedStats(f"{name} is {token!r}, not a number")
    exponent = token.lower().partition("e")[2]
    # gem5 prints counts in full; a long token or exponent is forged, and would be slow to read
    if len(token) > _MAX_TOKEN or len(exponent.lstrip("+-")) > 2:
        raise MalformedStats(f"{name} is {token[:30]!r}..., not a count gem5 prints")
    return Fraction(token)


def _count(block: dict[str, str], name: str) -> int:
    token = block.get(name)
    if token is None:
        raise MissingStat(f"{name} is missing from the dump")
    value = _exact(token, name)
    if value.denominator != 1 or value < 0:
        raise MalformedStats(f"{name} is {token!r}, not a whole non-negative count")
    return int(value)
