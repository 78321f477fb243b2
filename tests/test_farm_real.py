"""The farm's stats parser and run classifier on what the REAL gem5 v20.1.0.5 printed.

``tests/farm/real/`` holds the raw files of PIE's hello world and of programs that provoke gem5
v20.1's limits, recorded from the build of ``docker/gem5-host/build-local.sh`` under the farm's
command line (``tests/farm/real/PROVENANCE``).  Each becomes a ``RemoteRun`` as the job script
returns it (the exit status, the stats file, the tails of gem5's stdout and stderr, the exit
report's last line, the guest's output), and pie must say of each what it is.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pie._check import CheckMode, check_output
from pie._farm._config import FarmConfig
from pie._farm._hosts import _LOG_TAIL, _NO_BACKTRACE, RemoteRun
from pie._farm._outcome import Failed, Kind, Simulated, outcome_of
from pie._farm._output import ExpectedOutput
from pie._farm._stats import StatsError, parse_stats
from pie._farm._unsimulable import unsimulable
from tests.farm import gem5_standin

REAL = Path(__file__).parent / "farm" / "real"
PROGRAMS = sorted(path.stem for path in REAL.glob("*.cpp"))
_PIE = "gem5 v20.1, which PIE timed with, cannot either"

# what pie must say of each recorded run: a time, or the kind and the start of its reason
EXPECTED: dict[str, tuple[Kind, str] | int] = {
    "hello": 993_185_050,
    "newfstatat": (
        Kind.UNSIMULABLE,
        "unimplemented syscall newfstatat (#262): gem5's syscall emulation has no "
        f"implementation of it ({_PIE})",
    ),
    "getrandom": (
        Kind.UNSIMULABLE,
        f"unknown syscall getrandom (#318): it is past the end of gem5's syscall table ({_PIE}",
    ),
    "avx": (Kind.OUTPUT, "accuracy 0.000 under gem5, 1.000 in its test run"),
    "avx2": (
        Kind.UNSIMULABLE,
        "a VEX-encoded (AVX2, FMA or AVX) instruction gem5 does not decode (three byte 0f3a "
        f"opcode 0x39) ({_PIE})",
    ),
    "memory": (
        Kind.UNSIMULABLE,
        "the program used memory the Skylake config does not have (102900 packets answered by "
        "gem5's bad-address responder",
    ),
    "stack": (
        Kind.UNSIMULABLE,
        "the stack outgrew gem5's 8 MiB limit: a write at 0x7fffff7fe2c0, below the lowest "
        f"stack address 0x7fffff7ff000 ({_PIE}",
    ),
    "exit3": (Kind.GEM5, "the program did not exit normally with code 0 under gem5 (exit code 3)"),
}
CONFIG = FarmConfig(hosts=())  # the classifier reads only the budget and the safety net


def recorded(name: str, suffix: str) -> bytes:
    return (REAL / f"{name}.{suffix}").read_bytes()


def recorded_run(name: str) -> RemoteRun:
    """The recorded run as the farm's job script sends it back: the stats file when gem5 left
    one, the last line of the exit report, the last _LOG_TAIL bytes of stdout and of stderr
    (without gem5's libc backtrace, by the job's own sed program)."""
    stats = REAL / f"{name}.stats.txt"
    report = recorded(name, "report").splitlines(keepends=True)
    out, err = recorded(name, "out")[-_LOG_TAIL:], without_backtrace(recorded(name, "err"))
    output = recorded(name, "guest.out")
    return RemoteRun(
        status=int(recorded(name, "status")),
        stats=stats.read_bytes() if stats.exists() else None,
        log=(out + b"\n" + err).decode("utf-8", errors="replace"),
        seconds=5.0,
        report=report[-1] if report else b"",
        output_bytes=len(output),
        output=output,
    )


def without_backtrace(err: bytes) -> bytes:
    sed = subprocess.run(["sed", _NO_BACKTRACE], input=err, capture_output=True, check=True)
    return sed.stdout[-_LOG_TAIL:]


def judged(name: str) -> Simulated | Failed:
    run = recorded_run(name)
    expected = ExpectedOutput(REAL / f"{name}.native", "digest", CheckMode.PIE, 1.0, 1 << 20)
    accuracy = check_output(
        io.BytesIO(run.output), len(run.output), expected=expected.path, mode=expected.mode
    )
    return outcome_of(run, CONFIG, expected, accuracy)


def test_every_recorded_program_is_judged() -> None:
    assert set(PROGRAMS) == set(EXPECTED)
    assert all((REAL / f"{name}.{part}").exists() for name in PROGRAMS for part in
               ("out", "err", "status", "report", "guest.out", "native"))  # fmt: skip
    assert (
        "8dcf9c75091fcdcbf1aa497534a094f5c31b1db5eadcc2dad94438c35c153c0b"
        in (REAL / "PROVENANCE").read_text()
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pie_says_what_each_real_run_is(name: str) -> None:
    outcome = judged(name)
    expected = EXPECTED[name]
    if isinstance(expected, int):
        assert isinstance(outcome, Simulated), outcome
        assert outcome.ticks == expected and outcome.accuracy == 1.0
        return
    kind, reason = expected
    assert isinstance(outcome, Failed), outcome
    assert (outcome.kind, outcome.reason[: len(reason)]) == (kind, reason), outcome.reason


def test_the_job_keeps_the_real_panic_and_drops_its_backtrace() -> None:
    """gem5's panics end with a libc backtrace (about 2.3 KB here, more from a deeper build):
    the job's stderr tail leaves it out, so the panic and the tick it aborted at stay."""
    for name in ("avx2", "stack"):
        err = recorded(name, "err")
        assert err.count(b"panic: ") == 1 and err.count(b"--- BEGIN LIBC BACKTRACE ---") == 1
        kept = without_backtrace(err)
        assert b"panic: " in kept and b"Program aborted at tick " in kept, name
        assert b"BACKTRACE" not in kept and b"libpython" not in kept
        assert kept.endswith(b"Aborted\n")


# ---- the real stats files ---------------------------------------------------------------

STATS = {  # ticks, instructions, cycles, host seconds, bad-address packets
    "hello": (993_185_050, 2_125_578, 3_472_676, 39.65, 0),
    "avx": (184_926_456, 164_772, 646_597, 4.11, 0),
    "exit3": (108_498_104, 86_270, 379_365, 1.28, 0),
    "memory": (20_000_000_000, 724_790, 22_925_718, 138.42, 102_900),
}


@pytest.mark.parametrize("name", sorted(STATS))
def test_the_real_stats_files_parse_exactly(name: str) -> None:
    stats = parse_stats(recorded(name, "stats.txt").decode())
    ticks, instructions, cycles, host, bad = STATS[name]
    assert (stats.ticks, stats.final_tick, stats.freq) == (ticks, ticks, 10**12)
    assert (stats.instructions, stats.cycles, stats.host_seconds) == (instructions, cycles, host)
    assert stats.bad_address_packets == bad and stats.naming == "sim_ticks"
    assert stats.seconds == Fraction(ticks, 10**12)


@settings(max_examples=20, deadline=None)  # each parses a 220 KB file
@given(data=st.data())
def test_a_real_stats_file_with_any_line_dropped_gives_its_time_or_an_error(
    data: st.DataObject,
) -> None:
    """Never another time: a line lost from the real file leaves the same figures, or a typed
    refusal (a watched statistic missing), never a different number of ticks."""
    name = data.draw(st.sampled_from(sorted(STATS)))
    lines = recorded(name, "stats.txt").decode().splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        del lines[data.draw(st.integers(0, len(lines) - 1))]
    with contextlib.suppress(StatsError):
        stats = parse_stats("".join(lines))
        assert stats.ticks == STATS[name][0]


@settings(max_examples=20, deadline=None)
@given(cut=st.floats(0.0, 0.9999))
def test_the_real_stats_file_cut_anywhere_is_refused(cut: float) -> None:
    text = recorded("hello", "stats.txt").decode()
    end = text.rindex("---------- End")
    with pytest.raises(StatsError):
        parse_stats(text[: int(end * cut)])


def test_the_stand_in_writes_rows_as_the_real_gem5_names_and_describes_them() -> None:
    """Each row of the stand-in's dump is a row of the real file: same name, description and
    column; the parser reads both alike."""
    real = {}
    for line in recorded("memory", "stats.txt").decode().splitlines():
        if "#" in line:
            fields, description = line.split("#", 1)
            real[fields.split()[0]] = (description.strip(), line.index("#"))
    ours = gem5_standin.dump(3_472_676 * 286, 3_472_676 * 286, 3_472_676, True, bad=5)
    for line in ours.splitlines():
        if "#" in line:
            fields, description = line.split("#", 1)
            name = fields.split()[0]
            assert name in real, name
            assert (description.strip(), line.index("#")) == real[name], name
    assert parse_stats(ours).bad_address_packets == 5


# ---- gem5's words, and what the guest can print ------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=600))
def test_any_log_gives_a_reason_or_none(text: str) -> None:
    said = unsimulable(text)
    assert said is None or said.strip()


@given(number=st.integers(314, 2**31 - 1))
def test_a_syscall_past_gem5s_table_is_named_when_linux_names_it(number: int) -> None:
    said = unsimulable(f"fatal: Syscall {number} out of range\nMemory Usage: 0 KBytes\n")
    assert said is not None and f"#{number}" in said and "past the end" in said
    names = {318: "getrandom", 332: "statx", 334: "rseq", 435: "clone3"}
    if number in names:
        assert said.startswith(f"unknown syscall {names[number]} (#{number})")


def test_an_unmapped_address_outside_the_stack_zone_is_no_stack_overflow() -> None:
    said = unsimulable("panic: Tried to read unmapped address 0x10.\nPC: 0x401000, Instr: x\n")
    assert said == "gem5 could not map the address of a read at 0x10 (a page fault)"
    deep = unsimulable("panic: Tried to write unmapped address 0x7ffffdffed60.\nPC: 0x1060\n")
    assert deep is not None and deep.startswith("the stack outgrew gem5's 8 MiB limit")
