"""The hostile timing corpus (tests/hostile/timing): no program lowers its own number.

Each program is timed by the ``qemu`` backend directly, as if it had passed its tests (a hostile
program can behave well natively and differently under timing), and must get at least the count
of ``honest.cpp``, which does the same work plainly (its instructions, and its cycles but for
code layout), or a refusal naming the reason listed here.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from pie._cache import ResultCache
from pie._data import load_test_cases
from pie._model import Limits, Timing
from pie._timing._qemu import QemuBackend
from tests.conftest import make_tests
from tests.timing_support import qemu_backend

CORPUS = Path(__file__).parent / "hostile" / "timing"
# two tests, so that the fork server (one start-up, a child per test) is what is attacked
INPUTS = (2_000_000, 1_000_000)


@attrs.frozen
class Honest:
    """At least the honest count; with ``work``, at least the honest work outside start-up."""

    work: bool = False


@attrs.frozen
class Refused:
    reason: str


def expectations() -> dict[str, Honest | Refused]:
    """``expected.json``: per program, ``{"honest": true[, "work": true]}`` or
    ``{"refused": "<words of the reason>"}`` (the bench reads the same file)."""
    table = json.loads((CORPUS / "expected.json").read_text())
    return {
        name: Refused(entry["refused"]) if "refused" in entry else Honest(entry.get("work", False))
        for name, entry in table.items()
    }


EXPECTED = expectations()


def test_every_program_of_the_corpus_has_an_expectation() -> None:
    names = {p.stem for p in CORPUS.glob("*.cpp")} - {"honest"}
    assert names == set(EXPECTED)


def build(name: str, folder: Path) -> Path:
    binary = folder / name
    subprocess.run(
        ["g++", "-std=c++17", "-O3", "-pthread", "-o", str(binary), str(CORPUS / f"{name}.cpp")],
        check=True,
        timeout=120,
    )
    return binary


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def backend(cache_dir: Path, tmp_path: Path) -> AsyncIterator[QemuBackend]:
    # one slot: both tests go to one fork server, which is what is attacked
    async with qemu_backend(cache_dir, ResultCache(tmp_path / "timings.sqlite"), slots=1) as made:
        yield made


async def timed(backend: QemuBackend, name: str, folder: Path) -> Timing:
    pairs = [(f"{n}\n", f"{sum(i * i % 7 for i in range(n))}\n") for n in INPUTS]
    tests = make_tests(folder / f"tests-{name}", pairs)
    binary = build(name, folder)
    cases = load_test_cases(tests)
    timing = await backend.measure(binary, f"hostile-{name}", cases, Limits(time_limit=5))
    assert timing is not None
    return timing


def sysv_objects() -> list[str]:
    return [
        line
        for kind in ("shm", "msg", "sem")
        for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
    ]


# The primary number is the cycle model's: it follows misses and mispredicts, which move with
# code layout, so the same work done another way (in a static initialiser, say) may cost a few
# cycles fewer.  Instructions must never be fewer; cycles not more than LAYOUT below (a forgery
# takes orders of magnitude off: 1,679 instructions against 45 M in issue 14).
LAYOUT = 0.001


def not_below_honest(hostile: Timing, honest: Timing) -> bool:
    counted, honest_count = (t.measure("instructions") for t in (hostile, honest))
    assert counted is not None and honest_count is not None
    return counted.total >= honest_count.total and hostile.total >= (1 - LAYOUT) * honest.total


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_hostile_program_gets_its_honest_count_or_a_refusal(
    backend: QemuBackend, tmp_path: Path, name: str
) -> None:
    before = sysv_objects()
    honest = await timed(backend, "honest", tmp_path)
    assert honest.error is None, honest.error
    hostile = await timed(backend, name, tmp_path)
    expected = EXPECTED[name]
    if isinstance(expected, Refused):
        assert hostile.error is not None and expected.reason in hostile.error, hostile.error
    else:
        assert hostile.error is None, hostile.error
        assert not_below_honest(hostile, honest)
        if expected.work:
            work, honest_work = (t.measure("instructions_in_main") for t in (hostile, honest))
            assert work is not None and honest_work is not None
            assert work.total >= honest_work.total
            share = hostile.measure("startup_share")
            assert share is not None and share.total < 0.5
    assert sysv_objects() == before  # nothing the run created survives it
