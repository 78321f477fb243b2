"""``pie evaluate CONFIG.yaml`` and ``pie report OUTPUT_DIR [OTHER_DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio

import pie
from pie.cli._exit import EXIT_INTERRUPTED, EXIT_STOPPED
from pie.cli._interrupt import until_signalled
from pie.cli._progress import make_progress

SHOWN_ISSUES = 10


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="PIE benchmark run from a gem5_eval.py-style YAML config (resumable)",
        description="Evaluate every program of a PIE run (src, tgt, generated candidates) and "
        "write PIE's files (test_results.jsonl, melted_test_results.jsonl, "
        "aggregated_results.csv, addtl_stats.jsonl) plus run.json and report.md to output_dir. "
        "Run the same command again to resume an interrupted run.",
        epilog="config keys: PIE's EvaluationConfig keys (model_generated_outputs_path, "
        "reference_file_path, output_dir, threshold_accuracy, ...) and pie's own (testcases_dir, "
        "timing, farm, toolchain_root, time_limit, memory_limit, checker, cache_dir, "
        "concurrency); the README's 'pie evaluate' section lists them with their defaults. "
        "Exit status: 0 done, 2 bad "
        "config or input, 75 stopped by an infrastructure failure (the sandbox, the disk: "
        "resumable), 130 interrupted (resumable).",
        parents=[common],
    )
    evaluate.add_argument("config", type=Path, help="YAML config (PIE's keys plus pie's)")
    evaluate.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display and no table on stdout (report.md and the plots are still "
        "written)",
    )
    evaluate.set_defaults(handler=evaluate_command)
    rep = commands.add_parser(
        "report",
        help="headline table and plots of one or two runs",
        description="The headline numbers of a finished or partial run (%%correct, mean "
        "speedup, %%Opt, best@k), with report.md and plots; with a second run, both side by "
        "side, written to report-vs-OTHER.md so that neither run's own report is replaced.",
        parents=[common],
    )
    rep.add_argument("output_dir", type=Path, help="the output_dir of a 'pie evaluate' run")
    rep.add_argument("other", type=Path, nargs="?", help="a second run, shown side by side")
    rep.set_defaults(handler=report_command)


def _print_issues(issues: tuple[pie.Issue, ...]) -> None:
    if not issues:
        return
    print(f"pie: {len(issues)} input problem(s); the run goes on without them:", file=sys.stderr)
    for issue in issues[:SHOWN_ISSUES]:
        print(f"  {issue}", file=sys.stderr)
    if len(issues) > SHOWN_ISSUES:
        print(f"  ... all {len(issues)} are listed in run.json", file=sys.stderr)


async def _drain(benchmark: pie.Benchmark) -> None:
    async for _ in benchmark.rows():
        pass


def evaluate_command(args: argparse.Namespace) -> int:
    benchmark = pie.Benchmark(pie.load_config(args.config))
    plan = benchmark.prepare()
    _print_issues(plan.issues)
    progress = make_progress(
        plan.programs, plan.finished, quiet=args.quiet, farm_status=benchmark.farm_status_file
    )
    benchmark.progress = progress

    def resume_hint(why: str) -> str:
        return (
            f"pie: {why}; {benchmark.saved}/{plan.programs} programs are saved in "
            f"{benchmark.config.output_dir}; run 'pie evaluate {args.config}' again to resume"
        )

    try:
        with progress:
            anyio.run(until_signalled, lambda: _drain(benchmark))
    except KeyboardInterrupt:
        print(resume_hint("interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except pie.RunStopped as stopped:
        for program, reason in stopped.failures[:SHOWN_ISSUES]:
            print(f"pie: IE {program}: {reason}", file=sys.stderr)
        print(resume_hint(str(stopped)), file=sys.stderr)
        return EXIT_STOPPED
    except BrokenPipeError:
        raise  # the reader left: the command's own concern (pie.cli.main)
    except (OSError, pie.SandboxError) as error:  # the run's own files or the sandbox itself
        print(
            resume_hint(f"infrastructure failure: {type(error).__name__}: {error}"), file=sys.stderr
        )
        return EXIT_STOPPED
    written = pie.report([benchmark.config.output_dir])  # --quiet too: report.md is a result
    if not args.quiet:
        print(written.text)
    if written.note:
        print(f"pie: {written.note}", file=sys.stderr)
    print(f"results written to {benchmark.config.output_dir}", file=sys.stderr)
    return 0


def report_command(args: argparse.Namespace) -> int:
    folders = [args.output_dir] + ([args.other] if args.other else [])
    written = pie.report(folders)
    print(written.text)
    if written.note:
        print(f"pie: {written.note}", file=sys.stderr)
    print(f"report written to {written.path}", file=sys.stderr)
    return 0
