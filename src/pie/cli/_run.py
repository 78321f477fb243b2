"""``pie run SOURCE.cpp --tests DIR``: one program, human summary or one JSON object."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio

from pie._check import CheckMode
from pie._data import parse_indices
from pie._evaluator import Evaluator
from pie._interrupt import until_signalled
from pie._json import dumps
from pie._model import Evaluation, Limits, Timing
from pie._timing import TIMINGS
from pie.cli._exit import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def add_parser(commands: Any) -> None:
    run = commands.add_parser("run", help="evaluate one C++ program on a test folder")
    run.add_argument("source", type=Path, help="C++ source file")
    run.add_argument("--tests", type=Path, required=True, help="folder of input.N.txt/output.N.txt")
    run.add_argument("--timing", choices=TIMINGS, default="none")
    run.add_argument("--farm", type=Path, help="farm YAML of gem5 hosts (for --timing gem5)")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--time-limit", type=float, default=10.0, help="CPU seconds per test")
    run.add_argument("--memory-limit", type=int, default=1024, help="MiB per test")
    run.add_argument("--indices", type=parse_indices, help="run only these tests, e.g. 0,3,5")
    run.add_argument(
        "--check",
        choices=[m.value for m in CheckMode],
        default=CheckMode.STRICT.value,
        help="strict: a judge, tokens must be identical (default); pie: PIE's rule, for parity "
        "with the paper (accepts some wrong answers, see docs/SECURITY.md)",
    )
    run.set_defaults(handler=lambda args: anyio.run(until_signalled, lambda: _run(args)))


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
        print(dumps(result.to_json()))
        return EXIT_OK
    print(_summary(result))
    return EXIT_OK if result.ok else EXIT_FAILED


def _timing_line(timing: Timing) -> str:
    line = f"timing ({timing.backend}): {timing.total:g} {timing.unit}"
    quantity = timing.quantity
    if quantity is not None:
        spearman = quantity.agreement.get("spearman")
        line += f" ({quantity.name} v{quantity.version}, calibrated on PIE's gem5 runtimes"
        line += f"; leave-one-problem-out Spearman {spearman:.3f})" if spearman else ")"
    share = timing.measure("startup_share")
    if share is not None:
        line += f"; {share.total:.0%} of instructions outside main"
    return line


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
        lines.append(_timing_line(result.timing))
    lines.append(f"sandbox: {result.sandbox}")
    return "\n".join(lines)
