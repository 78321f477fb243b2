"""pie's benchmarks: printed figures and ratios measured side by side in one run.

    python bench/run.py [--data ../shared/data] [--only throughput,overhead,pch,proxy,evaluate]

1. correctness throughput on real PIE/CodeNet programs: pie (sandbox, PCH, compile cache,
   bounded concurrency) against a naive harness written the way PIE's original one works
   (serial, plain g++ per program, ``subprocess.run`` per test, PIE's line check);
2. per-run sandbox overhead against a bare fork+exec of the same binary, at concurrency 1, 2, 4;
3. compile time with the precompiled ``bits/stdc++.h`` against a plain compile;
4. the qemu backend on PIE's rows: determinism, cached re-evaluation, and how well its
   speedups (cycles of the calibrated model, and the raw instructions) rank PIE's recorded gem5
   speedups on rows that were not used to calibrate it (``bench/calibrate.py`` does that);
5. ``pie evaluate`` on every row of the sample data: cold (empty cache) and warm.

Machines are noisy: every figure is a median, and ratios come from the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

import pie
from pie._check import CheckMode, accuracy

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("PIE_SHARED_DATA", REPO.parent / "shared" / "data"))
TRIVIAL = "int main() { return 0; }\n"


# ---- real programs ------------------------------------------------------------------------


def real_programs(data: Path) -> list[tuple[str, str]]:
    """(source, problem_id) for every program in the sample data that has tests."""
    programs = []
    files = ("problems.jsonl", "problems_src_only.jsonl", "supersonic_pairs.jsonl")
    for name in files:
        for line in (data / name).read_text().splitlines():
            row = json.loads(line)
            for key in ("src_code", "tgt_code", "slow_code", "fast_code", "input", "target"):
                code = row.get(key)
                pid = row.get("problem_id")
                has_tests = bool(pid) and (data / "tests" / str(pid)).is_dir()
                if isinstance(code, str) and "main" in code and has_tests:
                    programs.append((code, pid))
    return programs


# ---- 1. throughput ------------------------------------------------------------------------


def naive_evaluate(source: str, tests: Path, work: Path) -> tuple[float, int]:
    """What PIE's harness does for one program: compile plainly, run each test, check."""
    src = work / "code.cpp"
    binary = work / "code.out"
    src.write_text(source)
    built = subprocess.run(
        ["g++", str(src), "-o", str(binary), "--std=c++17", "-O3"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if built.returncode != 0:
        return 0.0, 0
    scores = []
    timeouts = 0
    for given in sorted(tests.glob("input.*.txt")):
        expected = (tests / given.name.replace("input", "output")).read_text()
        with given.open() as handle:
            try:
                done = subprocess.run(
                    [str(binary)],
                    stdin=handle,
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=False,
                )
                scores.append(accuracy(done.stdout.encode(), expected.encode(), CheckMode.PIE))
            except subprocess.TimeoutExpired:
                scores.append(0.0)
                timeouts += 1
            except UnicodeDecodeError:
                scores.append(0.0)
    return sum(scores) / max(1, len(scores)), timeouts


async def pie_batch(
    programs: list[tuple[str, str]], tests: Path, cache: Path
) -> list[pie.Evaluation]:
    return await pie.evaluate_many(programs, tests=tests, cache_dir=cache)


def bench_throughput(data: Path, limit: int | None) -> dict[str, Any]:
    programs = real_programs(data)[:limit]
    tests = data / "tests"
    n = len(programs)
    n_tests = sum(len(list((tests / pid).glob("input.*.txt"))) for _, pid in programs)
    print(f"\n[1] correctness throughput: {n} real programs, {n_tests} test runs")

    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        naive_runs = [naive_evaluate(src, tests / pid, Path(work)) for src, pid in programs]
        naive_s = time.perf_counter() - started
    naive = [accuracy for accuracy, _ in naive_runs]
    naive_timeouts = sum(t for _, t in naive_runs)

    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        cold_results = anyio.run(pie_batch, programs, tests, Path(cache))
        cold_s = time.perf_counter() - started
        started = time.perf_counter()
        anyio.run(pie_batch, programs, tests, Path(cache))
        warm_s = time.perf_counter() - started

    cold = [r.accuracy for r in cold_results]
    agree = sum(abs(a - b) < 1e-9 for a, b in zip(naive, cold, strict=True))
    tle = sum(t.verdict is pie.Verdict.TLE for r in cold_results for t in r.tests)
    rows = {
        "naive (serial, plain g++, subprocess.run)": naive_s,
        "pie, empty cache (PCH built inside)": cold_s,
        "pie, rerun (result cache warm)": warm_s,
    }
    for name, seconds in rows.items():
        print(f"  {name:45s} {seconds:8.1f} s  {60 * n / seconds:8.1f} programs/min")
    print(f"  speed-up, empty cache: {naive_s / cold_s:.1f}x   rerun: {naive_s / warm_s:.1f}x")
    print(f"  accuracy agrees with the naive harness on {agree}/{n} programs")
    print(
        f"  tests stopped by the 10 s limit: naive {naive_timeouts}, pie {tle} (each costs the "
        "full limit in both harnesses; only running two at a time speeds them up)"
    )
    return {"programs": n, "naive_s": naive_s, "pie_cold_s": cold_s, "pie_warm_s": warm_s}


# ---- 2. sandbox overhead -----------------------------------------------------------------


async def _rate(run_once: Callable[[], Any], concurrency: int, runs: int) -> float:
    """Median seconds per run, ``concurrency`` runs at a time."""
    per_run: list[float] = []

    async def worker() -> None:
        for _ in range(runs // concurrency):
            started = time.perf_counter()
            await run_once()
            per_run.append(time.perf_counter() - started)

    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    return statistics.median(per_run)


async def _overhead(runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stdin = Path(tmp) / "input.txt"
        stdin.write_text("\n")
        async with pie.Evaluator(cache_dir=Path(tmp) / "cache", concurrency=4) as ev:
            compiled = await ev.compile(TRIVIAL)
            assert compiled.binary is not None
            binary = compiled.binary
            limits = pie.Limits(time_limit=2)

            async def sandboxed() -> None:
                await ev._live_sandbox.run(binary, stdin, limits)

            async def bare() -> None:
                with stdin.open("rb") as handle:
                    await anyio.run_process([str(binary)], stdin=handle)

            for concurrency in (1, 2, 4):
                b = await _rate(bare, concurrency, runs)
                s = await _rate(sandboxed, concurrency, runs)
                # interleave a second pair so a drift in machine load shows in both
                b2 = await _rate(bare, concurrency, runs)
                s2 = await _rate(sandboxed, concurrency, runs)
                bare_ms = 1000 * statistics.median([b, b2])
                sand_ms = 1000 * statistics.median([s, s2])
                figures[str(concurrency)] = {"bare_ms": bare_ms, "sandbox_ms": sand_ms}
                print(
                    f"  concurrency {concurrency}: bare {bare_ms:6.2f} ms/run  "
                    f"sandbox {sand_ms:6.2f} ms/run  overhead {sand_ms - bare_ms:+6.2f} ms  "
                    f"({concurrency / (sand_ms / 1000):6.0f} runs/s)"
                )
    return figures


def bench_overhead(runs: int) -> dict[str, Any]:
    print(f"\n[2] sandbox overhead per run (trivial program, {runs} runs per point, medians)")
    return anyio.run(_overhead, runs)


# ---- 3. precompiled header -----------------------------------------------------------------


async def _compile_all(sources: list[str], cache: Path, use_pch: bool) -> list[float]:
    options = pie.CompileOptions(use_pch=use_pch)
    async with pie.Evaluator(cache_dir=cache, compile_options=options, concurrency=1) as ev:
        await ev.compile("#include <bits/stdc++.h>\nint main(){}\n")  # builds the PCH once
        return [(await ev.compile(s)).seconds for s in sources]


def bench_pch(data: Path, limit: int) -> dict[str, Any]:
    sources = [
        s for s, _ in real_programs(data) if s.lstrip().startswith("#include <bits/stdc++.h>")
    ][:limit]
    print(f"\n[3] compile time, {len(sources)} real programs starting with bits/stdc++.h")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        with_pch = anyio.run(_compile_all, sources, Path(a), True)
        plain = anyio.run(_compile_all, sources, Path(b), False)
    pch_s, plain_s = statistics.median(with_pch), statistics.median(plain)
    print(f"  plain g++ -O3 median {plain_s:.3f} s   with PCH median {pch_s:.3f} s")
    print(f"  ratio {plain_s / pch_s:.1f}x")
    return {"plain_s": plain_s, "pch_s": pch_s, "programs": len(sources)}


# ---- 4. the local proxy against PIE's gem5 numbers -------------------------------------------


def spearman(xs: list[float], ys: list[float]) -> float:
    """Rank correlation (average ranks for ties)."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                result[order[k]] = (i + j) / 2
            i = j + 1
        return result

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else 0.0


async def _time_rows(
    rows: list[dict[str, Any]], tests: Path, cache: Path, timing: Any = "qemu"
) -> list[Any]:
    programs = [
        pie.Submission(r[c], problem_id=r["problem_id"])
        for r in rows
        for c in ("src_code", "tgt_code")
    ]
    return await pie.evaluate_many(programs, tests=tests, cache_dir=cache, timing=timing)


def bench_proxy(data: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (data / "problems.jsonl").read_text().splitlines()]
    print(f"\n[4] qemu against PIE's gem5 speedups: {len(rows)} PIE rows (src and tgt)")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        started = time.perf_counter()
        first = anyio.run(_time_rows, rows, data / "tests", Path(a))
        cold_s = time.perf_counter() - started
        second = anyio.run(_time_rows, rows, data / "tests", Path(b))  # an independent cache
        started = time.perf_counter()
        anyio.run(_time_rows, rows, data / "tests", Path(a))
        warm_s = time.perf_counter() - started
        wall_config = pie.WallConfig(repetitions=10)
        wall = anyio.run(_time_rows, rows, data / "tests", Path(a), wall_config)
    differ = sum(x.timing.per_test != y.timing.per_test for x, y in zip(first, second, strict=True))
    print(f"  determinism: {differ} of {len(first)} programs gave different counts in two runs")
    print(
        f"  cold {cold_s:.1f} s, warm (cached) {warm_s:.2f} s: {100 * warm_s / cold_s:.2f}% of cold"
    )
    pie_speedup = [r["src_agg_runtime"] / r["tgt_agg_runtime"] for r in rows]
    cpu = [
        (
            sum(t.cpu_seconds for t in first[2 * i].tests),
            sum(t.cpu_seconds for t in first[2 * i + 1].tests),
        )
        for i in range(len(rows))
    ]

    def ratios(results: list[Any], measure: str | None = None) -> list[float]:
        def value(result: Any) -> float:
            timing = result.timing
            return float(timing.total if measure is None else timing.measure(measure).total)

        return [value(results[2 * i]) / value(results[2 * i + 1]) for i in range(len(rows))]

    quantity = first[0].timing.quantity
    print(
        f"  Spearman vs PIE (11 of these rows are calibration rows): cycles ({quantity.name} "
        f"v{quantity.version}) {spearman(ratios(first), pie_speedup):.2f}, instructions "
        f"{spearman(ratios(first, 'instructions'), pie_speedup):.2f}, sandbox cpu time "
        f"{spearman([a / b for a, b in cpu], pie_speedup):.2f}, wall (median of 10) "
        f"{spearman(ratios(wall), pie_speedup):.2f}; the calibration itself: bench/calibrate.py"
    )
    return {"programs": len(first), "differ": differ, "cold_s": cold_s, "warm_s": warm_s}


# ---- [5] pie evaluate on all of the sample data ------------------------------------------


def benchmark_rows(data: Path) -> list[dict[str, Any]]:
    """Every row of the sample data, with src as candidate 0 and tgt as candidate 1."""
    rows = []
    for name in sorted(data.glob("*.jsonl")):
        for line in name.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            row["generated_answers"] = [row.get("src_code"), row.get("tgt_code")]
            rows.append(row)
    return rows


def _evaluate_once(config: dict[str, Any], folder: Path) -> tuple[float, Any]:
    folder.mkdir(parents=True)
    path = folder / "config.yaml"
    path.write_text(json.dumps({**config, "output_dir": str(folder / "out")}))
    started = time.perf_counter()
    result = anyio.run(pie.evaluate_benchmark, path)
    return time.perf_counter() - started, result


def bench_evaluate(data: Path) -> dict[str, Any]:
    print("[5] pie evaluate on every sample row (src and tgt as candidates), qemu timing")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        generated = work / "generated.jsonl"
        rows = benchmark_rows(data)
        generated.write_text("".join(json.dumps(r) + "\n" for r in rows))
        config = {
            "model_generated_outputs_path": str(generated),
            "reference_file_path": str(generated),
            "testcases_dir": str(data / "tests"),
            "timing": "qemu",
            "cache_dir": str(work / "cache"),
        }
        cold_s, result = _evaluate_once(config, work / "cold")
        warm_s, again = _evaluate_once(config, work / "warm")
        same = result.aggregated == again.aggregated
        programs = json.loads((work / "cold" / "out" / "run.json").read_text())["programs"]
    print(f"    {len(rows)} rows, {programs} distinct programs, {len(result.issues)} input issues")
    print(f"    cold (empty cache): {cold_s:7.1f} s   warm (cached): {warm_s:6.2f} s")
    print(f"    same aggregates cold and warm: {same}; verdicts {result.verdicts}")
    return {
        "rows": len(rows),
        "programs": programs,
        "cold_s": cold_s,
        "warm_s": warm_s,
        "same": same,
    }


# ---- main ---------------------------------------------------------------------------------


def _parts(text: str) -> Iterator[str]:
    yield from (p.strip() for p in text.split(",") if p.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", default="throughput,overhead,pch,proxy,evaluate")
    parser.add_argument("--programs", type=int, default=None, help="cap for [1]")
    parser.add_argument("--runs", type=int, default=400, help="runs per point in [2]")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"sample data not found at {args.data}; pass --data or set PIE_SHARED_DATA")
        return 2
    print(f"pie {pie.__version__} bench on {os.cpu_count()} CPUs, data {args.data}")
    figures: dict[str, Any] = {}
    for part in _parts(args.only):
        if part == "throughput":
            figures[part] = bench_throughput(args.data, args.programs)
        elif part == "overhead":
            figures[part] = bench_overhead(args.runs)
        elif part == "pch":
            figures[part] = bench_pch(args.data, 12)
        elif part == "proxy":
            figures[part] = bench_proxy(args.data)
        elif part == "evaluate":
            figures[part] = bench_evaluate(args.data)
        else:
            print(f"unknown part {part!r}")
            return 2
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
