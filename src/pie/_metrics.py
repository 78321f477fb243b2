"""PIE's evaluation metrics, as its ``gem5_eval.py`` computes them, plus bootstrap intervals.

Per row (one slow program and its k generated candidates): a candidate's runtime counts only
when its accuracy reaches ``threshold_accuracy`` (else inf); best@k is the minimum runtime and
the maximum accuracy over the first k candidates; correct@k means that accuracy *equals* the
threshold (PIE compares with ``==``); speedup@k = max(1, src runtime / best runtime).
Aggregates are means over rows; column names are PIE's, so its analysis scripts keep working.
Where PIE computes every k from 1 to the number of candidates, so does this module.  PIE's
``==`` means that with a threshold below 1.0 a perfect candidate does not count as correct;
that is kept, so numbers match the paper's scripts.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import attrs

SPEEDUP_THRESHOLDS = (1.10, 1.25, 1.50, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0)


@attrs.frozen
class MetricCandidate:
    runtime: float | None  # None: not timed (failed, incorrect, or missing)
    accuracy: float | None


@attrs.frozen
class MetricRow:
    problem_id: str
    src_runtime: float
    tgt_runtime: float
    candidates: tuple[MetricCandidate, ...]


def divide(numerator: float, denominator: float) -> float:
    """Division as numpy does it on PIE's columns: x/0 = inf, inf/inf = nan."""
    if denominator == 0:
        return math.nan if numerator == 0 else math.inf
    return numerator / denominator


def floor_at_one(speedup: float) -> float:
    """PIE's ``max(1.0, x)``: a nan (inf/inf) becomes 1.0 as well."""
    return speedup if speedup > 1.0 else 1.0


def adjusted_runtime(candidate: MetricCandidate, threshold_accuracy: float) -> float:
    if candidate.runtime is None or candidate.accuracy is None:
        return math.inf
    return candidate.runtime if candidate.accuracy >= threshold_accuracy else math.inf


@attrs.frozen
class BestAt:
    runtime: float
    accuracy: float
    correct: bool
    speedup: float


def best_at(row: MetricRow, k: int, threshold_accuracy: float) -> BestAt:
    """The best of the first ``k`` candidates of ``row``."""
    first = row.candidates[:k]
    runtime = min(adjusted_runtime(c, threshold_accuracy) for c in first)
    accuracy = max(c.accuracy if c.accuracy is not None else 0.0 for c in first)
    return BestAt(
        runtime=runtime,
        accuracy=accuracy,
        correct=accuracy == threshold_accuracy,
        speedup=floor_at_one(divide(row.src_runtime, runtime)),
    )


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else math.nan


def _mean(values: Sequence[float]) -> float:
    """pandas' ``mean``: NaN (a row without a measured src/tgt) is left out."""
    present = [v for v in values if not math.isnan(v)]
    return statistics.fmean(present) if present else math.nan


def fastest_per_problem(rows: Sequence[MetricRow], threshold_accuracy: float) -> dict[str, float]:
    """The fastest correct candidate of every row of a problem (PIE's "over all submissions")."""
    fastest: dict[str, float] = {}
    for row in rows:
        quickest = min(
            (adjusted_runtime(c, threshold_accuracy) for c in row.candidates), default=math.inf
        )
        fastest[row.problem_id] = min(fastest.get(row.problem_id, math.inf), quickest)
    return fastest


def row_columns(rows: Sequence[MetricRow], threshold_accuracy: float = 1.0) -> list[dict[str, Any]]:
    """PIE's per-row metric columns (``addtl_stats.jsonl``), one dict per row."""
    fastest = fastest_per_problem(rows, threshold_accuracy)
    k_max = max((len(r.candidates) for r in rows), default=0)
    table = []
    for row in rows:
        over_all = floor_at_one(divide(row.src_runtime, fastest[row.problem_id]))
        columns: dict[str, Any] = {
            "fastest_generated_agg_runtime": min(
                (adjusted_runtime(c, threshold_accuracy) for c in row.candidates),
                default=math.inf,
            ),
            "fastest_generated_runtime_over_all_submissions": fastest[row.problem_id],
            "fastest_generated_speedup_over_all_submissions": over_all,
            "fastest_generated_correctness_over_all_submissions": (
                fastest[row.problem_id] < math.inf
            ),
        }
        for k in range(1, k_max + 1):
            best = best_at(row, k, threshold_accuracy)
            columns[f"agg_runtime_best@{k}"] = best.runtime
            columns[f"accuracy_best@{k}"] = best.accuracy
            columns[f"is_correct_best@{k}"] = best.correct
            columns[f"speedup_best@{k}"] = best.speedup
        columns["speedup_of_fastest_generated_of_all_submissions"] = over_all
        # PIE does not floor this one
        columns["speedup_tgt_over_src"] = divide(row.src_runtime, row.tgt_runtime)
        table.append(columns)
    return table


def aggregate_metrics(
    rows: Sequence[MetricRow], threshold_accuracy: float = 1.0
) -> dict[str, float]:
    """PIE's ``aggregated_results.csv`` row, column for column."""
    return aggregate_columns(row_columns(rows, threshold_accuracy))


def aggregate_columns(table: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The aggregate of per-row columns made by :func:`row_columns`."""

    def column(name: str) -> list[Any]:
        return [r[name] for r in table]

    k_max = sum(1 for name in (table[0] if table else {}) if name.startswith("speedup_best@"))
    over_all = column("speedup_of_fastest_generated_of_all_submissions")
    result = {
        "fastest_generated_correctness_over_all_submissions": _share(
            column("fastest_generated_correctness_over_all_submissions")
        ),
        "fastest_generated_speedup_over_all_submissions": _mean(
            column("fastest_generated_speedup_over_all_submissions")
        ),
    }
    for k in range(1, k_max + 1):
        speedups = column(f"speedup_best@{k}")
        result[f"mean_accuracy_best@{k}"] = _mean(column(f"accuracy_best@{k}"))
        result[f"is_correct_best@{k}"] = _share(column(f"is_correct_best@{k}"))
        result[f"mean_speedup_best@{k}"] = _mean(speedups)
        for t in SPEEDUP_THRESHOLDS:
            result[f"percent_programs_speedup_best@{k}>=speedup_threshold_{t}"] = _share(
                [s >= t for s in speedups]
            )
    tgt = column("speedup_tgt_over_src")
    result["mean_speedup_tgt_over_src"] = _mean(tgt)
    for t in SPEEDUP_THRESHOLDS:
        result[f"percent_programs_speedup_tgt_over_src>=speedup_threshold_{t}"] = _share(
            [s >= t for s in tgt]
        )
        result[f"percent_programs_speedup_fastest_generated_over_src>=speedup_threshold_{t}"] = (
            _share([s >= t for s in over_all])
        )
    return result


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float] = statistics.fmean,
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic``; seeded, so a report is reproducible."""
    if not values:
        return (math.nan, math.nan)
    rng = random.Random(seed)
    n = len(values)
    estimates = sorted(
        statistic([values[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples)
    )
    low = estimates[int((1 - level) / 2 * (resamples - 1))]
    high = estimates[int((1 + level) / 2 * (resamples - 1))]
    return (low, high)
