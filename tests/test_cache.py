"""The SQLite result store: hits, binary-level sharing, processes, corruption."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

import pie
from pie._cache import CacheError, ResultCache
from tests.conftest import SUM_OK

pytestmark = pytest.mark.anyio


def cli(*args: str, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pie.cli", "--cache", str(cache_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_second_evaluation_pays_nothing(sum_tests: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    options = {"cache_dir": cache, "timing": "qemu"}
    first = await pie.evaluate(SUM_OK, sum_tests, **options)
    second = await pie.evaluate(SUM_OK, sum_tests, **options)  # a new evaluator, new connection
    assert not first.compile.cached and not any(t.cached for t in first.tests)
    assert first.timing is not None and not first.timing.cached
    assert second.compile.cached and all(t.cached for t in second.tests)
    assert second.timing is not None and second.timing.cached
    assert [t.verdict for t in second.tests] == [t.verdict for t in first.tests]
    assert second.timing.per_test == first.timing.per_test
    assert second.timing.measures == first.timing.measures


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_same_binary_from_another_source_runs_once(sum_tests: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache)
    commented = "// a comment and some blank lines change the source, not the binary\n\n" + SUM_OK
    second = await pie.evaluate(commented, sum_tests, cache_dir=cache)
    assert first.source_sha256 != second.source_sha256
    assert not second.compile.cached  # a different source is compiled...
    assert second.compile.binary_sha256 == first.compile.binary_sha256
    assert all(t.cached for t in second.tests)  # ...but its binary's runs are known


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_limits_and_checker_are_part_of_the_key(sum_tests: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache)
    other_limits = await pie.evaluate(
        SUM_OK, sum_tests, cache_dir=cache, limits=pie.Limits(time_limit=3)
    )
    other_check = await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache, check="pie")
    assert not any(t.cached for t in other_limits.tests)
    assert not any(t.cached for t in other_check.tests)


def test_processes_share_one_cache(tmp_path: Path, sum_tests: Path) -> None:
    cache = tmp_path / "cache"
    script = (
        "import sys, pie\n"
        'src = \'#include <cstdio>\\nint main(){ long long a,b; scanf("%lld %lld",&a,&b);'
        ' printf("%lld\\\\n", a+b); } // \' + sys.argv[1]\n'
        f"r = pie.evaluate_sync(src, {str(sum_tests)!r}, cache_dir={str(cache)!r})\n"
        "print(r.verdict.value)\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(i)], stdout=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    assert [p.communicate(timeout=300)[0].strip() for p in processes] == ["AC"] * 4
    store = ResultCache(cache / "results.sqlite3")
    try:
        stats = store.stats()
    finally:
        store.close()
    assert stats["compiles"] == 4
    assert stats["runs"] == 3  # the comment differs, the binary does not: 3 tests, run once


def test_corrupted_cache_names_the_file_and_the_way_out(tmp_path: Path, sum_tests: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "results.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match=r"results\.sqlite3.*pie cache clear"):
        ResultCache(cache / "results.sqlite3")
    source = tmp_path / "sum.cpp"
    source.write_text(SUM_OK)
    done = subprocess.run(
        [sys.executable, "-m", "pie.cli", "--cache", str(cache), "run", str(source), "--tests",
         str(sum_tests), "--json"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0 and "pie cache clear" in done.stderr
    assert "Traceback" not in done.stderr
    assert cli("cache", "clear", cache_dir=cache).returncode == 0
    assert ResultCache(cache / "results.sqlite3").stats()["runs"] == 0


def test_foreign_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema', 'someone-else-7')")
    db.commit()
    db.close()
    with pytest.raises(CacheError, match="someone-else-7"):
        ResultCache(path)


def test_cache_cli_stats_and_export(tmp_path: Path, sum_tests: Path) -> None:
    cache = tmp_path / "cache"
    pie.evaluate_sync(SUM_OK, sum_tests, cache_dir=cache)
    stats = cli("cache", "stats", cache_dir=cache)
    assert stats.returncode == 0 and "runs      3" in stats.stdout
    out = tmp_path / "export.jsonl"
    exported = cli("cache", "export", str(out), cache_dir=cache)
    assert exported.returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["table"] for r in rows} == {"compiles", "runs"}
    assert len([r for r in rows if r["table"] == "runs"]) == 3


KILLED_BATCH = (
    "#include <cstdio>\nint main(){ volatile int tag = TAG; (void)tag;"
    ' long long a,b; scanf("%lld %lld",&a,&b); printf("%lld\\n", a+b); }'
)


def test_a_killed_batch_keeps_what_finished(tmp_path: Path, sum_tests: Path) -> None:
    cache = tmp_path / "cache"
    sources = [KILLED_BATCH.replace("TAG", str(i)) for i in range(12)]
    script = (
        "import sys, anyio, pie\n"
        "sources = sys.argv[1:]\n"
        f"anyio.run(lambda: pie.evaluate_many([pie.Submission(s, {str(sum_tests)!r}) "
        f"for s in sources], cache_dir={str(cache)!r}, concurrency=1))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, *sources])
    database = cache / "results.sqlite3"
    deadline = time.monotonic() + 120
    runs = 0
    while time.monotonic() < deadline and runs < 6:
        time.sleep(0.2)
        if database.exists():
            store = ResultCache(database)
            runs = store.stats()["runs"]
            store.close()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert runs >= 6, "the batch should have finished some runs before it was killed"
    store = ResultCache(database)  # still a valid cache after SIGKILL
    try:
        kept = store.stats()["runs"]
    finally:
        store.close()
    assert kept >= runs
    results = anyio.run(
        lambda: pie.evaluate_many([pie.Submission(s, sum_tests) for s in sources], cache_dir=cache)
    )
    assert [r.verdict for r in results] == [pie.Verdict.AC] * len(sources)
    # nothing finished is paid again: every kept run comes back from the cache
    assert sum(t.cached for r in results for t in r.tests) == kept
