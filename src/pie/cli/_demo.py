"""``pie demo``: the bundled problems end to end, with embedded defaults."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable
from typing import Any

import anyio

import pie
from pie.cli._exit import EXIT_FAILED, EXIT_OK
from pie.cli._interrupt import until_signalled


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        help="evaluate the bundled demo problems end to end",
        description="Compile, check and time the slow and fast program of each bundled PIE "
        "problem and print them side by side. Exit status 0 when every program is accepted.",
        parents=[common],
    )
    demo.add_argument(
        "--json", action="store_true", help="print the results as one JSON list on stdout"
    )
    demo.set_defaults(handler=lambda args: anyio.run(until_signalled, lambda: _demo(args)))


async def _demo(args: argparse.Namespace) -> int:
    problems = pie.demo_problems()
    submissions = [
        pie.Submission(code, tests=problem.tests, label=f"{i}:{role}")
        for i, problem in enumerate(problems)
        for role, code in (("src", problem.src_code), ("tgt", problem.tgt_code))
    ]
    by_label: dict[str, pie.Evaluation] = {}
    timing = pie.default_local_timing(fallback="none")
    async with pie.Evaluator(cache_dir=args.cache_dir, timing=timing) as ev:
        async for result in ev.stream(submissions):
            by_label[str(result.label)] = result
    sandbox = by_label[str(submissions[0].label)].sandbox
    results = []
    for submission in submissions:
        label = str(submission.label)
        problem = problems[int(label.split(":", maxsplit=1)[0])]
        role = label.split(":")[1]
        results.append(
            {
                "problem_id": problem.problem_id,
                "role": role,
                "pie_gem5_speedup": problem.pie_gem5_speedup if role == "tgt" else None,
                **_demo_cells(by_label[label]),
            }
        )
    if args.json:
        print(json.dumps(results, allow_nan=False))
        return EXIT_OK if all(r["verdict"] == "AC" for r in results) else EXIT_FAILED
    print(_demo_table(results))
    if timing == "none":
        print("\ntiming: qemu-user not found, no counts (apt-get install qemu-user)")
    else:
        print(_demo_legend(by_label.values()))
    print(f"sandbox: {sandbox}  (details: pie doctor)")
    return EXIT_OK if all(r["verdict"] == "AC" for r in results) else EXIT_FAILED


def _demo_legend(results: Iterable[pie.Evaluation]) -> str:
    quantity = next((r.timing.quantity for r in results if r.timing and r.timing.quantity), None)
    if quantity is None:
        return "\ncycles: no program was timed"
    agreement = quantity.agreement
    return (
        "\ninstructions: counted by pie's plugin under qemu-user, on one fixed CPU model "
        "(gem5's feature set) with Skylake-like caches; cycles: "
        f"{quantity.name} v{quantity.version}, a model of gem5's cycles calibrated on PIE's "
        f"gem5 runtimes (leave-one-problem-out Spearman {agreement['spearman']:.3f} on "
        f"{agreement['rows']} PIE rows);\nstartup: share of instructions before the program's "
        "own code runs; "
        "speedup: slow/fast cycles; PIE gem5: the speedup PIE recorded with gem5 on its own "
        "(larger) test set"
    )


def _demo_cells(result: pie.Evaluation) -> dict[str, object]:
    timing = result.timing
    instructions = timing.measure("instructions") if timing else None
    startup = timing.measure("startup_share") if timing else None
    return {
        "verdict": result.verdict.value,
        "tests": len(result.tests),
        "accuracy": round(result.accuracy, 3),
        "cpu_seconds": round(sum(t.cpu_seconds for t in result.tests), 4),
        "instructions": _finite(instructions.total) if instructions else None,
        "cycles": _finite(timing.total) if timing else None,
        "startup_share": round(startup.total, 3) if startup else None,
    }


def _finite(value: float) -> float | None:
    """A count that could not be made is null in the JSON, never Infinity (RFC 8259)."""
    return value if math.isfinite(value) else None


_DEMO_HEADER = (
    "problem",
    "program",
    "verdict",
    "tests",
    "accuracy",
    "cpu s",
    "instructions",
    "cycles",
    "startup",
    "speedup",
    "PIE gem5",
)


def _demo_table(results: list[dict[str, Any]]) -> str:
    table = [_DEMO_HEADER]
    slow_cycles: dict[str, float | None] = {}
    for r in results:
        cycles = r["cycles"]
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
