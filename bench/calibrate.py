"""Calibrate the local deterministic backend's cycle model on PIE's own gem5 numbers.

    python bench/calibrate.py [--data DIR] [--timing qemu] [--counts FILE]
                              [--remeasure] [--concurrency N]

1. measure: every distinct src/tgt program of ``pie_calibration.jsonl`` (653 verbatim PIE rows
   of 7 problems) is evaluated on its problem's tests with the local deterministic backend,
   through pie's public API; the per-program raw counts (instructions, cache misses, branch
   mispredictions, instructions in main, per test) go to a counts file, so a rerun or a refit
   costs nothing (``--remeasure`` measures again);
2. fit: a cycle model with a few per-event costs in cycles (no per-problem terms), by robust
   least squares on log speedups, every problem weighing alike, pulled weakly to Skylake-like
   costs, scaled by PIE's hello world (gem5's 3,510,913 cycles) and bounded by the core's
   width; the costs fitted on every row are printed as ``pie/_timing/_cycles.py`` holds them;
3. judge, leave one problem out: the model is fitted on six problems and scored on the rows of
   the seventh, for each of the seven; the table gives the same figures for every raw measure
   and for the model, side by side, plus the controls that show whether the model generalises
   (the same fit seeing the held-out problem, shuffled speedups, the spread of
   the parameters across folds, what each event adds, and what events it leaves out would add);
4. the fitted model on PIE rows of problems with no calibration row;
5. what limits the ranking: how large a difference between two rows of one problem the model
   orders as PIE, upper bounds that see PIE's answers (the best costs of any events chosen on
   each problem itself; PIE's mean runtime of the programs whose counts are the same here;
   PIE's own speedups with the noise PIE shows among such programs), and per problem the tests
   PIE's runtimes imply against the public tests here, and the rows ranked furthest from PIE's.

PIE's speedup of a row is ``src_agg_runtime / tgt_agg_runtime`` (simulated gem5 seconds summed
over PIE's ~100 merged tests); ours are ratios of counts on the 2-4 CodeNet public tests here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

import pie
from pie._hashing import sha256_bytes

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("PIE_SHARED_DATA", REPO.parent / "shared" / "data"))
ROWS_FILE = "pie_calibration.jsonl"
# PIE rows of the same source file whose problems have no calibration row: a check of the
# fitted model on problems that neither it nor its design ever saw
OTHER_ROWS_FILE = "problems.jsonl"
COUNTS_DIR = REPO / "bench" / "results"
OPT = 1.1  # PIE's %Opt threshold


# ---- data -----------------------------------------------------------------------------------


@attrs.frozen
class CalibrationRow:
    problem_id: str
    src: str  # sha256 of the source
    tgt: str
    src_runtime: float  # PIE's gem5 seconds, summed over PIE's tests of the problem
    tgt_runtime: float
    ids: tuple[str, str] = ("", "")  # CodeNet submission ids of src and tgt

    @property
    def pie_speedup(self) -> float:
        return self.src_runtime / self.tgt_runtime


def load_rows(
    data: Path, name: str = ROWS_FILE, leave_out: Collection[str] = ()
) -> tuple[list[CalibrationRow], dict[str, tuple[str, str]]]:
    """The rows (but those of problems in ``leave_out``), and every distinct program as
    sha256 -> (source, problem_id)."""
    rows, programs = [], {}
    for line in (data / name).read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if raw["problem_id"] in leave_out:
            continue
        shas = []
        for column in ("src_code", "tgt_code"):
            sha = sha256_bytes(raw[column].encode("utf-8"))
            programs[sha] = (raw[column], raw["problem_id"])
            shas.append(sha)
        runtimes = raw["src_agg_runtime"], raw["tgt_agg_runtime"]
        ids = raw.get("src_id", ""), raw.get("tgt_id", "")
        rows.append(CalibrationRow(raw["problem_id"], *shas, *runtimes, ids))
    return rows, programs


# ---- 1. measuring ---------------------------------------------------------------------------


def counts_key(timing: str) -> str:
    """What decides the raw counts of ``timing`` (not the cycle model that reads them): a counts
    file measured under another key is stale."""
    if timing == "qemu":
        from pie._paths import default_cache_dir  # noqa: PLC0415
        from pie._timing._plugin import emulator  # noqa: PLC0415
        from pie._timing._qemu import simulation_key  # noqa: PLC0415

        return simulation_key(emulator(default_cache_dir()))
    raise SystemExit(f"bench/calibrate.py does not know the counts key of timing {timing!r}")


def raw_counts(timing: pie.Timing) -> dict[str, list[float]]:
    """Per test, every raw count the backend reports (derived figures and models left out)."""
    counts = {m.name: list(m.per_test) for m in timing.measures if m.name in RAW_MEASURES}
    if "instructions" not in counts and timing.unit == "instructions":
        counts["instructions"] = list(timing.per_test)  # a backend whose primary is instructions
    share = timing.measure("startup_share")
    if "instructions_in_main" not in counts and share is not None and "instructions" in counts:
        counts["instructions_in_main"] = [
            round(i * (1.0 - s))
            for i, s in zip(counts["instructions"], share.per_test, strict=True)
        ]
    return counts


RAW_MEASURES = (
    "instructions",
    "instructions_in_main",
    "loads",
    "stores",
    "l1i_misses",
    "l1d_misses",
    "ll_misses",
    "branches",
    "mispredicts",
)


def stored_counts(path: Path) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """The counts file's key and its records by sha256 (none when there is no file)."""
    if not path.is_file():
        return None, {}
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0]) if lines else {}
    return header.get("counts_key"), {r["sha256"]: r for r in map(json.loads, lines[1:])}


def compare_counts(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], key: str | None
) -> None:
    """Whether a remeasure changed any program's counts: a plugin change that should not move
    them (a rename, a speed-up) is shown to leave them identical, or the programs it moved."""
    common = sorted(set(before) & set(after))
    moved = [sha for sha in common if before[sha].get("counts") != after[sha].get("counts")]
    print(f"  against the previous file (counts key {key!r}): {len(common) - len(moved)} of "
          f"{len(common)} programs' counts identical, {len(moved)} differ"
          + (f" (e.g. {', '.join(sha[:12] for sha in moved[:5])})" if moved else "")
          + f", {len(set(after) - set(before))} new")  # fmt: skip


def write_counts(path: Path, key: str, timing: str, records: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"counts_key": key, "timing": timing, "pie": pie.__version__}
    lines = [json.dumps(header)] + [
        json.dumps(records[sha], sort_keys=True) for sha in sorted(records)
    ]
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(path)


def record_of(sha: str, problem_id: str, result: pie.Evaluation) -> dict[str, Any]:
    timing = result.timing
    record: dict[str, Any] = {
        "sha256": sha,
        "problem_id": problem_id,
        "verdict": result.verdict.value,
        "tests": len(result.tests),
    }
    if timing is None:
        record["error"] = result.error or f"not timed (verdict {result.verdict.value})"
    elif timing.error:
        record["error"] = timing.error
    else:
        record["counts"] = raw_counts(timing)
    return record


def measuring(timing: str) -> str | pie.QemuConfig:
    """The timing to take raw counts with.  The shipped model is refused on counts of another
    plugin, which is what a refit is for: only the raw counts are kept here, so the model is
    re-keyed to the emulator at hand and its cycles are never read."""
    if timing != "qemu":
        return timing
    from pie._paths import default_cache_dir  # noqa: PLC0415
    from pie._timing._plugin import emulator  # noqa: PLC0415
    from pie._timing._qemu import QemuConfig  # noqa: PLC0415
    from pie._timing._qemu import counts_key as qemu_counts_key  # noqa: PLC0415

    fitted_on = qemu_counts_key(emulator(default_cache_dir()))
    return QemuConfig(model=attrs.evolve(QemuConfig().model, counts=fitted_on))


async def measure(
    todo: dict[str, tuple[str, str]], data: Path, timing: str, concurrency: int | None
) -> dict[str, dict[str, Any]]:
    shas = sorted(todo)
    done: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        hello_tests = Path(scratch)
        (hello_tests / "input.0.txt").write_text("")
        (hello_tests / "output.0.txt").write_text("Hello, World!\n")
        submissions = [
            pie.Submission(source, tests=hello_tests, label=sha)
            if problem == HELLO_PROBLEM
            else pie.Submission(source, problem_id=problem, label=sha)
            for sha in shas
            for source, problem in [todo[sha]]
        ]
        async with pie.Evaluator(
            tests_root=data / "tests", timing=measuring(timing), concurrency=concurrency
        ) as evaluator:
            async for result in evaluator.stream(submissions):
                assert result.label is not None
                done[result.label] = record_of(result.label, todo[result.label][1], result)
                if len(done) % 20 == 0:
                    rate = len(done) / (time.perf_counter() - started)
                    print(f"  measured {len(done)}/{len(shas)} ({rate:.2f} programs/s)", flush=True)
    return done


def measured_counts(
    data: Path, programs: dict[str, tuple[str, str]], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    key = counts_key(args.timing)
    path = args.counts or COUNTS_DIR / f"calibration-{args.timing}.jsonl"
    stored_key, stored = stored_counts(path)
    if stored and stored_key != key and not args.remeasure:
        print(f"  {path.name} was measured under {stored_key!r}, not {key!r}: measuring again")
    records = stored if stored_key == key and not args.remeasure else {}
    todo = {sha: p for sha, p in programs.items() if sha not in records}
    print(f"[1] counts: {len(programs)} distinct programs, {len(programs) - len(todo)} in "
          f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}, "
          f"{len(todo)} to measure with timing={args.timing!r}")  # fmt: skip
    if todo:
        started = time.perf_counter()
        records.update(anyio.run(measure, todo, data, args.timing, args.concurrency))
        write_counts(path, key, args.timing, records)
        print(f"  measured {len(todo)} programs in {time.perf_counter() - started:.0f} s")
        if stored and records is not stored:
            compare_counts(stored, records, stored_key)
    return records


# ---- 2. the cycle model and its fit -----------------------------------------------------------

# The model's events: cycles = Σ cost_e · count_e.  PRIOR holds the costs a Skylake-like core
# suggests (IPC 2; an L1 miss served by L2, latency 14 in PIE's gem5 config; an LL miss served by
# DRAM, ~60 ns at 3.5 GHz; a mispredict refills an ~18-stage pipeline).  The fit moves them only
# as far as PIE's numbers ask, against a weak pull (RIDGE) back to them: seven problems cannot
# pin four costs that move together (most misses are the cold misses of start-up).
PRIOR = {"instructions": 0.5, "l1_misses": 12.0, "ll_misses": 200.0, "mispredicts": 20.0}
EVENTS = tuple(PRIOR)
# Events the model leaves out, each tried as an extension (the table's "extension" rows, judged
# leave one problem out like the model), with the costs a Skylake-like core suggests: a load's or
# a store's own port beyond its instruction's share (2 load and 2 store ports of 8), a
# conditional branch's fetch redirect, and the L1 misses split by side (an instruction-fetch
# miss stalls the front end, a data miss is partly hidden by the out-of-order window).  None is
# in the model: none ranks better on the problems the fit does not see (README).
EXTENSIONS = {"loads": 0.25, "stores": 0.25, "branches": 0.25, "l1i_misses": 12.0,
              "l1d_misses": 12.0}  # fmt: skip
PRIORS = {**PRIOR, **EXTENSIONS}
RIDGE = 1e-3
SCALE_OF_LOSS = 0.1  # log-speedup errors past ~10% weigh linearly, not squared: outlier rows
ANCHOR_WEIGHT = 10.0  # the hello world's cycles are a near-hard constraint
MIN_CPI = 1 / 8  # PIE's VerbatimCPU commits at most 8 instructions a cycle
# the columns kept per program: the events, and measures judged but not modelled
COLUMNS = (*EVENTS, "l1i_misses", "l1d_misses", "loads", "stores", "branches",
           "instructions_in_main")  # fmt: skip
# gem5 (PIE's image) runs PIE's iostream hello world in 0.001004121118 s at 3.5 GHz, 286 ps a
# cycle (LearningOpt/pie gem5/api_pytest.py): the anchor of the model's absolute scale, which no
# speedup depends on
HELLO_WORLD = (
    "\n#include <iostream>\n\nint main() {\n"
    '    std::cout << "Hello, World!" << std::endl;\n    return 0;\n}\n'
)
HELLO_PROBLEM = "hello-world"  # no problem of PIE's: its one test is made here
HELLO_WORLD_CYCLES = 1_004_121_118 // 286


@attrs.frozen
class Program:
    """A measured program: its total of every event over its tests."""

    totals: dict[str, float]

    @classmethod
    def of(cls, record: dict[str, Any]) -> Program:
        totals = {name: float(sum(values)) for name, values in record["counts"].items()}
        if "l1_misses" not in totals:
            totals["l1_misses"] = totals["l1i_misses"] + totals["l1d_misses"]
        return cls(totals)

    def vector(self) -> list[float]:
        return [self.totals.get(e, 0.0) for e in COLUMNS]


@attrs.frozen
class Sample:
    """The rows the fit and the judge see: per row, both programs' event totals."""

    problems: list[str]
    pie: Any  # numpy arrays from here on
    src: Any
    tgt: Any
    hello: Any  # PIE's hello world's counts

    def take(self, mask: Any) -> Sample:
        return Sample([p for p, m in zip(self.problems, mask, strict=True) if m],
                      self.pie[mask], self.src[mask], self.tgt[mask], self.hello)  # fmt: skip


def kept_rows(rows: Sequence[CalibrationRow], programs: dict[str, Program]) -> list[CalibrationRow]:
    """The rows whose src and tgt were both timed, in the order of the sample's rows."""
    return [r for r in rows if r.src in programs and r.tgt in programs]


def sample_of(
    rows: Sequence[CalibrationRow], programs: dict[str, Program], hello: Program
) -> Sample:
    import numpy as np  # noqa: PLC0415

    kept = kept_rows(rows, programs)
    return Sample(
        [r.problem_id for r in kept],
        np.array([r.pie_speedup for r in kept]),
        np.array([programs[r.src].vector() for r in kept]),
        np.array([programs[r.tgt].vector() for r in kept]),
        np.array(hello.vector()),
    )


def predict(costs: Any, sample: Sample) -> Any:
    return (sample.src @ costs) / (sample.tgt @ costs)


def fit(sample: Sample, events: Sequence[str] = EVENTS, ridge: float = RIDGE) -> Any:
    """Per-event costs in cycles minimising a robust loss of log(ours / PIE's) over
    ``sample``'s rows, every problem weighing alike (one problem holds most rows), plus
    ``ridge`` times the squared log distance of each cost from its PRIOR.  Speedups do not
    change with a common scale: the scale comes from PIE's hello world, which must take what
    gem5 gave it, and no instruction may cost less than the core's commit width allows."""
    import numpy as np  # noqa: PLC0415
    from scipy.optimize import least_squares  # noqa: PLC0415

    used = [COLUMNS.index(e) for e in events]
    prior = np.array([PRIORS[e] for e in events])
    src, tgt, hello = sample.src[:, used], sample.tgt[:, used], sample.hello[used]
    sizes = {p: sample.problems.count(p) for p in set(sample.problems)}
    weight = np.sqrt(np.array([1.0 / sizes[p] for p in sample.problems]))
    target = np.log(sample.pie)

    def residuals(x: Any) -> Any:
        c = prior * np.exp(x)
        speedup = weight * (np.log(src @ c) - np.log(tgt @ c) - target)
        anchor = ANCHOR_WEIGHT * math.log(float(hello @ c) / HELLO_WORLD_CYCLES)
        return np.concatenate([speedup, [anchor], math.sqrt(ridge) * x])

    lowest = np.full(len(events), -np.inf)
    if "instructions" in events:
        lowest[events.index("instructions")] = math.log(MIN_CPI / PRIOR["instructions"])
    start = np.maximum(np.zeros(len(events)), lowest + 1e-9)
    best = least_squares(
        residuals, start, bounds=(lowest, np.inf), loss="soft_l1", f_scale=SCALE_OF_LOSS
    )
    costs = np.zeros(len(COLUMNS))
    costs[used] = prior * np.exp(best.x)
    return costs


# ---- 3. judging ---------------------------------------------------------------------------


@attrs.frozen
class Agreement:
    """How our speedups of some rows agree with PIE's."""

    rows: int
    spearman: float
    median_abs_log: float
    within_10: float  # share of rows within ±10% of PIE's speedup
    mean_ours: float
    mean_pie: float
    opt_agreement: float  # share of rows on the same side of 1.1 as PIE
    per_problem: dict[str, float]  # Spearman within each problem of >= MIN_ROWS rows

    @property
    def mean_error(self) -> float:
        return self.mean_ours / self.mean_pie - 1.0

    @property
    def worst_problem(self) -> float:
        return min(self.per_problem.values(), default=math.nan)


MIN_ROWS = 5  # a rank correlation of fewer rows says little


def spearman(xs: Any, ys: Any) -> float:
    from scipy.stats import spearmanr  # noqa: PLC0415

    return float(spearmanr(xs, ys).statistic) if len(xs) > 2 else math.nan


def agreement(ours: Any, sample: Sample) -> Agreement:
    import numpy as np  # noqa: PLC0415

    ratio = ours / sample.pie
    problems = np.array(sample.problems)
    per_problem = {
        p: spearman(ours[problems == p], sample.pie[problems == p])
        for p in sorted(set(sample.problems))
        if sample.problems.count(p) >= MIN_ROWS
    }
    return Agreement(
        rows=len(ours),
        spearman=spearman(ours, sample.pie),
        median_abs_log=float(np.median(np.abs(np.log(ratio)))),
        within_10=float(np.mean(np.abs(ratio - 1.0) <= 0.10)),
        mean_ours=float(ours.mean()),
        mean_pie=float(sample.pie.mean()),
        opt_agreement=float(np.mean((ours >= OPT) == (sample.pie >= OPT))),
        per_problem=per_problem,
    )


def folds(sample: Sample) -> list[tuple[str, Any]]:
    """One fold per problem: the mask of its rows."""
    import numpy as np  # noqa: PLC0415

    problems = np.array(sample.problems)
    return [(p, problems == p) for p in sorted(set(sample.problems))]


def held_out(sample: Sample, fold_masks: Sequence[Any], events: Sequence[str] = EVENTS,
             targets: Any = None, ridge: float = RIDGE) -> tuple[Any, list[Any]]:  # fmt: skip
    """Each fold predicted by a fit on the other folds' rows (with ``targets`` in place of
    PIE's speedups for the fit when given, for the shuffled control)."""
    import numpy as np  # noqa: PLC0415

    fitted = attrs.evolve(sample, pie=targets) if targets is not None else sample
    ours = np.empty(len(sample.problems))
    costs = []
    for mask in fold_masks:
        c = fit(fitted.take(~mask), events, ridge)
        ours[mask] = predict(c, sample.take(mask))
        costs.append(c)
    return ours, costs


# ---- 4. the table -------------------------------------------------------------------------

SHUFFLES = 10


def raw_speedups(sample: Sample, weights: dict[str, float]) -> Any:
    import numpy as np  # noqa: PLC0415

    costs = np.array([weights.get(e, 0.0) for e in COLUMNS])
    return predict(costs, sample)


def print_table(results: list[tuple[str, Agreement]], problems: Sequence[str]) -> None:
    head = (f"  {'measure':<44} {'rows':>4} {'Spear':>6} {'in-pb':>6} {'med|log|':>8} "
            f"{'±10%':>6} {'mean':>6} {'PIE':>5} {'%Opt=':>6}")  # fmt: skip
    print(head)
    print("  (Spear: Spearman of speedups, all rows; in-pb: the lowest Spearman within a problem; "
          "med|log|: median |log(ours/PIE's)|;\n   ±10%: rows within ±10% of PIE's speedup; "
          "mean, PIE: mean speedups; %Opt=: rows on PIE's side of 1.1x)")  # fmt: skip
    for name, a in results:
        print(f"  {name:<44} {a.rows:>4} {a.spearman:>6.3f} {a.worst_problem:>6.3f} "
              f"{a.median_abs_log:>8.3f} {a.within_10:>6.1%} {a.mean_ours:>6.2f} "
              f"{a.mean_pie:>5.2f} {a.opt_agreement:>6.1%}")  # fmt: skip
    if not problems:
        return
    print(f"\n  Spearman within each problem (problems of >= {MIN_ROWS} rows)")
    print(f"  {'measure':<44} " + " ".join(f"{p:>7}" for p in problems))
    for name, a in results:
        cells = " ".join(f"{a.per_problem.get(p, math.nan):>7.3f}" for p in problems)
        print(f"  {name:<44} {cells}")


def extensions(sample: Sample) -> list[tuple[str, list[str]]]:
    """The model's events with one more event class each, as far as the backend counts it."""
    counted = {e for i, e in enumerate(COLUMNS) if sample.src[:, i].any()}
    model = [e for e in EVENTS if e != "l1_misses"]
    tried = [(f"+ {e}", [*EVENTS, e]) for e in ("loads", "stores", "branches")]
    tried.append(("L1 misses split into L1I and L1D", [*model, "l1i_misses", "l1d_misses"]))
    return [(name, events) for name, events in tried if set(events) <= counted]


def judge(sample: Sample) -> tuple[Any, Agreement, Any]:
    """The table; returns the costs fitted on every row, their leave-one-problem-out
    agreement and the held-out speedups of the rows."""
    import numpy as np  # noqa: PLC0415

    lopo_masks = [m for _, m in folds(sample)]
    results: list[tuple[str, Agreement]] = []
    for event in ("instructions", "instructions_in_main", "l1i_misses", "l1d_misses",
                  "l1_misses", "ll_misses", "mispredicts"):  # fmt: skip
        results.append((f"raw: {event}", agreement(raw_speedups(sample, {event: 1}), sample)))
    results.append(("the prior's costs (unfitted)", agreement(raw_speedups(sample, PRIOR), sample)))
    lopo, fold_costs = held_out(sample, lopo_masks)
    seen = fit(sample)
    model = agreement(lopo, sample)
    results.append(("MODEL, leave one problem out", model))
    results.append(("  control: fit sees every problem", agreement(predict(seen, sample), sample)))
    rng = np.random.default_rng(0)
    shuffled = [
        agreement(held_out(sample, lopo_masks, targets=rng.permutation(sample.pie))[0], sample)
        for _ in range(SHUFFLES)
    ]
    results.append((f"  control: PIE's speedups shuffled (mean of {SHUFFLES})",
                    mean_agreement(shuffled)))  # fmt: skip
    for ridge in (0.0, 1e-2):
        ours, _ = held_out(sample, lopo_masks, ridge=ridge)
        results.append((f"  sensitivity: pull to the prior {ridge:g}", agreement(ours, sample)))
    for dropped in EVENTS[1:]:
        events = [e for e in EVENTS if e != dropped]
        ours, _ = held_out(sample, lopo_masks, events)
        results.append((f"  ablation: without {dropped}", agreement(ours, sample)))
    for name, events in extensions(sample):
        ours, _ = held_out(sample, lopo_masks, events)
        results.append((f"  extension: {name}", agreement(ours, sample)))
    problems = [p for p, _ in folds(sample) if sample.problems.count(p) >= MIN_ROWS]
    print_table(results, problems)
    print("\n  cycles per event: fitted on all rows | min-max over the 7 folds | prior")
    spread = np.array(fold_costs)
    for i, event in enumerate(EVENTS):
        print(f"  {event:<14} {seen[i]:>10.4g} | {spread[:, i].min():>10.4g} - "
              f"{spread[:, i].max():<10.4g} | {PRIOR[event]:g}")  # fmt: skip
    cycles = float(sample.hello @ seen)
    print(f"  PIE's hello world: {cycles:,.0f} cycles (gem5: {HELLO_WORLD_CYCLES:,})")
    return seen, model, lopo


def mean_agreement(many: Sequence[Agreement]) -> Agreement:
    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values)

    first = many[0]
    return Agreement(
        rows=first.rows,
        spearman=mean([a.spearman for a in many]),
        median_abs_log=mean([a.median_abs_log for a in many]),
        within_10=mean([a.within_10 for a in many]),
        mean_ours=mean([a.mean_ours for a in many]),
        mean_pie=first.mean_pie,
        opt_agreement=mean([a.opt_agreement for a in many]),
        per_problem={p: mean([a.per_problem[p] for a in many]) for p in first.per_problem},
    )


def judge_other(sample: Sample, costs: Any) -> None:
    """The model fitted on every calibration row, on PIE rows of other problems."""
    problems = len(set(sample.problems))
    print(f"\n[4] the same model on {len(sample.problems)} PIE rows of {problems} problems "
          f"with no calibration row ({OTHER_ROWS_FILE}):")  # fmt: skip
    results = [
        ("raw: instructions", agreement(raw_speedups(sample, {"instructions": 1}), sample)),
        ("the prior's costs (unfitted)", agreement(raw_speedups(sample, PRIOR), sample)),
        ("MODEL, fitted on the calibration rows", agreement(predict(costs, sample), sample)),
    ]
    print_table(results, [])


def pairs_ordered(ours: Any, sample: Sample) -> dict[str, float]:
    """The agreement's coarse bins of ``ordered_pairs``, by label, rounded as shipped."""
    bins = ordered_pairs(ours, sample, AGREEMENT_PAIR_BINS)
    return {pairs_label(low, high): round(share, 3) for low, high, _, share in bins}


def print_model(timing: str, fitted: Any, model: Agreement, lopo: Any, sample: Sample) -> None:
    """The costs fitted on every row and their measured agreement, as
    ``pie/_timing/_cycles.py`` holds them."""
    costs = {e: float(f"{fitted[i]:.4g}") for i, e in enumerate(EVENTS)}
    print(f"\n[3] the model for timing={timing!r}, fitted on every row (cycles per event):")
    print(f"  costs={costs!r}")
    figures = {
        "rows": model.rows,
        "problems": len(set(sample.problems)),
        "spearman": round(model.spearman, 3),
        "spearman_within_problem": {p: round(v, 3) for p, v in model.per_problem.items()},
        "median_abs_log": round(model.median_abs_log, 4),
        "within_10_percent": round(model.within_10, 3),
        "mean_speedup": round(model.mean_ours, 3),
        "pie_mean_speedup": round(model.mean_pie, 3),
        "opt_agreement": round(model.opt_agreement, 3),
        "pairs_ordered": pairs_ordered(lopo, sample),
    }
    print(f"  agreement={figures!r}")


# ---- 5. what these counts can reach -----------------------------------------------------------

# bins of how much PIE's speedups of two rows of one problem differ (|log| of their ratio)
PAIR_BINS = (0.0, 0.005, 0.01, 0.02, 0.05, math.inf)
AGREEMENT_PAIR_BINS = (0.0, 0.01, 0.02, math.inf)  # the bins _cycles.py's agreement carries
SAME_COUNTS_GRID = 1e-3  # "the same counts": every event total equal to 0.1% (a log grid)
SEARCH_DRAWS = 3000  # random cost vectors, then the best few refined by local search
SEARCH_ROUNDS = 12
CLOCK_HZ = 3.5e9  # PIE's gem5 Skylake core


def ordered_pairs(ours: Any, sample: Sample, bins: Sequence[float] = PAIR_BINS
                  ) -> list[tuple[float, float, int, float]]:  # fmt: skip
    """Pairs of rows of one problem, binned by how much PIE's speedups differ (PIE's ties
    left out): per bin (low, high, pairs, share that our speedups order as PIE's; a tie of
    ours counts as not ordered).  best@k picks among one problem's candidates: this is how
    large a difference it can trust."""
    import numpy as np  # noqa: PLC0415

    problems = np.array(sample.problems)
    differences, agreeing = [], []
    for p in sorted(set(sample.problems)):
        mask = problems == p
        first, second = np.triu_indices(int(mask.sum()), 1)
        theirs, mine = np.log(sample.pie[mask]), np.log(ours[mask])
        delta = theirs[first] - theirs[second]
        differences.append(np.abs(delta))
        agreeing.append(np.sign(delta) == np.sign(mine[first] - mine[second]))
    difference, agree = np.concatenate(differences), np.concatenate(agreeing)
    out = []
    for low, high in itertools.pairwise(bins):
        chosen = (difference > low) & (difference < high) if low == 0 else (
            (difference >= low) & (difference < high))  # fmt: skip
        share = float(agree[chosen].mean()) if chosen.any() else math.nan
        out.append((low, high, int(chosen.sum()), share))
    return out


def pairs_label(low: float, high: float) -> str:
    if low == 0:
        return f"<{high:.1%}".replace(".0%", "%")
    if math.isinf(high):
        return f">={low:.1%}".replace(".0%", "%")
    return f"{low:.1%}-{high:.1%}".replace(".0%", "%")


def same_counts_oracle(sample: Sample, kept: Sequence[CalibrationRow], grid: float
                       ) -> tuple[Any, int, float]:  # fmt: skip
    """The best any function of the counts can do, seeing PIE's answers: each program gets the
    mean log runtime PIE measured for the programs of its problem with the same counts (every
    event total equal, to the relative ``grid`` if not 0).  Returns its speedups of the rows,
    how many programs share their counts with a program PIE timed differently, and the largest
    such difference of PIE's (relative)."""
    import numpy as np  # noqa: PLC0415

    program: dict[str, tuple[tuple[Any, ...], float]] = {}
    for row, src, tgt in zip(kept, sample.src, sample.tgt, strict=True):
        for sha, vector, runtime in ((row.src, src, row.src_runtime),
                                     (row.tgt, tgt, row.tgt_runtime)):  # fmt: skip
            key = tuple(vector) if grid == 0 else tuple(np.round(np.log1p(vector) / grid))
            program[sha] = ((row.problem_id, *key), runtime)
    groups: dict[tuple[Any, ...], list[float]] = {}
    for key, runtime in program.values():
        groups.setdefault(key, []).append(runtime)
    mean = {key: float(np.mean(np.log(runtimes))) for key, runtimes in groups.items()}
    ours = np.array([math.exp(mean[program[r.src][0]] - mean[program[r.tgt][0]]) for r in kept])
    mixed = [g for g in groups.values() if len(set(g)) > 1]
    widest = max((max(g) / min(g) - 1.0 for g in mixed), default=0.0)
    return ours, sum(len(g) for g in mixed), widest


NOISE_DRAWS = 100


def exact_but_for_noise(sample: Sample, kept: Sequence[CalibrationRow], rng: Any
                        ) -> tuple[float, dict[str, float], float]:  # fmt: skip
    """What a model exact but for the spread PIE shows among programs whose counts are the
    same here would reach: PIE's own runtimes, each program's times a log-normal noise of that
    spread (pooled standard deviation of log runtime within groups of the same counts; identical
    programs, timed alike, count in it).  Returns the spread and the mean Spearman within each
    problem and over all rows."""
    import numpy as np  # noqa: PLC0415

    programs: dict[str, tuple[tuple[Any, ...], float]] = {}
    for row, src, tgt in zip(kept, sample.src, sample.tgt, strict=True):
        programs[row.src] = ((row.problem_id, *src), math.log(row.src_runtime))
        programs[row.tgt] = ((row.problem_id, *tgt), math.log(row.tgt_runtime))
    groups: dict[tuple[Any, ...], list[float]] = {}
    for key, runtime in programs.values():
        groups.setdefault(key, []).append(runtime)
    shared = [g for g in groups.values() if len(g) > 1]
    squares = sum(float(np.sum((np.array(g) - np.mean(g)) ** 2)) for g in shared)
    sd = math.sqrt(squares / sum(len(g) - 1 for g in shared))
    shas = sorted(programs)
    src = np.array([shas.index(r.src) for r in kept])
    tgt = np.array([shas.index(r.tgt) for r in kept])
    draws = [agreement(sample.pie * np.exp(noise[src] - noise[tgt]), sample)
             for noise in rng.normal(0.0, sd, (NOISE_DRAWS, len(shas)))]  # fmt: skip
    mean = mean_agreement(draws)
    return sd, mean.per_problem, mean.spearman


def rank_correlations(predicted: Any, pie: Any) -> Any:
    """Spearman of each row of ``predicted`` (candidates x rows) with ``pie``."""
    import numpy as np  # noqa: PLC0415
    from scipy.stats import rankdata  # noqa: PLC0415

    ours = rankdata(predicted, axis=1)
    ours -= ours.mean(axis=1, keepdims=True)
    theirs = rankdata(pie)
    theirs -= theirs.mean()
    return (ours @ theirs) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs))


def best_costs(sample: Sample, events: Sequence[str], rng: Any) -> float:
    """The highest Spearman of ``sample``'s rows that any positive per-event costs reach,
    chosen on these very rows (random search over six decades per cost, then local search):
    an upper bound, as found, for every model of this form and events."""
    import numpy as np  # noqa: PLC0415

    used = [COLUMNS.index(e) for e in events]
    src, tgt = sample.src[:, used].T, sample.tgt[:, used].T

    def score(logs: Any) -> Any:
        costs = np.exp(logs)
        return rank_correlations((costs @ src) / (costs @ tgt), sample.pie)

    logs = rng.uniform(math.log(1e-3), math.log(1e3), (SEARCH_DRAWS, len(used)))
    scores = score(logs)
    for step in np.geomspace(1.0, 0.02, SEARCH_ROUNDS):
        best = logs[np.argsort(scores)[-10:]]
        trial = np.repeat(best, 30, axis=0) + rng.normal(0, step, (300, len(used)))
        logs, scores = np.vstack([best, trial]), np.concatenate([score(best), score(trial)])
    return float(scores.max())


def print_reach(sample: Sample, lopo: Any, kept: Sequence[CalibrationRow], tests: Path,
                costs: Any) -> None:  # fmt: skip
    """What limits the ranking: how large a difference of PIE's the model orders, what any
    costs or any function of these counts could reach, and where the public tests are not
    PIE's."""
    import numpy as np  # noqa: PLC0415

    print("\n[5] what these counts can reach")
    print("  pairs of rows of one problem, by how much PIE's speedups differ: how many, and the "
          "share the model (leave one problem out) orders as PIE")  # fmt: skip
    for low, high, pairs, share in ordered_pairs(lopo, sample):
        print(f"    PIE differs by {pairs_label(low, high):>9}: {pairs:>6} pairs, {share:>6.1%}")
    problems = [p for p, _ in folds(sample) if sample.problems.count(p) >= MIN_ROWS]
    rows: list[tuple[str, dict[str, float], float]] = []
    rng = np.random.default_rng(0)
    counted = [e for i, e in enumerate(COLUMNS) if sample.src[:, i].any() and e != "l1_misses"]
    for name, events in (("the model's events", EVENTS), (f"all {len(counted)} counts", counted)):
        per_problem = {p: best_costs(sample.take(m), events, rng) for p, m in folds(sample)
                       if p in problems}  # fmt: skip
        rows.append((f"best costs for {name}, chosen per problem", per_problem,
                     best_costs(sample, events, rng)))  # fmt: skip
    for grid in (0.0, SAME_COUNTS_GRID):
        ours, shared, widest = same_counts_oracle(sample, kept, grid)
        a = agreement(ours, sample)
        same = "exactly" if grid == 0 else f"to {grid:.1%}"
        rows.append((f"PIE's mean for the same counts ({same})", a.per_problem, a.spearman))
        print(
            f"  {shared} programs share their counts ({same}) with a program PIE timed "
            f"differently; PIE's widest difference among such programs: {widest:.1%}"
        )
    model = agreement(lopo, sample)
    rows.insert(0, ("MODEL, leave one problem out", model.per_problem, model.spearman))
    sd, per_problem, overall = exact_but_for_noise(sample, kept, rng)
    rows.append((f"PIE's own speedups, {sd:.2%} noise a program", per_problem, overall))
    print("\n  Spearman within each problem and over all rows, seeing PIE's answers (upper bounds; "
          "for 'all rows' the costs are chosen on all rows)")  # fmt: skip
    print(f"  {'':<52} " + " ".join(f"{p:>7}" for p in problems) + "  all rows")
    for name, per_problem, overall in rows:
        cells = " ".join(f"{per_problem.get(p, math.nan):>7.3f}" for p in problems)
        print(f"  {name:<52} {cells}  {overall:>8.3f}")
    print_test_sets(sample, lopo, kept, tests, (costs, problems))
    print_worst_ranked(sample, lopo, kept, (costs, problems))


def print_test_sets(sample: Sample, lopo: Any, kept: Sequence[CalibrationRow], tests: Path,
                    model: tuple[Any, Sequence[str]]) -> None:  # fmt: skip
    """Per problem of ``model`` = (costs, problems): how many tests PIE's runtimes imply at the
    model's cycles per public test, how much of the src programs' work the public tests put in
    main(), and how close the model came."""
    import numpy as np  # noqa: PLC0415

    costs, problems = model
    print("\n  the public tests against PIE's, per problem: the tests PIE's runtimes imply (PIE's "
          "seconds x 3.5 GHz / the model's cycles per public test,\n  median over the rows' "
          "programs), the share of the src programs' instructions in main() on the public "
          "tests (median) and the model's agreement")  # fmt: skip
    print(f"  {'problem':<8} {'rows':>5} {'public':>6} {'PIE (est.)':>10} {'in main':>8} "
          f"{'med|log|':>8} {'±10%':>6}")  # fmt: skip
    in_main, instructions = COLUMNS.index("instructions_in_main"), COLUMNS.index("instructions")
    everyone = np.array(sample.problems)
    seconds = np.array([(r.src_runtime, r.tgt_runtime) for r in kept])
    for p in problems:
        mask = everyone == p
        public = len(list((tests / p).glob("input.*")))
        cycles = np.concatenate([sample.src[mask] @ costs, sample.tgt[mask] @ costs])
        implied = np.median(seconds[mask].T.ravel() * CLOCK_HZ / (cycles / public))
        share = np.median(sample.src[mask][:, in_main] / sample.src[mask][:, instructions])
        a = agreement(lopo[mask], sample.take(mask))
        print(f"  {p:<8} {int(mask.sum()):>5} {public:>6} {implied:>10.0f} {share:>8.1%} "
              f"{a.median_abs_log:>8.3f} {a.within_10:>6.1%}")  # fmt: skip


WORST_SHOWN = 4


def print_worst_ranked(sample: Sample, lopo: Any, kept: Sequence[CalibrationRow],
                       model: tuple[Any, Sequence[str]]) -> None:  # fmt: skip
    """Per problem of ``model`` = (costs, problems), the rows whose held-out rank (as a share of
    the problem's rows) is furthest from PIE's, with each program's residual: log(PIE's seconds /
    the model's cycles), less the median over the problem's programs (+: gem5 slower than the
    model says).  A row's log error is its src's residual less its tgt's."""
    import numpy as np  # noqa: PLC0415
    from scipy.stats import rankdata  # noqa: PLC0415

    costs, problems = model
    print(
        "\n  the rows ranked furthest from PIE's, per problem (rank: share of the problem's rows"
        " below;\n  residual: log(PIE's seconds / model cycles) less the problem's median)"
    )
    everyone = np.array(sample.problems)
    for p in problems:
        index = np.flatnonzero(everyone == p)
        rows = [kept[i] for i in index]
        logs = {}
        for row, src, tgt in zip(rows, sample.src[index], sample.tgt[index], strict=True):
            logs[row.src] = math.log(row.src_runtime / float(src @ costs))
            logs[row.tgt] = math.log(row.tgt_runtime / float(tgt @ costs))
        centre = float(np.median(list(logs.values())))
        theirs = rankdata(sample.pie[index]) / len(index)
        ours = rankdata(lopo[index]) / len(index)
        for j in np.argsort(-np.abs(ours - theirs), kind="stable")[:WORST_SHOWN]:
            row = rows[j]
            print(f"  {p} {row.ids[0]} -> {row.ids[1]}: PIE {sample.pie[index][j]:.3f} (rank "
                  f"{theirs[j]:.2f}), ours {lopo[index][j]:.3f} ({ours[j]:.2f}); residual src "
                  f"{logs[row.src] - centre:+.4f}, tgt {logs[row.tgt] - centre:+.4f}")  # fmt: skip


# ---- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--timing", default=default_timing())
    parser.add_argument("--counts", type=Path, default=None, help="the counts file to use")
    parser.add_argument("--remeasure", action="store_true", help="ignore the counts file")
    parser.add_argument("--concurrency", type=int, default=None)
    return parser.parse_args(argv)


def default_timing() -> str:
    return "qemu"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows, programs = load_rows(args.data)
    other_rows, other_programs = load_rows(args.data, OTHER_ROWS_FILE, {r.problem_id for r in rows})
    hello = sha256_bytes(HELLO_WORLD.encode("utf-8"))
    programs[hello] = (HELLO_WORLD, HELLO_PROBLEM)
    programs.update(other_programs)
    records = measured_counts(args.data, programs, args)
    timed = {sha: Program.of(r) for sha, r in records.items() if "counts" in r}
    untimed = {sha: r.get("error", "") for sha, r in records.items() if "counts" not in r}
    for sha, why in sorted(untimed.items()):
        print(f"  not timed: {programs[sha][1]} {sha[:12]}: {why}")
    if hello not in timed:
        raise SystemExit(f"PIE's hello world was not timed: {untimed.get(hello)}")
    sample = sample_of(rows, timed, timed[hello])
    print(f"\n[2] {len(sample.problems)} of {len(rows)} rows have both programs timed; "
          "leave-one-problem-out agreement with PIE's gem5 speedups:")  # fmt: skip
    costs, model, lopo = judge(sample)
    print_model(args.timing, costs, model, lopo, sample)
    judge_other(sample_of(other_rows, timed, timed[hello]), costs)
    print_reach(sample, lopo, kept_rows(rows, timed), args.data / "tests", costs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
