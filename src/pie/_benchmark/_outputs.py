"""PIE's output files, same names and columns, so its analysis scripts keep working.

``melted_test_results.jsonl``: one line per evaluated program of a row (``code_type``, ``code``,
``compilation``, ``accuracy``, ``agg_runtime``, ``tc2time``); ``test_results.jsonl``: one line
per row with ``<code_type>_compilation|_accuracy|_agg_runtime|_tc2time``;
``addtl_stats.jsonl``: those rows with PIE's per-row metric columns; ``aggregated_results.csv``:
the one-row aggregate.  As pandas writes them, inf and NaN become ``null``.  ``pie`` adds
``verdict`` / ``<code_type>_verdict`` columns and nothing else to PIE's files; its own facts go
to ``run.json``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from pie import _metrics
from pie._benchmark._journal import Outcome
from pie._benchmark._plan import Entry, Plan, PlannedRow
from pie._config import BenchmarkConfig
from pie._files import write_atomically
from pie._json import dumps

MELTED = "melted_test_results.jsonl"
UNMELTED = "test_results.jsonl"
ADDITIONAL = "addtl_stats.jsonl"
AGGREGATED = "aggregated_results.csv"


def jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
    return "".join(dumps(dict(row)) + "\n" for row in rows)


class Results:
    """The outcomes of a plan's programs, looked up per row entry."""

    def __init__(self, outcomes: Mapping[str, Outcome]) -> None:
        self.outcomes = outcomes

    def of(self, entry: Entry) -> Outcome | None:
        return None if entry.program is None else self.outcomes.get(entry.program.key)

    def runtime(self, entry: Entry) -> float:
        """A src/tgt runtime; NaN when there is none (PIE's missing value: no speedup)."""
        if entry.recorded is not None:
            return entry.recorded
        outcome = self.of(entry)
        if outcome is None or outcome.runtime is None:
            return math.nan
        return outcome.runtime

    def candidate(self, entry: Entry) -> _metrics.MetricCandidate:
        outcome = self.of(entry)
        if outcome is None:
            return _metrics.MetricCandidate(None, None)
        return _metrics.MetricCandidate(outcome.runtime, outcome.accuracy)

    def metric_row(self, row: PlannedRow) -> _metrics.MetricRow:
        return _metrics.MetricRow(
            problem_id=row.problem_id,
            src_runtime=self.runtime(row.src),
            tgt_runtime=self.runtime(row.tgt),
            candidates=tuple(self.candidate(c) for c in row.candidates),
        )


def _entry_columns(entry: Entry, outcome: Outcome | None) -> dict[str, Any]:
    return {
        "code_type": entry.code_type,
        "code": entry.program.code if entry.program else None,
        "compilation": outcome.compiled if outcome else None,
        "accuracy": outcome.accuracy if outcome else 0.0,
        "agg_runtime": outcome.runtime if outcome and outcome.runtime is not None else math.inf,
        "tc2time": outcome.per_test if outcome else {},
        "verdict": outcome.verdict if outcome else None,
    }


def melted_rows(plan: Plan, results: Results) -> Iterator[dict[str, Any]]:
    for row in plan.rows:
        for entry in row.entries():
            if entry.program is not None:
                outcome = results.of(entry)
                # why an IE could not be evaluated (PIE has no such column; pie adds it)
                error = outcome.error if outcome else None
                yield {**row.fields, **_entry_columns(entry, outcome), "error": error}


def unmelted_row(row: PlannedRow, results: Results, config: BenchmarkConfig) -> dict[str, Any]:
    data: dict[str, Any] = dict(row.fields)
    data[config.model_generated_potentially_faster_code_col] = [
        c.program.code if c.program else None for c in row.candidates
    ]
    for entry in row.entries():
        columns = _entry_columns(entry, results.of(entry))
        name = entry.code_type
        data[name] = columns["code"]
        data[f"{name}_compilation"] = columns["compilation"]
        if entry.recorded is not None:
            data[f"{name}_agg_runtime"] = entry.recorded
            continue
        for field in ("accuracy", "agg_runtime", "tc2time", "verdict"):
            data[f"{name}_{field}"] = columns[field]
    return data


def addtl_rows(
    plan: Plan,
    unmelted: Sequence[dict[str, Any]],
    results: Results,
    config: BenchmarkConfig,
    metric_columns: Sequence[dict[str, Any]],
) -> Iterator[dict[str, Any]]:
    """``test_results.jsonl``'s rows with PIE's per-row metric columns added."""
    for row, written, metrics in zip(plan.rows, unmelted, metric_columns, strict=True):
        data = dict(written)
        for candidate in row.candidates:
            adjusted = _metrics.adjusted_runtime(
                results.candidate(candidate), config.threshold_accuracy
            )
            data[f"{candidate.code_type}_agg_runtime_adjusted"] = adjusted
        data["src_tgt_code"] = (data.get(config.slow_code_col) or "") + (
            data.get(config.reference_code_col) or ""
        )
        data.update(metrics)
        yield data


def csv_text(row: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(row.keys())
    writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in row.values()])
    return buffer.getvalue()


def metrics_of(
    plan: Plan, results: Results, threshold_accuracy: float
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The aggregate and the per-row metric columns; programs without outcome count failed."""
    metric_rows = [results.metric_row(r) for r in plan.rows]
    columns = _metrics.row_columns(metric_rows, threshold_accuracy)
    return _metrics.aggregate_columns(columns), columns


def write_outputs(
    plan: Plan, outcomes: Mapping[str, Outcome], config: BenchmarkConfig
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Write PIE's four files; returns the aggregate and the per-row metric columns."""
    results = Results(outcomes)
    aggregated, columns = metrics_of(plan, results, config.threshold_accuracy)
    out = config.output_dir
    write_atomically(out / MELTED, jsonl(melted_rows(plan, results)))
    unmelted = [unmelted_row(r, results, config) for r in plan.rows]
    write_atomically(out / UNMELTED, jsonl(unmelted))
    write_atomically(out / ADDITIONAL, jsonl(addtl_rows(plan, unmelted, results, config, columns)))
    write_atomically(out / AGGREGATED, csv_text(aggregated))
    return aggregated, columns
