"""The ``pie`` command: ``run``, ``demo`` and ``doctor``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from pie import _doctor
from pie._check import CheckMode
from pie._data import demo_root, parse_indices, read_jsonl
from pie._errors import PieError
from pie._evaluator import Evaluator, Submission
from pie._model import Evaluation, Limits
from pie._timing import BACKENDS

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
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--time-limit", type=float, default=10.0, help="CPU seconds per test")
    run.add_argument("--memory-limit", type=int, default=1024, help="MiB per test")
    run.add_argument("--indices", type=parse_indices, help="run only these tests, e.g. 0,3,5")
    run.add_argument("--check", choices=[m.value for m in CheckMode], default="pie")

    demo = commands.add_parser("demo", help="evaluate the bundled demo problems end to end")
    demo.add_argument("--json", action="store_true")

    commands.add_parser("doctor", help="which sandbox mechanisms this host has")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return anyio.run(_run, args)
        if args.command == "demo":
            return anyio.run(_demo, args)
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
        cache_dir=args.cache, limits=limits, check=args.check, timing=args.timing, concurrency=None
    ) as evaluator:
        result = await evaluator.evaluate(args.source, args.tests, indices=args.indices)
    if args.json:
        print(json.dumps(result.to_json()))
        return EXIT_OK
    print(_summary(result))
    return EXIT_OK if result.ok else EXIT_FAILED


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
    async with Evaluator(tests_root=root / "tests", cache_dir=args.cache) as evaluator:
        async for result in evaluator.stream(submissions):
            by_label[str(result.label)] = result
        sandbox = evaluator.sandbox.host.summary
    results = [
        {
            "problem_id": rows[int(s.label.split(":")[0])]["problem_id"],
            "role": s.label.split(":")[1],
            **_demo_cells(by_label[s.label]),
        }
        for s in submissions
        if s.label is not None
    ]
    if args.json:
        print(json.dumps(results))
    else:
        print(_demo_table(results))
        print(f"\nsandbox: {sandbox}  (details: pie doctor)")
    return EXIT_OK if all(r["verdict"] == "AC" for r in results) else EXIT_FAILED


def _demo_cells(result: Evaluation) -> dict[str, object]:
    return {
        "verdict": result.verdict.value,
        "tests": len(result.tests),
        "accuracy": round(result.accuracy, 3),
        "cpu_seconds": round(sum(t.cpu_seconds for t in result.tests), 4),
        "compile_seconds": round(result.compile.seconds, 3),
        "compile_cached": result.compile.cached,
    }


def _demo_table(results: list[dict[str, object]]) -> str:
    header = (
        "problem",
        "program",
        "verdict",
        "tests",
        "accuracy",
        "cpu s (all tests)",
        "compile s",
    )
    rows = [header]
    for r in results:
        cached = " (cached)" if r["compile_cached"] else ""
        rows.append(
            (
                str(r["problem_id"]),
                "slow (src)" if r["role"] == "src" else "fast (tgt)",
                str(r["verdict"]),
                str(r["tests"]),
                f"{r['accuracy']:.3f}",
                f"{r['cpu_seconds']:.4f}",
                f"{r['compile_seconds']:.3f}{cached}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
