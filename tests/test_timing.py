"""Timing backends: counts through the evaluator, determinism, when timing runs, and removed
backends."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie._timing._counted import first_failure
from pie._timing._qemu import Counts
from pie._timing._wall import mann_whitney_p
from tests.conftest import SUM_OK, make_tests

pytestmark = pytest.mark.anyio

STDIO_SUM = (
    "#include <cstdio>\n"
    'int main(){ long long a,b; scanf("%lld %lld",&a,&b); printf("%lld\\n",a+b); }'
)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_counts_are_identical_across_runs_and_slots(sum_tests: Path, cache_dir: Path) -> None:
    async with pie.Evaluator(cache_dir=cache_dir, concurrency=2, timing="qemu") as ev:
        first = await ev.evaluate(SUM_OK, sum_tests)
        second = await ev.evaluate(SUM_OK, sum_tests)
    assert first.timing is not None and second.timing is not None
    assert first.timing.error is None
    assert first.timing.per_test == second.timing.per_test
    assert first.timing.measures == second.timing.measures
    assert first.timing.unit == "cycles" and first.timing.backend == "qemu"
    assert first.timing.total == sum(first.timing.per_test) > 100_000


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_startup_dominates_a_trivial_iostream_program(
    sum_tests: Path, cache_dir: Path
) -> None:
    results = await pie.evaluate_many(
        [pie.Submission(SUM_OK, sum_tests), pie.Submission(STDIO_SUM, sum_tests)],
        cache_dir=cache_dir,
        timing="qemu",
    )
    iostream, stdio = (r.timing for r in results)
    assert iostream is not None and stdio is not None
    share = iostream.measure("startup_share")
    assert share is not None and share.total > 0.9
    # libstdc++'s loading and static initialisation: the stdio program skips it
    assert stdio.total * 3 < iostream.total
    instructions = iostream.measure("instructions")
    assert instructions is not None and instructions.total > 100_000


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_incorrect_programs_are_not_timed(sum_tests: Path, cache_dir: Path) -> None:
    wrong = '#include <cstdio>\nint main(){ std::puts("0"); }'
    result = await pie.evaluate(wrong, sum_tests, cache_dir=cache_dir, timing="qemu")
    assert result.verdict is pie.Verdict.WA
    assert result.timing is None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_timed_output_is_judged_with_the_tests_checker(
    tmp_path: Path, cache_dir: Path
) -> None:
    """Token-wise (strict, the default) "7  -1" is the expected "7 -1", line-wise (PIE's) it
    is not: a program AC under the tests' checker is timed, not refused as a wrong output."""
    tests = make_tests(tmp_path / "t", [("3 4\n", "7 -1\n")])
    spaced = (
        "#include <cstdio>\n"
        'int main(){ int a,b; scanf("%d %d",&a,&b); printf("%d  %d\\n",a+b,a-b); }'
    )
    result = await pie.evaluate(spaced, tests, cache_dir=cache_dir, timing="qemu")
    assert result.verdict is pie.Verdict.AC
    assert result.timing is not None and result.timing.error is None, result.timing
    assert result.timing.total > 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_instruction_budget_is_a_deterministic_cut(sum_tests: Path, cache_dir: Path) -> None:
    tight = pie.QemuConfig(instruction_budget=1000)
    result = await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache_dir, timing=tight)
    assert result.verdict is pie.Verdict.AC
    assert result.timing is not None and result.timing.total == float("inf")
    assert result.timing.error is not None and "over budget" in result.timing.error
    assert "budget=1000" in result.timing.config


async def test_unknown_backend_is_a_clear_error(sum_tests: Path, cache_dir: Path) -> None:
    with pytest.raises(pie.InputError, match="timing backend 'fast'"):
        await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache_dir, timing="fast")


@pytest.mark.parametrize("name", ["cachegrind", "callgrind"])
async def test_a_removed_backend_names_its_replacement(
    sum_tests: Path, cache_dir: Path, name: str
) -> None:
    """valgrind's backends were removed (forgeable, host-dependent): naming one says so."""
    removed = f"timing backend '{name}' was removed: a program could forge valgrind's counts"
    with pytest.raises(pie.InputError, match=removed + r".*use 'qemu'"):
        await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache_dir, timing=name)
    with pytest.raises(AttributeError, match=r"pie\.CachegrindConfig was removed.*QemuConfig"):
        pie.CachegrindConfig  # noqa: B018


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_main_share_grows_with_work_in_main(tmp_path: Path, cache_dir: Path) -> None:
    tests = make_tests(tmp_path / "t", [("\n", "0\n")])
    busy = (
        "#include <cstdio>\nint main(){ volatile unsigned s = 0;"
        ' for (unsigned i = 0; i < 3000000; ++i) s += i; std::printf("%d\\n", 0); }'
    )
    result = await pie.evaluate(busy, tests, cache_dir=cache_dir, timing="qemu")
    assert result.timing is not None
    share = result.timing.measure("startup_share")
    assert share is not None and share.total < 0.5


# ---- wall clock ---------------------------------------------------------------------------

SLOW = (
    "#include <cstdio>\nint main(){ volatile unsigned long s = 0;"
    ' for (unsigned long i = 0; i < 40000000UL; ++i) s += i; std::printf("0\\n"); }'
)
FAST = '#include <cstdio>\nint main(){ std::printf("0\\n"); }'
SLOW_ENOUGH = SLOW.replace("40000000UL", "200000000UL")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_wall_timing_reports_medians_and_host_noise(tmp_path: Path, cache_dir: Path) -> None:
    tests = make_tests(tmp_path / "t", [("\n", "0\n")])
    config = pie.WallConfig(repetitions=5)
    result = await pie.evaluate(SLOW, tests, cache_dir=cache_dir, timing=config)
    timing = result.timing
    assert timing is not None and timing.backend == "wall" and timing.unit == "seconds"
    minimum, spread = timing.measure("min"), timing.measure("iqr")
    assert minimum is not None and spread is not None
    assert 0 < minimum.total <= timing.total
    assert "aslr=" in timing.config
    # the load average changes by the minute: timings taken at different loads still compare
    assert "load=" not in timing.config


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_wall_comparison_finds_a_real_speedup(tmp_path: Path, cache_dir: Path) -> None:
    tests = make_tests(tmp_path / "t", [("\n", "0\n")])
    # SLOW_ENOUGH runs ~0.2 s, FAST ~1 ms: a stall of a busy host (other test runs, builds)
    # must last longer than that to mix the two samples up, which made the 40 ms one flaky
    config = pie.WallConfig(repetitions=10)
    async with pie.Evaluator(cache_dir=cache_dir, concurrency=1) as ev:
        verdict = await ev.compare_wall(SLOW_ENOUGH, FAST, tests, config=config)
        same = await ev.compare_wall(FAST, FAST, tests, config=config)
    assert verdict.speedup > 3 and verdict.significant and verdict.p_value < 0.01
    assert verdict.resolvable_speedup >= 1.0
    # identical programs: no speedup beyond what the noise of this run could resolve
    assert not (same.p_value < 0.01 and same.speedup > verdict.resolvable_speedup)


samples = st.lists(st.floats(0.001, 10.0), min_size=3, max_size=30)


@given(samples)
def test_identical_samples_are_not_significant(values: list[float]) -> None:
    assert mann_whitney_p(values, values) > 0.5


@given(st.lists(st.floats(0.001, 10.0), min_size=8, max_size=30), st.floats(2.0, 100.0))
def test_separated_samples_are_significant(values: list[float], factor: float) -> None:
    slower = [v * factor + 20.0 for v in values]
    assert mann_whitney_p(slower, values) < 0.01


def test_mann_whitney_matches_a_known_value() -> None:
    # U = 6 (of 36 pairs); normal approximation with continuity correction: p = 0.0656
    a = [1.1, 2.2, 3.3, 4.4, 5.5, 6.6]
    b = [3.0, 5.0, 7.0, 8.0, 9.0, 10.0]
    assert mann_whitney_p(a, b) == pytest.approx(0.0656, abs=0.0005)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_accuracy_threshold_times_nearly_correct_programs(
    tmp_path: Path, cache_dir: Path
) -> None:
    # right on two tests of three (mean accuracy 2/3)
    tests = make_tests(tmp_path / "t", [("1 1\n", "2\n"), ("2 2\n", "4\n"), ("3 3\n", "7\n")])
    strict = await pie.evaluate(SUM_OK, tests, cache_dir=cache_dir, timing="qemu")
    lenient = await pie.evaluate(
        SUM_OK, tests, cache_dir=cache_dir, timing="qemu", threshold_accuracy=0.6
    )
    assert strict.verdict is lenient.verdict is pie.Verdict.WA
    assert strict.timing is None
    assert lenient.timing is not None and lenient.timing.total > 0
    with pytest.raises(pie.InputError, match="threshold_accuracy"):
        pie.Evaluator(threshold_accuracy=1.5)


def test_speedups_only_between_like_timings() -> None:
    slow = pie.Timing("qemu", "cycles", 300.0, (300.0,), config="c1")
    fast = pie.Timing("qemu", "cycles", 100.0, (100.0,), config="c1")
    assert pie.speedup(slow, fast) == 3.0
    wall = pie.Timing("wall", "seconds", 0.1, (0.1,), config="w")
    with pytest.raises(pie.InputError, match="different backends"):
        pie.speedup(slow, wall)
    other = pie.Timing("qemu", "cycles", 100.0, (100.0,), config="c2")
    with pytest.raises(pie.InputError, match="different configs"):
        pie.speedup(slow, other)


def test_a_test_over_budget_is_named_before_any_other_failure() -> None:
    """Over budget first, else the first uncounted test."""
    fields = {name: 0 for name in attrs.fields_dict(Counts)}
    counted = Counts(**{**fields, "instructions": 50})
    tests = [pie.TestCase(i, Path(f"in{i}"), Path(f"out{i}")) for i in range(3)]
    assert first_failure(tests, [counted, "test 1: no report", counted], 10) == (
        "over budget: test 0 ran 50 instructions (> 10)"
    )
    assert (
        first_failure(tests, [counted, "test 1: no report", counted], None) == "test 1: no report"
    )
    assert first_failure(tests, [counted, counted, counted], 100) is None
