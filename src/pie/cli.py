"""The ``pie`` command: ``run``, ``evaluate``, ``report``, ``demo``, ``doctor``, ``cache``,
``farm``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from pie import _cli_benchmark, _doctor
from pie._cache import FILE_NAME as CACHE_FILE
from pie._cache import ResultCache
from pie._cache import clear as clear_cache
from pie._check import CheckMode
from pie._data import demo_root, parse_indices, read_jsonl
from pie._errors import PieError
from pie._evaluator import Evaluator, Submission
from pie._farm import _cli as _farm_cli
from pie._interrupt import until_signalled
from pie._model import Evaluation, Limits
from pie._paths import default_cache_dir
from pie._timing import BACKENDS, valgrind_available

EXIT_OK = 0
EXIT_FAILED = 1  # the evaluation ran and the program was not accepted (human mode only)
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pie", description=__doc__)
    parser.add_argument("--cache", type=Path, help="cache directory (default ~/.cache/pie)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="evaluate one C++ program on a test folder")
    run.add_argument("source", type=Path, help="C++ source file")
    run.add_argument("--tests", type=Path, required=True, help="folder of input.N.txt/output.N.txt")
    run.add_argument("--timing", choices=BACKENDS, default="none")
    run.add_argument("--farm", type=Path, help="farm YAML of gem5 hosts (for --timing gem5)")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--time-limit", type=float, default=10.0, help="CPU seconds per test")
    run.add_argument("--memory-limit", type=int, default=1024, help="MiB per test")
    run.add_argument("--indices", type=parse_indices, help="run only these tests, e.g. 0,3,5")
    run.add_argument("--check", choices=[m.value for m in CheckMode], default="pie")

    demo = commands.add_parser("demo", help="evaluate the bundled demo problems end to end")
    demo.add_argument("--json", action="store_true")

    commands.add_parser("doctor", help="which sandbox mechanisms this host has")
    _cli_benchmark.add_parsers(commands)
    _farm_cli.add_parsers(commands)

    cache = commands.add_parser("cache", help="inspect, export or clear the result cache")
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("stats", help="rows per table and bytes on disk")
    actions.add_parser("clear", help="delete the cached results (they are computed again)")
    export = actions.add_parser("export", help="every cached row as JSON lines")
    export.add_argument("file", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return anyio.run(until_signalled, lambda: _run(args))
        if args.command == "demo":
            return anyio.run(until_signalled, lambda: _demo(args))
        if args.command == "cache":
            return _cache_command(args)
        if args.command == "evaluate":
            return _cli_benchmark.evaluate_command(args)
        if args.command == "report":
            return _cli_benchmark.report_command(args)
        if args.command == "farm":
            return _farm_cli.farm_command(args)
        return _doctor.main(args.cache)
    except PieError as error:
        print(f"pie: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pie: interrupted", file=sys.stderr)
        return 130


async def _run(args: argparse.Namespace) -> int:
    if not args.source.is_file():
        print(f"pie: source file {args.source} not found", file=sys.stderr)
        return EXIT_USAGE
    limits = Limits(time=args.time_limit, memory_mib=args.memory_limit)
    async with Evaluator(
        cache_dir=args.cache,
        limits=limits,
        check=args.check,
        timing=args.timing,
        concurrency=None,
        farm=args.farm,
    ) as evaluator:
        result = await evaluator.evaluate(args.source, args.tests, indices=args.indices)
    if args.json:
        print(json.dumps(result.to_json()))
        return EXIT_OK
    print(_summary(result))
    return EXIT_OK if result.ok else EXIT_FAILED


def _cache_command(args: argparse.Namespace) -> int:
    path = (args.cache or default_cache_dir()) / CACHE_FILE
    if args.action == "clear":
        clear_cache(path)
        print(f"cleared {path}")
        return EXIT_OK
    store = ResultCache(path)
    try:
        if args.action == "stats":
            for name, value in store.stats().items():
                print(f"{name:9s} {value}")
            print(f"file      {path}")
        else:
            with args.file.open("w", encoding="utf-8") as handle:
                count = 0
                for row in store.export():
                    handle.write(json.dumps(row) + "\n")
                    count += 1
            print(f"wrote {count} rows to {args.file}")
    finally:
        store.close()
    return EXIT_OK


def _summary(result: Evaluation) -> str:
    lines = [f"{result.verdict.value}  accuracy {result.accuracy:.3f}  ({len(result.tests)} tests)"]
    compiled = result.compile
    lines.append(
        f"compile: {'ok' if compiled.ok else 'failed'} in {compiled.seconds:.2f} s"
        f"{' (cached)' if compiled.cached else ''}"
    )
    if not compiled.ok:
        lines.append(compiled.message.rstrip())
    failing = [t for t in result.tests if t.verdict.value != "AC"]
    for test in failing[:5]:
        lines.append(
            f"  test {test.index}: {test.verdict.value} (cpu {test.cpu_seconds:.3f} s, "
            f"exit {test.exit_code}, signal {test.signal})"
        )
    if result.tests:
        cpu = sum(t.cpu_seconds for t in result.tests)
        peak = max(t.max_rss_kib for t in result.tests)
        lines.append(f"cpu {cpu:.3f} s over all tests, peak memory {peak / 1024:.1f} MiB")
    if result.timing:
        lines.append(
            f"timing ({result.timing.backend}): {result.timing.total:g} {result.timing.unit}"
        )
    lines.append(f"sandbox: {result.sandbox}")
    return "\n".join(lines)


async def _demo(args: argparse.Namespace) -> int:
    root = demo_root()
    rows = list(read_jsonl(root / "problems.jsonl"))
    submissions = [
        Submission(row[f"{role}_code"], problem_id=row["problem_id"], label=f"{i}:{role}")
        for i, row in enumerate(rows)
        for role in ("src", "tgt")
    ]
    by_label: dict[str, Evaluation] = {}
    timing = "cachegrind" if valgrind_available() else "none"
    async with Evaluator(tests_root=root / "tests", cache_dir=args.cache, timing=timing) as ev:
        async for result in ev.stream(submissions):
            by_label[str(result.label)] = result
        sandbox = ev.sandbox.host.summary
    results = []
    for submission in submissions:
        label = str(submission.label)
        row = rows[int(label.split(":", maxsplit=1)[0])]
        role = label.split(":")[1]
        results.append(
            {
                "problem_id": row["problem_id"],
                "role": role,
                "pie_gem5_speedup": row.get("speedup") if role == "tgt" else None,
                **_demo_cells(by_label[label]),
            }
        )
    if args.json:
        print(json.dumps(results))
        return EXIT_OK if all(r["verdict"] == "AC" for r in results) else EXIT_FAILED
    print(_demo_table(results))
    if timing == "none":
        print("\ntiming: valgrind not found, no instruction counts (apt-get install valgrind)")
    else:
        print(
            "\ninstructions, est. cycles: valgrind (callgrind, Skylake-like caches); startup: "
            "share of instructions outside main();\nspeedup: slow/fast estimated cycles; "
            "PIE gem5: the speedup PIE recorded with gem5 on its own (larger) test set"
        )
    print(f"sandbox: {sandbox}  (details: pie doctor)")
    return EXIT_OK if all(r["verdict"] == "AC" for r in results) else EXIT_FAILED


def _demo_cells(result: Evaluation) -> dict[str, object]:
    timing = result.timing
    cycles = timing.measure("estimated_cycles") if timing else None
    startup = timing.measure("startup_share") if timing else None
    return {
        "verdict": result.verdict.value,
        "tests": len(result.tests),
        "accuracy": round(result.accuracy, 3),
        "cpu_seconds": round(sum(t.cpu_seconds for t in result.tests), 4),
        "instructions": timing.total if timing else None,
        "estimated_cycles": cycles.total if cycles else None,
        "startup_share": round(startup.total, 3) if startup else None,
    }


_DEMO_HEADER = (
    "problem",
    "program",
    "verdict",
    "tests",
    "accuracy",
    "cpu s",
    "instructions",
    "est. cycles",
    "startup",
    "speedup",
    "PIE gem5",
)


def _demo_table(results: list[dict[str, Any]]) -> str:
    table = [_DEMO_HEADER]
    slow_cycles: dict[str, float | None] = {}
    for r in results:
        cycles = r["estimated_cycles"]
        if r["role"] == "src":
            slow_cycles[r["problem_id"]] = cycles
        base = slow_cycles.get(r["problem_id"])
        speedup = f"{base / cycles:.2f}x" if r["role"] == "tgt" and base and cycles else ""
        recorded = r["pie_gem5_speedup"]
        table.append((
            r["problem_id"], "slow (src)" if r["role"] == "src" else "fast (tgt)",
            r["verdict"], str(r["tests"]), f"{r['accuracy']:.3f}", f"{r['cpu_seconds']:.4f}",
            _count(r["instructions"]), _count(cycles),
            f"{r['startup_share']:.0%}" if r["startup_share"] is not None else "-",
            speedup, f"{recorded:.2f}x" if recorded else "",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(_DEMO_HEADER))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def _count(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, float) and value != float("inf") else "-"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
