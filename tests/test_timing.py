"""Timing backends: the cachegrind backend's counts, determinism, and when timing runs."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie._timing._callgrind import CallgrindFormatError, parse
from tests.conftest import SUM_OK, make_tests

pytestmark = pytest.mark.anyio

STDIO_SUM = (
    "#include <cstdio>\n"
    'int main(){ long long a,b; scanf("%lld %lld",&a,&b); printf("%lld\\n",a+b); }'
)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_counts_are_identical_across_runs_and_slots(sum_tests: Path, cache_dir: Path) -> None:
    async with pie.Evaluator(cache_dir=cache_dir, concurrency=2, timing="cachegrind") as ev:
        first = await ev.evaluate(SUM_OK, sum_tests)
        second = await ev.evaluate(SUM_OK, sum_tests)
    assert first.timing is not None and second.timing is not None
    assert first.timing.error is None
    assert first.timing.per_test == second.timing.per_test
    assert first.timing.measures == second.timing.measures
    assert first.timing.unit == "instructions" and first.timing.backend == "cachegrind"
    assert first.timing.total == sum(first.timing.per_test) > 100_000


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_startup_dominates_a_trivial_iostream_program(
    sum_tests: Path, cache_dir: Path
) -> None:
    results = await pie.evaluate_many(
        [pie.Submission(SUM_OK, sum_tests), pie.Submission(STDIO_SUM, sum_tests)],
        cache_dir=cache_dir,
        timing="cachegrind",
    )
    iostream, stdio = (r.timing for r in results)
    assert iostream is not None and stdio is not None
    share = iostream.measure("startup_share")
    assert share is not None and share.total > 0.9
    # libstdc++'s loading and static initialisation: the stdio program skips it
    assert stdio.total * 3 < iostream.total
    cycles = iostream.measure("estimated_cycles")
    assert cycles is not None and cycles.total > 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_incorrect_programs_are_not_timed(sum_tests: Path, cache_dir: Path) -> None:
    wrong = '#include <cstdio>\nint main(){ std::puts("0"); }'
    result = await pie.evaluate(wrong, sum_tests, cache_dir=cache_dir, timing="cachegrind")
    assert result.verdict is pie.Verdict.WA
    assert result.timing is None


async def test_unknown_backend_is_a_clear_error(sum_tests: Path, cache_dir: Path) -> None:
    with pytest.raises(pie.InputError, match="timing backend 'fast'"):
        await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache_dir, timing="fast")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_main_share_grows_with_work_in_main(tmp_path: Path, cache_dir: Path) -> None:
    tests = make_tests(tmp_path / "t", [("\n", "0\n")])
    busy = (
        "#include <cstdio>\nint main(){ volatile unsigned s = 0;"
        ' for (unsigned i = 0; i < 3000000; ++i) s += i; std::printf("%d\\n", 0); }'
    )
    result = await pie.evaluate(busy, tests, cache_dir=cache_dir, timing="cachegrind")
    assert result.timing is not None
    share = result.timing.measure("startup_share")
    assert share is not None and share.total < 0.5


# ---- the callgrind format ---------------------------------------------------------------

EVENTS = ("Ir", "Dr", "Bcm")


def render(
    functions: dict[str, list[tuple[int, ...]]], calls: list[tuple[str, tuple[int, ...]]]
) -> str:
    """A callgrind file: each function's self-cost lines; ``calls`` made from main."""
    lines = ["version: 1", "positions: line", f"events: {' '.join(EVENTS)}"]
    ids = {name: i for i, name in enumerate(functions, 1)}
    totals = [0] * len(EVENTS)
    for name, costs in functions.items():
        lines += ["fl=(1) prog.cpp", f"fn=({ids[name]}) {name}"]
        for number, cost in enumerate(costs, 1):
            lines.append(f"{number} " + " ".join(map(str, cost)))
            totals = [a + b for a, b in zip(totals, cost, strict=True)]
        if name == "main":
            for callee, inclusive in calls:
                lines += [
                    f"cfn=({ids[callee]})",
                    "calls=1 7",
                    "+2 " + " ".join(map(str, inclusive)),
                ]
    lines.append("summary: " + " ".join(map(str, totals)))
    return "\n".join(lines) + "\n"


cost = st.tuples(*[st.integers(0, 10**9)] * len(EVENTS))


@given(
    main_costs=st.lists(cost, max_size=5),
    other_costs=st.lists(cost, max_size=5),
    calls=st.lists(cost, max_size=4),
)
def test_main_inclusive_is_self_plus_calls(
    main_costs: list[tuple[int, ...]],
    other_costs: list[tuple[int, ...]],
    calls: list[tuple[int, ...]],
) -> None:
    text = render({"helper": other_costs, "main": main_costs}, [("helper", c) for c in calls])
    profile = parse(text)
    assert profile.main_inclusive is not None
    for i, event in enumerate(EVENTS):
        want = sum(c[i] for c in main_costs) + sum(c[i] for c in calls)
        assert profile.main_inclusive[event] == want
        assert profile.totals[event] == sum(c[i] for c in main_costs + other_costs)


def test_profile_without_main_has_no_main_cost() -> None:
    profile = parse(render({"start": [(1, 2, 3)]}, []))
    assert profile.main_inclusive is None
    assert profile.total("Ir") == 1


@pytest.mark.parametrize("text", ["", "events: Ir\n", "events: Ir\nfn=main\n12 x\nsummary: 1\n"])
def test_malformed_profiles_are_errors(text: str) -> None:
    with pytest.raises(CallgrindFormatError):
        parse(text)


@given(
    st.text(
        alphabet=st.sampled_from(list("evnts:summary fn=()main 0123456789x+-*\n#")), max_size=300
    )
)
def test_parser_never_crashes_on_garbage(text: str) -> None:
    with contextlib.suppress(CallgrindFormatError):
        parse(text)
