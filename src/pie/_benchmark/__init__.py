"""``pie evaluate``: a PIE benchmark run, resumable, with PIE's output files and metrics.

The run reads the rows into a plan, evaluates every distinct program through the Evaluator
(compile, sandboxed tests, check, time; all cached), journals each finished program, and writes
PIE's files from the plan and the journal, so an interrupted run resumed later ends with the
same files as one that never stopped.
"""

from __future__ import annotations

import collections
import math
import platform
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import attrs

from pie import _metrics
from pie._benchmark._journal import FOLDER, Journal, Outcome
from pie._benchmark._outputs import Results, metrics_of, write_outputs
from pie._benchmark._plan import Issue, Plan, PlannedRow, make_plan
from pie._benchmark._startup import startup_dominated
from pie._compile import CompileOptions
from pie._config import BenchmarkConfig, load_config, parse_config
from pie._errors import InputError, PieError, RunStopped
from pie._evaluator import Evaluator, Submission
from pie._files import write_atomically
from pie._json import dumps
from pie._model import Evaluation, Limits, Verdict
from pie._paths import default_cache_dir, farm_status_path
from pie._public import public
from pie._sandbox import Sandbox
from pie._timing import default_local_timing
from pie._timing._cycles import model_for

RUN_FILE = "run.json"
CONFIG_FILE = "config.json"  # in the journal's folder
HEADLINE = (
    "is_correct_best@{k}",
    "mean_speedup_best@{k}",
    "percent_programs_speedup_best@{k}>=speedup_threshold_1.1",
)

ProgressHook = Callable[[Outcome], None]


@public
@attrs.frozen
class BenchmarkPlan:
    """What ``Benchmark.prepare`` found before anything runs: how many distinct programs the
    rows hold, the outcomes an earlier run of the same ``output_dir`` already saved (a resumed
    run starts from them), and the input problems the run goes on without."""

    programs: int
    finished: tuple[Outcome, ...]
    issues: tuple[Issue, ...]


@public
@attrs.frozen
class RowResult:
    """One row, as soon as all its programs are done (for RL pipelines that stream)."""

    position: int
    problem_id: str
    src_runtime: float  # NaN when unknown
    tgt_runtime: float
    candidates: tuple[Outcome | None, ...]
    speedup_best: tuple[float, ...]  # best@1, best@2, ... (PIE's floored speedup)


@public
@attrs.frozen
class BenchmarkResult:
    aggregated: dict[str, float]
    rows: list[dict[str, Any]]  # PIE's per-row metric columns
    intervals: dict[str, tuple[float, float]]
    verdicts: dict[str, dict[str, int]]  # per role: src, tgt, generated
    issues: tuple[Issue, ...]
    backend: str
    unit: str | None
    output_dir: Path
    quantity: dict[str, Any] | None  # the cycle model that made the runtimes, when one did
    startup_dominated: dict[str, Any]  # speedups mostly from start-up, per speedup column


def timing_backend(config: BenchmarkConfig) -> str:
    if config.timing is not None:
        return config.timing
    return default_local_timing(fallback="wall")


def quantity_of(backend: str) -> dict[str, Any] | None:
    model = model_for(backend)
    return model.quantity().to_json() if model is not None else None


def outcome_of(evaluation: Evaluation) -> Outcome:
    timing = evaluation.timing
    timed = timing is not None and timing.error is None and math.isfinite(timing.total)
    per_test: dict[str, float] = {}
    if timing is not None and timed:
        indices = [t.index for t in evaluation.tests]
        per_test = {str(i): v for i, v in zip(indices, timing.per_test, strict=False)}
    error = evaluation.error or (timing.error if timing is not None else None)
    startup = timing.measure("startup_share") if timing is not None else None
    return Outcome(
        verdict=evaluation.verdict.value,
        accuracy=evaluation.accuracy,
        compiled=evaluation.compile.ok,
        runtime=timing.total if timing is not None and timed else None,
        per_test=per_test,
        unit=timing.unit if timing is not None else None,
        error=error,
        test_verdicts=dict(collections.Counter(t.verdict.value for t in evaluation.tests)),
        startup_share=startup.total if startup is not None and timed else None,
    )


@public
class Benchmark:
    """``async for row in Benchmark(config).rows(): ...``; ``result`` once exhausted."""

    def __init__(
        self, config: BenchmarkConfig | str | Path, *, progress: ProgressHook | None = None
    ) -> None:
        self.config = config if isinstance(config, BenchmarkConfig) else load_config(Path(config))
        self.backend = timing_backend(self.config)
        self.progress = progress
        self._plan: Plan | None = None
        self._journal: Journal | None = None
        self.result: BenchmarkResult | None = None
        # the sandbox the evaluations name (a fresh probe, or for an answer wholly from pie's
        # cache the last one recorded); None when every program came from the journal
        self.sandbox: str | None = None

    @property
    def farm_status_file(self) -> Path | None:
        """The status file this process's gem5 farm writes while the run goes (``pie farm
        status`` reads it); None when the run times without a farm."""
        if self.backend != "gem5":
            return None
        return farm_status_path(self.config.cache_dir or default_cache_dir())

    @property
    def evaluates_src_tgt(self) -> bool:
        """Units never mix: recorded gem5 runtimes are reused only when timing is gem5."""
        return self.config.redo_src_tgt or self.backend != "gem5"

    def settings(self) -> dict[str, Any]:
        """What decides a program's result; a resumed run must use the same."""
        cfg = self.config
        model = model_for(self.backend)
        return {
            "timing": self.backend,
            # a resumed run must not mix the cycles of two models (or cycles with instructions)
            "quantity": model.key if model is not None else None,
            "farm": str(cfg.farm) if cfg.farm else None,
            "time_limit": cfg.time_limit,
            "memory_limit": cfg.memory_limit,
            "checker": cfg.checker,
            "threshold_accuracy": cfg.threshold_accuracy,
            "testcases_dir": str(self.tests_root().resolve()),
        }

    def tests_root(self) -> Path:
        if self.config.testcases_dir is None:
            raise InputError(
                "the config has no 'testcases_dir': add the folder holding "
                "<problem_id>/input.N.txt and output.N.txt (PIE hard-codes its image's folder)"
            )
        if not self.config.testcases_dir.is_dir():
            raise InputError(f"testcases_dir {self.config.testcases_dir} is not a folder")
        return self.config.testcases_dir

    def prepare(self) -> BenchmarkPlan:
        """Check inputs and load what an earlier run finished; nothing runs yet."""
        settings = self.settings()
        plan = self._plan = make_plan(self.config, self.evaluates_src_tgt)
        self.config.output_dir.mkdir(parents=True, exist_ok=True)
        self._journal = Journal(self.config.output_dir, settings)
        done = self._journal.open()
        write_atomically(self._journal.path.parent / CONFIG_FILE, dumps(self.absolute_config()))
        return BenchmarkPlan(
            programs=len(plan.programs),
            finished=tuple(done[p.key] for p in plan.programs if p.key in done),
            issues=plan.issues,
        )

    @property
    def saved(self) -> int:
        """How many of the plan's programs are saved in ``output_dir`` so far (a resumed run
        skips them); 0 before ``prepare``."""
        if self._plan is None or self._journal is None:
            return 0
        done = self._journal.done  # an input problem (IE) is kept in memory only: retried
        return sum(
            p.key in done and done[p.key].verdict != Verdict.IE.value for p in self._plan.programs
        )

    def absolute_config(self) -> dict[str, Any]:
        """The config with absolute paths, so ``pie report`` can read a partial run."""
        return {
            key: str(Path(value).resolve())
            if isinstance(getattr(self.config, key), Path)
            else value
            for key, value in self.config.to_json().items()
        }

    def compile_options(self) -> CompileOptions:
        return CompileOptions(toolchain_root=self.config.toolchain_root)

    def evaluator(self) -> Evaluator:
        cfg = self.config
        options: dict[str, Any] = {}
        if cfg.farm is not None:
            options["farm"] = cfg.farm
        return Evaluator(
            tests_root=self.tests_root(),
            cache_dir=cfg.cache_dir,
            compile_options=self.compile_options(),
            concurrency=cfg.concurrency,
            limits=Limits(time_limit=cfg.time_limit, memory_limit=cfg.memory_limit),
            check=cfg.checker,
            timing=self.backend,
            threshold_accuracy=cfg.threshold_accuracy,
            **options,
        )

    async def rows(self) -> AsyncIterator[RowResult]:
        if self._plan is None or self._journal is None:
            self.prepare()
        assert self._plan is not None and self._journal is not None
        plan, done, journal = self._plan, self._journal.done, self._journal
        waiting = _RowTracker(plan, done)
        try:
            for row in waiting.ready_rows():
                yield self._row_result(row, done)
            pending = [p for p in plan.programs if p.key not in done]
            # (program, reason) of infrastructure failures: once there is one, no new program
            # starts; those in flight finish (and are kept), then the run stops, resumable
            failures: list[tuple[str, str]] = []
            if pending:
                async with self.evaluator() as evaluator:
                    submissions = (
                        Submission(p.code, problem_id=p.problem_id, label=p.key, indices=p.indices)
                        for p in pending
                        if not failures
                    )
                    async for evaluation in evaluator.stream(submissions):
                        assert evaluation.label is not None
                        self.sandbox = evaluation.sandbox or self.sandbox
                        outcome = outcome_of(evaluation)
                        if self.progress is not None:
                            self.progress(outcome)
                        if evaluation.infrastructure:  # not kept: evaluated again on resume
                            failures.append((evaluation.label, evaluation.error or ""))
                            continue
                        if evaluation.verdict is Verdict.IE:
                            done[evaluation.label] = outcome  # input problem: retried on resume
                        else:
                            journal.record(evaluation.label, outcome)
                        for row in waiting.finished(evaluation.label):
                            yield self._row_result(row, done)
            if failures:
                raise RunStopped(failures)
        finally:
            journal.close()
        self.result = self._finish(plan, done)

    def _row_result(self, row: PlannedRow, done: dict[str, Outcome]) -> RowResult:
        results = Results(done)
        metric_row = results.metric_row(row)
        k = len(row.candidates)
        return RowResult(
            position=row.position,
            problem_id=row.problem_id,
            src_runtime=metric_row.src_runtime,
            tgt_runtime=metric_row.tgt_runtime,
            candidates=tuple(results.of(c) for c in row.candidates),
            speedup_best=tuple(
                _metrics.best_at(metric_row, i, self.config.threshold_accuracy).speedup
                for i in range(1, k + 1)
            ),
        )

    def _finish(self, plan: Plan, done: dict[str, Outcome]) -> BenchmarkResult:
        aggregated, columns = write_outputs(plan, done, self.config)
        unit = next((o.unit for o in done.values() if o.unit), None)
        result = BenchmarkResult(
            aggregated=aggregated,
            rows=columns,
            intervals=intervals(columns, plan.num_generated),
            verdicts=verdict_counts(plan, done),
            issues=plan.issues,
            backend=self.backend,
            unit=unit,
            output_dir=self.config.output_dir,
            quantity=quantity_of(self.backend),
            startup_dominated=startup_dominated(
                plan, Results(done), self.config.threshold_accuracy
            ),
        )
        write_atomically(self.config.output_dir / RUN_FILE, run_record(self, plan, result))
        return result


@attrs.frozen
class Snapshot:
    """Metrics of a run as far as it got (unfinished programs count as failed)."""

    aggregated: dict[str, float]
    rows: list[dict[str, Any]]
    programs_done: int
    programs: int
    verdicts: dict[str, dict[str, int]]


def snapshot(output_dir: Path) -> Snapshot:
    """Read a run's journal without running anything, for ``pie report`` on a partial run."""
    saved = output_dir / FOLDER / CONFIG_FILE
    if not saved.is_file():
        raise InputError(
            f"{output_dir} holds no pie run (no {FOLDER}/{CONFIG_FILE}); "
            "pass the output_dir of a 'pie evaluate' run"
        )
    benchmark = Benchmark(parse_config(saved.read_text(encoding="utf-8"), str(saved)))
    plan = make_plan(benchmark.config, benchmark.evaluates_src_tgt)
    done = Journal(output_dir, benchmark.settings()).read()
    aggregated, columns = metrics_of(plan, Results(done), benchmark.config.threshold_accuracy)
    finished = sum(p.key in done for p in plan.programs)
    return Snapshot(aggregated, columns, finished, len(plan.programs), verdict_counts(plan, done))


class _RowTracker:
    """Which rows still wait for which programs."""

    def __init__(self, plan: Plan, done: dict[str, Outcome]) -> None:
        self.waiting: dict[int, set[str]] = {}
        self.users: dict[str, list[PlannedRow]] = collections.defaultdict(list)
        self.ready: list[PlannedRow] = []
        for row in plan.rows:
            keys = {e.program.key for e in row.entries() if e.program} - set(done)
            if not keys:
                self.ready.append(row)
                continue
            self.waiting[row.position] = keys
            for key in keys:
                self.users[key].append(row)

    def ready_rows(self) -> list[PlannedRow]:
        return self.ready

    def finished(self, key: str) -> list[PlannedRow]:
        complete = []
        for row in self.users.pop(key, []):
            keys = self.waiting[row.position]
            keys.discard(key)
            if not keys:
                del self.waiting[row.position]
                complete.append(row)
        return complete


def verdict_counts(plan: Plan, done: dict[str, Outcome]) -> dict[str, dict[str, int]]:
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    results = Results(done)
    for row in plan.rows:
        for role, entries in (
            ("src", [row.src]),
            ("tgt", [row.tgt]),
            ("generated", row.candidates),
        ):
            for entry in entries:
                if entry.program is None:
                    continue
                outcome = results.of(entry)
                counts[role][outcome.verdict if outcome else "missing"] += 1
    return {role: dict(sorted(c.items())) for role, c in counts.items()}


def intervals(columns: Sequence[dict[str, Any]], k_max: int) -> dict[str, tuple[float, float]]:
    """95% bootstrap intervals of the headline numbers (rows resampled; seeded)."""
    found: dict[str, tuple[float, float]] = {}
    for k in sorted({1, k_max}) if k_max else []:
        speedups = [r[f"speedup_best@{k}"] for r in columns]
        found[f"mean_speedup_best@{k}"] = _metrics.bootstrap_interval(speedups)
        found[f"is_correct_best@{k}"] = _metrics.bootstrap_interval(
            [float(r[f"is_correct_best@{k}"]) for r in columns]
        )
        found[f"percent_programs_speedup_best@{k}>=speedup_threshold_1.1"] = (
            _metrics.bootstrap_interval([float(s >= 1.1) for s in speedups])
        )
    return found


def compiler_version(options: CompileOptions) -> str:
    try:
        path = options.resolved_compiler()
    except PieError as error:
        return str(error)
    done = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else str(path)


def sandbox_summary(cache_dir: Path | None) -> str:
    """What the sandbox of this host does, probed with the launcher as the evaluator and
    ``pie doctor`` do (a resumed run that had nothing left to evaluate started none)."""
    sandbox = Sandbox(cache_dir or default_cache_dir(), slots=1)
    try:
        return sandbox.host.summary
    finally:
        sandbox.close()


def run_record(benchmark: Benchmark, plan: Plan, result: BenchmarkResult) -> str:
    """``run.json``: how the numbers were obtained, so a result can be cited."""
    record = {
        "pie_version": version("pie"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "compiler": compiler_version(benchmark.compile_options()),
        "sandbox": benchmark.sandbox or sandbox_summary(benchmark.config.cache_dir),
        "config": benchmark.config.to_json(),
        "settings": benchmark.settings(),
        "backend": result.backend,
        "unit": result.unit,
        "quantity": result.quantity,
        "startup_dominated": result.startup_dominated,
        "rows": len(plan.rows),
        "padding_rows": sum(r.padding for r in plan.rows),
        "rows_skipped_src_equals_tgt": plan.skipped_same,
        "programs": len(plan.programs),
        "num_generated": plan.num_generated,
        "verdicts": result.verdicts,
        "intervals_95": {k: list(v) for k, v in result.intervals.items()},
        "issues": [str(i) for i in plan.issues],
    }
    return dumps(record, indent=2) + "\n"


@public
async def evaluate_benchmark(
    config: BenchmarkConfig | str | Path, *, progress: ProgressHook | None = None
) -> BenchmarkResult:
    """Run (or resume) a benchmark to the end; PIE's files are written to ``output_dir``."""
    benchmark = Benchmark(config, progress=progress)
    async for _ in benchmark.rows():
        pass
    assert benchmark.result is not None
    return benchmark.result
