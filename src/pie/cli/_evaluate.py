"""``pie evaluate CONFIG.yaml`` and ``pie report OUTPUT_DIR [OTHER_DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio

from pie._benchmark import Benchmark
from pie._config import load_config
from pie._errors import RunStopped, SandboxError
from pie._interrupt import until_signalled
from pie._paths import default_cache_dir, farm_status_path
from pie._progress import make_progress
from pie._report import report
from pie.cli._exit import EXIT_INTERRUPTED, EXIT_STOPPED

SHOWN_ISSUES = 10


def add_parser(commands: Any) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="PIE benchmark run from a gem5_eval.py-style YAML config (resumable)"
    )
    evaluate.add_argument("config", type=Path, help="YAML config (PIE's keys plus pie's)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress, no table")
    evaluate.set_defaults(handler=evaluate_command)
    rep = commands.add_parser("report", help="headline table and plots of one or two runs")
    rep.add_argument("output_dir", type=Path)
    rep.add_argument("other", type=Path, nargs="?", help="a second run, shown side by side")
    rep.set_defaults(handler=report_command)


def _print_issues(benchmark: Benchmark) -> None:
    assert benchmark.plan is not None
    issues = benchmark.plan.issues
    if not issues:
        return
    print(f"pie: {len(issues)} input problem(s); the run goes on without them:", file=sys.stderr)
    for issue in issues[:SHOWN_ISSUES]:
        print(f"  {issue}", file=sys.stderr)
    if len(issues) > SHOWN_ISSUES:
        print(f"  ... all {len(issues)} are listed in run.json", file=sys.stderr)


async def _drain(benchmark: Benchmark) -> None:
    async for _ in benchmark.rows():
        pass


def evaluate_command(args: argparse.Namespace) -> int:
    benchmark = Benchmark(load_config(args.config))
    plan, done = benchmark.prepare()
    _print_issues(benchmark)
    already = sum(p.key in done for p in plan.programs)
    farm_status = (
        farm_status_path(benchmark.config.cache or default_cache_dir())
        if benchmark.backend == "gem5"
        else None
    )
    progress = make_progress(len(plan.programs), already, quiet=args.quiet, farm_status=farm_status)
    benchmark.progress = progress

    def resume_hint(why: str) -> str:
        finished = sum(p.key in done for p in plan.programs)
        return (
            f"pie: {why}; {finished}/{len(plan.programs)} programs are saved in "
            f"{benchmark.config.output_dir}; run 'pie evaluate {args.config}' again to resume"
        )

    try:
        with progress:
            anyio.run(until_signalled, lambda: _drain(benchmark))
    except KeyboardInterrupt:
        print(resume_hint("interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except RunStopped as stopped:
        for program, reason in stopped.failures[:SHOWN_ISSUES]:
            print(f"pie: IE {program}: {reason}", file=sys.stderr)
        print(resume_hint(str(stopped)), file=sys.stderr)
        return EXIT_STOPPED
    except BrokenPipeError:
        raise  # the reader left: the command's own concern (pie.cli.main)
    except (OSError, SandboxError) as error:  # the run's own files or the sandbox itself
        print(
            resume_hint(f"infrastructure failure: {type(error).__name__}: {error}"), file=sys.stderr
        )
        return EXIT_STOPPED
    if not args.quiet:
        text, _ = report([benchmark.config.output_dir])
        print(text)
    print(f"results written to {benchmark.config.output_dir}", file=sys.stderr)
    return 0


def report_command(args: argparse.Namespace) -> int:
    folders = [args.output_dir] + ([args.other] if args.other else [])
    text, written = report(folders)
    print(text)
    print(f"report written to {written}", file=sys.stderr)
    return 0
