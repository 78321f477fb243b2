"""``pie run SOURCE.cpp --tests DIR``: one program, human summary or one JSON object."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import anyio

import pie
from pie.cli._exit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ShowDefaults
from pie.cli._interrupt import until_signalled

SHOWN_FAILURES = 5
_DEFAULTS = pie.Limits()


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser(
        "run",
        help="evaluate one C++ program on a test folder",
        description="Compile SOURCE, run it on every test in the sandbox, check the outputs and "
        "time it when all pass. Exit status: 0 accepted (or --json printed), 1 not accepted, "
        "2 could not run (the reason on stderr).",
        formatter_class=ShowDefaults,
        parents=[common],
    )
    run.add_argument("source", type=Path, help="C++ source file")
    run.add_argument("--tests", type=Path, required=True, help="folder of input.N.txt/output.N.txt")
    run.add_argument(
        "--timing",
        # no argparse choices: the evaluator names what replaces a removed backend
        metavar="{" + ",".join(pie.TIMINGS) + "}",
        default="none",
        help="timing backend, used when every test passes: "
        + "; ".join(
            f"{name}: {summary}" for name, summary in pie.TIMINGS.items() if name != "none"
        ),
    )
    run.add_argument("--farm", type=Path, help="farm YAML of gem5 hosts (for --timing gem5)")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument(
        "--time-limit", type=float, default=_DEFAULTS.time_limit, help="CPU seconds per test"
    )
    run.add_argument(
        "--memory-limit", type=int, default=_DEFAULTS.memory_limit, help="MiB per test"
    )
    run.add_argument(
        "--toolchain-root",
        type=Path,
        metavar="DIR",
        help="compile with the g++, headers and libraries of the system rooted at DIR (e.g. a "
        "gem5 host's root, for binaries that load under its older glibc)",
    )
    run.add_argument("--indices", type=parse_indices, help="run only these tests, e.g. 0,3,5")
    run.add_argument(
        "--check",
        choices=[mode.value for mode in pie.CheckMode],
        default=pie.CheckMode.STRICT.value,
        help="strict: a judge, tokens must be identical; pie: PIE's rule, for parity with the "
        "paper (accepts some wrong answers, see docs/SECURITY.md)",
    )
    run.set_defaults(handler=lambda args: anyio.run(until_signalled, lambda: _run(args)))


async def _run(args: argparse.Namespace) -> int:
    if not args.source.is_file():
        print(f"pie: source file {args.source} not found", file=sys.stderr)
        return EXIT_USAGE
    limits = pie.Limits(time_limit=args.time_limit, memory_limit=args.memory_limit)
    async with pie.Evaluator(
        cache_dir=args.cache_dir,
        compile_options=pie.CompileOptions(toolchain_root=args.toolchain_root),
        limits=limits,
        check=args.check,
        timing=args.timing,
        farm=args.farm,
    ) as evaluator:
        result = await evaluator.evaluate(args.source, args.tests, indices=args.indices)
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
        return EXIT_OK
    print(summary(result))
    return EXIT_OK if result.ok else EXIT_FAILED


def parse_indices(text: str) -> list[int]:
    """``"0,3,5"`` -> ``[0, 3, 5]``, with an error that says what was wrong."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise pie.InputError(
            f"--indices {text!r} is not a comma-separated list of test numbers (e.g. 0,3,5)"
        ) from None
    if not values or any(v < 0 for v in values):
        raise pie.InputError(f"--indices {text!r} must list test numbers >= 0, e.g. 0,3,5")
    return values


def how_it_ended(test: pie.TestResult) -> str:
    """``exit 3``, ``killed by SIGSEGV``, or the sandbox's reason (which system call it refused),
    never ``exit None, signal 11``."""
    if test.reason:
        return test.reason
    if test.signal is not None:
        try:
            name = signal.Signals(test.signal).name
        except ValueError:
            name = f"signal {test.signal}"
        return f"killed by {name}"
    return f"exit {test.exit_code}"


def amount(value: float, unit: str) -> str:
    """Large quantities (counts, and the cycle model's estimates, which are fractional) as whole
    numbers with separators, small ones (seconds) with 6 significant digits: never
    ``1.37033e+06 cycles``."""
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.6g} {unit}"


def timing_line(timing: pie.Timing) -> str:
    if timing.error:
        return f"timing ({timing.backend}): not measured: {timing.error}"
    line = f"timing ({timing.backend}): {amount(timing.total, timing.unit)}"
    quantity = timing.quantity
    if quantity is not None:
        spearman = quantity.agreement.get("spearman")
        line += f" ({quantity.name} v{quantity.version}, calibrated on PIE's gem5 runtimes"
        line += f"; leave-one-problem-out Spearman {spearman:.3f})" if spearman else ")"
    share = timing.measure("startup_share")
    if share is not None:
        line += f"; {share.total:.0%} of instructions outside main"
    return line


def summary(result: pie.Evaluation) -> str:
    compiled = result.compile
    head = f"{result.verdict.value}  accuracy {result.accuracy:.3f}"
    count = len(result.tests)
    tests = f"{count} test" + ("" if count == 1 else "s")
    lines = [head if result.verdict is pie.Verdict.CE else f"{head}  ({tests})"]
    lines.append(
        f"compile: {'ok' if compiled.ok else 'failed'} in {compiled.seconds:.2f} s"
        f"{' (cached)' if compiled.cached else ''}"
    )
    if not compiled.ok:
        lines.append(compiled.message.rstrip())
    failing = [t for t in result.tests if t.verdict is not pie.Verdict.AC]
    for test in failing[:SHOWN_FAILURES]:
        lines.append(
            f"  test {test.index}: {test.verdict.value} (cpu {test.cpu_seconds:.3f} s, "
            f"{how_it_ended(test)})"
        )
    if len(failing) > SHOWN_FAILURES:
        lines.append(f"  ... {len(failing) - SHOWN_FAILURES} more failing tests (--json lists all)")
    if result.tests:
        cpu = sum(t.cpu_seconds for t in result.tests)
        peak = max(t.max_rss_kib for t in result.tests)
        lines.append(f"cpu {cpu:.3f} s over all tests, peak memory {peak / 1024:.1f} MiB")
    if result.timing:
        lines.append(timing_line(result.timing))
    lines.append(f"sandbox: {result.sandbox}")
    return "\n".join(lines)
