"""gem5 stats parsing: real files of several gem5 versions, round trips, forged and broken files."""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pie._farm._outcome import ExitReport, exit_report
from pie._farm._stats import (
    NEW_NAMES,
    OLD_NAMES,
    Gem5Stats,
    MalformedStats,
    MaxTickReached,
    MultipleDumps,
    Naming,
    NoCpu,
    StatsError,
    StatsReset,
    TruncatedStats,
    parse_stats,
)
from tests.conftest import REPO
from tests.farm import gem5_standin

GEM5_SHARED = Path(os.environ.get("PIE_GEM5_SHARED", REPO.parent / "shared" / "gem5"))
STATS_DIR = GEM5_SHARED / "stats"

# (sim_ticks, instructions) from ../shared/gem5/stats/SOURCES.md, or the error a file must raise
REAL_FILES: dict[str, tuple[int, int, str] | type[StatsError]] = {
    "gem5-v19-x86-se-o3-mcf.txt": (65721494500, 157988547, "sim_ticks"),
    "gem5-2020dev-x86-se-timing-hello.txt": (56435000, 5821, "sim_ticks"),
    "gem5-v22.0-x86-se-o3-intmm.txt": (417884697, 1753641, "simTicks"),
    "gem5-v24.0-x86-se-o3-mlisp.txt": (4528978000, 12233308, "simTicks"),
    "gem5-2020-maxtick-empty-system.txt": MaxTickReached,
    "gem5-v24.0-x86-se-o3-simpoint-2dumps.txt": MultipleDumps,
}


def real_file(name: str) -> str:
    path = STATS_DIR / name
    if not path.is_file():
        pytest.skip(f"real gem5 stats not present at {STATS_DIR} (set PIE_GEM5_SHARED)")
    return path.read_text()


def test_every_real_file_is_covered() -> None:
    if not STATS_DIR.is_dir():
        pytest.skip(f"real gem5 stats not present at {STATS_DIR} (set PIE_GEM5_SHARED)")
    assert {p.name for p in STATS_DIR.glob("*.txt")} == set(REAL_FILES)


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_gem5_files(name: str) -> None:
    text = real_file(name)
    expected = REAL_FILES[name]
    if isinstance(expected, type):
        with pytest.raises(expected):
            parse_stats(text)
        return
    ticks, instructions, naming = expected
    stats = parse_stats(text)
    assert (stats.ticks, stats.freq, stats.final_tick) == (ticks, 10**12, ticks)
    assert stats.instructions == instructions and stats.cycles > 0
    assert stats.naming == naming
    assert stats.seconds == Fraction(ticks, 10**12)  # exact, like PIE's sim_ticks / sim_freq


def test_the_two_dump_file_would_be_gamed_by_either_dump() -> None:
    """Its first dump says 7.3e-8 s, its last (PIE's overwrite) 3.2e-4 s: neither is the run."""
    text = real_file("gem5-v24.0-x86-se-o3-simpoint-2dumps.txt")
    with pytest.raises(MultipleDumps, match="2 statistics dumps"):
        parse_stats(text)
    end = "---------- End Simulation Statistics   ----------\n"
    first, second = text.split(end)[:2]
    assert parse_stats(first + end).ticks == 72927  # a dump on its own parses...
    with pytest.raises(StatsReset):  # ...but the last one was reset: it is not the whole run
        parse_stats(second + end)


@pytest.mark.parametrize("name", ["gem5-v19-x86-se-o3-mcf.txt", "gem5-v24.0-x86-se-o3-mlisp.txt"])
@settings(max_examples=30, deadline=None)
@given(cut=st.floats(0.0, 0.999))
def test_a_real_file_cut_anywhere_is_refused(name: str, cut: float) -> None:
    text = real_file(name)
    end = text.rindex("---------- End")
    with pytest.raises(StatsError):
        parse_stats(text[: int(end * cut)])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_real_files_fail_only_with_typed_errors(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(REAL_FILES)))
    lines = real_file(name).splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "repeat", "replace", "garble"]))
        if action == "drop":
            del lines[at]
        elif action == "repeat":
            lines.insert(at, lines[at])
        elif action == "replace":
            lines[at] = data.draw(st.text(max_size=80)) + "\n"
        else:
            chars = list(lines[at])
            chars[data.draw(st.integers(0, len(chars) - 1))] = data.draw(st.characters())
            lines[at] = "".join(chars)
    with contextlib.suppress(StatsError):
        parse_stats("".join(lines))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_arbitrary_text_fails_only_with_typed_errors(text: str) -> None:
    with contextlib.suppress(StatsError):
        parse_stats(text)


# ---- round trips through gem5's own layout ------------------------------------------------

ticks_st = st.integers(1, 2**63)
names_st = st.from_regex(r"system\.[a-z][a-zA-Z0-9_.]{0,30}(::[a-z0-9]{1,8})?", fullmatch=True)


def render(stats: Gem5Stats, naming: Naming, extra: dict[str, str], cpu: str) -> str:
    """A dump as gem5 prints it: ``%-40s %12s %10s %10s # description``."""
    values = {
        naming.final_tick: str(stats.final_tick),
        naming.freq: str(stats.freq),
        naming.ticks: str(stats.ticks),
        naming.instructions: str(stats.instructions),
        naming.seconds: f"{stats.ticks / stats.freq:.6f}",
        naming.host_seconds: f"{stats.host_seconds:.2f}",
        f"{cpu}.numCycles": str(stats.cycles),
        **{name: value for name, value in extra.items() if name not in _ALL_NAMES},
    }
    rows = [f"{name:<40} {value:>12} {'':>10} {'':>10} # made up" for name, value in values.items()]
    return (
        "\n---------- Begin Simulation Statistics ----------\n"
        + "\n".join(rows)
        + "\n\n---------- End Simulation Statistics   ----------\n"
    )


_ALL_NAMES = {name for naming in (OLD_NAMES, NEW_NAMES) for name in (naming.ticks, naming.freq)}


@st.composite
def dumps(draw: st.DrawFn) -> tuple[Gem5Stats, Naming, dict[str, str], str]:
    naming = draw(st.sampled_from([OLD_NAMES, NEW_NAMES]))
    ticks = draw(ticks_st)
    stats = Gem5Stats(
        ticks=ticks,
        freq=draw(st.sampled_from([10**12, 10**9, 3 * 10**12])),
        final_tick=ticks,
        instructions=draw(st.integers(1, 10**12)),
        cycles=draw(st.integers(1, 10**12)),
        host_seconds=draw(st.sampled_from([0.0, 0.05, 1891.7])),
        naming=naming.ticks,
    )
    extra = draw(
        st.dictionaries(
            names_st,
            st.sampled_from(["0", "nan", "inf", "12.5%", "-3", "1.000000"]),
            max_size=6,
        )
    )
    cpu = draw(st.sampled_from(["system.cpu", "board.processor.cores.core"]))
    return stats, naming, extra, cpu


@settings(max_examples=150, deadline=None)
@given(case=dumps())
def test_round_trip(case: tuple[Gem5Stats, Naming, dict[str, str], str]) -> None:
    stats, naming, extra, cpu = case
    extra = {k: v for k, v in extra.items() if not k.endswith(".numCycles")}
    assert parse_stats(render(stats, naming, extra, cpu)) == stats


@settings(max_examples=60, deadline=None)
@given(case=dumps(), skew=st.integers(1, 10**9))
def test_a_reset_before_the_only_dump_is_refused(
    case: tuple[Gem5Stats, Naming, dict[str, str], str], skew: int
) -> None:
    stats, naming, _, cpu = case
    reset = Gem5Stats(
        stats.ticks, stats.freq, stats.ticks + skew, stats.instructions, stats.cycles,
        stats.host_seconds, stats.naming,
    )  # fmt: skip
    with pytest.raises(StatsReset, match="reset"):
        parse_stats(render(reset, naming, {}, cpu))


@settings(max_examples=40, deadline=None)
@given(case=dumps(), count=st.integers(2, 4))
def test_several_dumps_are_refused(
    case: tuple[Gem5Stats, Naming, dict[str, str], str], count: int
) -> None:
    stats, naming, _, cpu = case
    with pytest.raises(MultipleDumps):
        parse_stats(render(stats, naming, {}, cpu) * count)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"sim_insts": "0"}, NoCpu),
        ({"system.cpu.numCycles": "0"}, NoCpu),
        ({"sim_ticks": "nan"}, MalformedStats),
        ({"sim_ticks": "12.5"}, MalformedStats),
        ({"sim_ticks": "1e99999999"}, MalformedStats),
        ({"sim_ticks": "9" * 5000}, MalformedStats),
        ({"sim_seconds": "5.000000"}, MalformedStats),
        ({"sim_freq": "0"}, MalformedStats),
        ({"sim_ticks": str(2**64), "final_tick": str(2**64)}, MaxTickReached),
        ({"sim_ticks": str(2**64 - 1), "final_tick": str(2**64 - 1)}, MaxTickReached),
    ],
)
def test_forged_or_degenerate_values_are_refused(
    change: dict[str, str], error: type[StatsError]
) -> None:
    text = gem5_standin.dump(1_000_000 * 286, 1_000_000 * 286, 1_000_000, with_cpu=True)
    for name, value in change.items():
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
        lines[at] = f"{name:<40} {value:>12} {'':>10} {'':>10} # forged"
        text = "\n".join(lines) + "\n"
    with pytest.raises(error):
        parse_stats(text)


def test_truncated_empty_and_foreign_files() -> None:
    good = gem5_standin.dump(286_000, 286_000, 1000, with_cpu=True)
    with pytest.raises(TruncatedStats):
        parse_stats(good[: good.index("---------- End")])
    with pytest.raises(StatsError, match="empty"):
        parse_stats("\n  \n")
    with pytest.raises(MalformedStats):
        parse_stats("sim_ticks 5\nsim_freq 1000\n")
    with pytest.raises(MalformedStats):
        parse_stats(good.replace("sim_insts ", "sim insts "))


def test_the_stand_in_writes_what_real_gem5_v20_prints() -> None:
    """Same column layout as the real 2020 file, and the parser reads it as gem5 v20.1."""
    text = gem5_standin.dump(3_510_913 * 286, 3_510_913 * 286, 3_510_913, with_cpu=True)
    stats = parse_stats(text)
    assert float(stats.seconds) == 0.001004121118  # PIE's hello world, 3,510,913 cycles
    assert stats.naming == "sim_ticks"
    ours = next(line for line in text.splitlines() if line.startswith("final_tick"))
    real_text = real_file("gem5-2020dev-x86-se-timing-hello.txt")
    real = next(line for line in real_text.splitlines() if line.startswith("final_tick"))
    assert ours.index("#") == real.index("#") == 76


def test_packets_to_the_bad_address_responder_are_counted() -> None:
    """``pkt_count_<requestor>::...badaddr_responder.pio`` rows, summed; ``::total`` rows (sums
    of them) are not counted again, and the real files show none."""
    text = gem5_standin.dump(5_000_000, 5_000_000, 17_000, with_cpu=True, bad=42)
    extra = (
        "system.membus.pkt_count_system.cpu.mmucache.mem_side::system.membus.badaddr_responder.pio"
        "            8                       # Packet count per connected master and slave\n"
        "system.membus.pkt_count_system.l3cache.mem_side::total   99   # Packet count\n"
        "system.membus.pkt_count::total   141   # Packet count\n"
    )
    text = text.replace("\n\n---------- End", f"\n{extra}\n---------- End")
    assert parse_stats(text).bad_address_packets == 50
    assert (
        parse_stats(gem5_standin.dump(5_000_000, 5_000_000, 17_000, True)).bad_address_packets == 0
    )
    for name, expected in REAL_FILES.items():
        if isinstance(expected, tuple) and (STATS_DIR / name).exists():
            assert parse_stats(real_file(name)).bad_address_packets == 0, name


AUTHENTIC = b"Exiting @ tick 1004121118 because exiting with last active thread context\n"


def test_the_exit_report_is_one_whole_line() -> None:
    report = exit_report(AUTHENTIC)
    assert report == ExitReport(1004121118, "exiting with last active thread context")
    for cut in range(len(AUTHENTIC)):  # a line cut short never passes for a smaller tick
        assert exit_report(AUTHENTIC[:cut]) is None, AUTHENTIC[:cut]
    assert exit_report(b"x" + AUTHENTIC) is None
    assert exit_report(AUTHENTIC + AUTHENTIC) is None  # the job sends only the last line


@given(st.binary(max_size=300))
def test_any_report_bytes_give_a_report_or_none(data: bytes) -> None:
    report = exit_report(data)
    if report is not None:
        line = f"Exiting @ tick {report.tick} because {report.cause}\n"
        assert data.decode("utf-8", errors="replace") == line
