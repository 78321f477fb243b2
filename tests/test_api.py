"""The async API under asyncio and trio: single, batch, streaming, sync, cancellation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import psutil
import pytest

import pie
from tests.conftest import SUM_OK, launcher_witness, make_tests

pytestmark = pytest.mark.anyio

SLEEPER = "#include <unistd.h>\nint main(){ sleep(60); }"
SPINNER = "int main(){ volatile unsigned long x = 0; for(;;) x++; }"


def running(binaries: set[str]) -> list[psutil.Process]:
    """Processes running one of ``binaries`` (this test's own programs: other evaluators may
    run beside), found by their argv, which /proc shows to any user, root or not."""
    return [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and p.info["cmdline"][0] in binaries
    ]


async def test_evaluate_returns_typed_result(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    result = await pie.evaluate(SUM_OK, sum_tests, **evaluator_options)
    assert isinstance(result, pie.Evaluation)
    assert result.verdict is pie.Verdict.AC and result.ok
    assert result.accuracy == 1.0
    assert [t.index for t in result.tests] == [0, 1, 2]
    assert all(t.max_rss_kib > 0 and t.wall_seconds > 0 for t in result.tests)
    assert len(result.source_sha256) == 64
    assert result.timing is None


async def test_source_may_be_a_path_or_bytes(
    tmp_path: Path, sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    path = tmp_path / "a.cpp"
    path.write_text(SUM_OK)
    from_path = await pie.evaluate(path, sum_tests, **evaluator_options)
    from_bytes = await pie.evaluate(SUM_OK.encode(), sum_tests, **evaluator_options)
    assert from_path.source_sha256 == from_bytes.source_sha256
    assert from_path.verdict is from_bytes.verdict is pie.Verdict.AC


async def test_identical_source_is_compiled_once(
    sum_tests: Path, evaluator_options: dict[str, object], anyio_backend: str
) -> None:
    source = SUM_OK + f"\n// compiled once under {anyio_backend}\n"
    async with pie.Evaluator(**evaluator_options) as ev:  # type: ignore[arg-type]
        first = await ev.evaluate(source, sum_tests)
        second = await ev.evaluate(source, sum_tests)
    assert not first.compile.cached
    assert second.compile.cached
    assert first.compile.binary_sha256 == second.compile.binary_sha256


async def test_indices_select_tests(sum_tests: Path, evaluator_options: dict[str, object]) -> None:
    result = await pie.evaluate(SUM_OK, sum_tests, indices=[2, 0], **evaluator_options)
    assert [t.index for t in result.tests] == [2, 0]


async def test_stream_yields_as_results_finish(
    tmp_path: Path, evaluator_options: dict[str, object]
) -> None:
    tests = make_tests(tmp_path / "p1", [("1 2\n", "3\n")])
    slow = (
        "#include <bits/stdc++.h>\nint main(){ volatile unsigned long x=0;"
        " for(unsigned long i=0;i<600000000UL;i++) x+=i;"
        " long long a,b; std::cin>>a>>b; std::cout<<a+b<<'\\n'; }"
    )
    submissions = [
        pie.Submission(slow, tests, label="slow"),
        pie.Submission(SUM_OK, tests, label="fast"),
    ]
    order = []
    fresh_results = tmp_path / "results.sqlite3"  # runs must really happen, not come cached
    async with pie.Evaluator(cache_file=fresh_results, **evaluator_options) as ev:  # type: ignore[arg-type]
        # Compile first so that run time, not compile time, decides the order.
        await ev.compile(slow)
        await ev.compile(SUM_OK)
        async for result in ev.stream(submissions):
            order.append((result.label, result.verdict.value))
    assert order == [("fast", "AC"), ("slow", "AC")]


async def test_evaluate_many_keeps_order_and_reports_bad_input(
    tmp_path: Path, evaluator_options: dict[str, object]
) -> None:
    root = tmp_path / "root"
    make_tests(root / "pA", [("1 2\n", "3\n")])
    make_tests(root / "pB", [("5 5\n", "10\n")])
    wrong = '#include <cstdio>\nint main(){ std::puts("0"); }'
    results = await pie.evaluate_many(
        [(SUM_OK, "pA"), (wrong, "pB"), (SUM_OK, "missing"), (SUM_OK, "pB")],
        tests=root,
        **evaluator_options,
    )
    assert [r.verdict.value for r in results] == ["AC", "WA", "IE", "AC"]
    assert results[2].error is not None and "missing" in results[2].error


def test_evaluate_sync(sum_tests: Path, cache_dir: Path) -> None:
    result = pie.evaluate_sync(SUM_OK, sum_tests, cache_dir=cache_dir)
    assert result.verdict is pie.Verdict.AC


async def test_cancellation_kills_processes_and_cleans_up(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    async with pie.Evaluator(**evaluator_options) as ev:  # type: ignore[arg-type]
        uids, scratch = ev._live_sandbox.slot_uids, ev._live_sandbox.scratch
        assert len(uids) == (2 if os.geteuid() == 0 else 0)
        built = [await ev.compile(SLEEPER), await ev.compile(SPINNER)]
        binaries = {str(b.binary) for b in built}
        seen: list[psutil.Process] = []
        async with anyio.create_task_group() as group:
            group.start_soon(ev.evaluate, SLEEPER, sum_tests)
            group.start_soon(ev.evaluate, SPINNER, sum_tests)
            deadline = time.monotonic() + 30
            while len(seen) < 2 and time.monotonic() < deadline:  # both run: then cancel
                seen = await anyio.to_thread.run_sync(running, binaries)
                await anyio.sleep(0.05)
            group.cancel_scope.cancel()
        assert len(seen) == 2, "the two programs never ran together"
        # the cancelled task tells the launcher server to SIGKILL the run; nothing survives it
        deadline = time.monotonic() + 5
        while running(binaries) and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        assert running(binaries) == []
    assert not scratch.exists()


async def test_evaluator_requires_context(sum_tests: Path) -> None:
    ev = pie.Evaluator()
    with pytest.raises(RuntimeError, match="async with"):
        await ev.evaluate(SUM_OK, sum_tests)


async def test_missing_tests_folder_is_a_clear_error(
    tmp_path: Path, evaluator_options: dict[str, object]
) -> None:
    with pytest.raises(pie.InputError, match="does not exist"):
        await pie.evaluate(SUM_OK, tmp_path / "nowhere", **evaluator_options)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_two_evaluators_in_one_process_keep_their_limits(
    sum_tests: Path, tmp_path: Path, cache_dir: Path
) -> None:
    bomb = (
        "#include <cstdlib>\n#include <cstring>\n"
        "int main(){ for(;;){ char* p = (char*)std::malloc(16 << 20);"
        " std::memset(p, 1, 16 << 20); } }"
    )
    limits = pie.Limits(time_limit=2, memory_limit=128)
    first = pie.Evaluator(cache_dir=cache_dir, cache_file=tmp_path / "a.sqlite3", concurrency=1)
    second = pie.Evaluator(cache_dir=cache_dir, cache_file=tmp_path / "b.sqlite3", concurrency=1)
    async with first:
        async with second:
            pass  # closing the second must not take the first one's cgroups away
        result = await first.evaluate(bomb, sum_tests, indices=[0], limits=limits)
    assert result.verdict is pie.Verdict.MLE


KEEP_A_SANDBOX = """
import sys, time
from pathlib import Path
from pie._sandbox import Sandbox
sandbox = Sandbox(Path(sys.argv[1]), slots=2)
print(sandbox.scratch, *sandbox.cgroups, flush=True)
time.sleep(600)
"""


def test_scratch_of_a_killed_evaluator_is_removed_by_the_next(cache_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", KEEP_A_SANDBOX, str(cache_dir)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    scratch, *groups = map(Path, holder.stdout.readline().split())
    assert scratch.is_dir() and all(g.is_dir() for g in groups)
    tests = make_tests(cache_dir / "scratch-tests", [("1 1\n", "2\n")])
    pie.evaluate_sync(SUM_OK, tests, cache_dir=cache_dir)
    assert scratch.is_dir(), "a live evaluator's scratch folder was removed"
    holder.kill()
    holder.wait()
    # a test not run yet, so the next evaluator makes slots (an answer wholly from the cache
    # makes none, and sweeps nothing)
    more = make_tests(cache_dir / "more-tests", [("2 2\n", "4\n")])
    pie.evaluate_sync(SUM_OK, more, cache_dir=cache_dir)
    assert not scratch.exists()
    assert not any(g.exists() for g in groups)


def test_an_answer_wholly_from_the_cache_probes_nothing_and_starts_no_process(
    cache_dir: Path, tmp_path: Path
) -> None:
    tests = make_tests(tmp_path / "tests", [("5 6\n", "11\n")])
    options = {"cache_dir": cache_dir, "cache_file": tmp_path / "own.sqlite3"}
    first = pie.evaluate_sync(SUM_OK, tests, **options)
    assert first.verdict is pie.Verdict.AC
    launched = tmp_path / "launched"
    with launcher_witness(cache_dir, launched) as launcher:
        again = pie.evaluate_sync(SUM_OK, tests, **options)
        assert not launched.exists(), launched.read_text()
        assert again.compile.cached and all(t.cached for t in again.tests)
        assert again.sandbox == first.sandbox
        # a test not run yet needs the sandbox: the witness sees it (this test can fail)
        more = make_tests(tmp_path / "more", [("1 2\n", "3\n")])
        assert pie.evaluate_sync(SUM_OK, more, **options).verdict is pie.Verdict.AC
        assert "--serve" in launched.read_text()
    # the recorded summary serves only under the conditions it was probed in: else a probe
    record = launcher.with_name(f"{launcher.name}.summary.json")
    record.write_text(record.read_text().replace('"conditions": "', '"conditions": "other'))
    assert pie.evaluate_sync(SUM_OK, tests, **options).sandbox == first.sandbox
    assert '"conditions": "other' not in record.read_text()
