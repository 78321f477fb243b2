"""Speedups that come mostly from start-up, marked so a reader does not take them for faster
algorithms.

Under PIE's small tests most of what gem5 (and the local cycle model) counts is process start-up
(dynamic loading, libstdc++'s initialisation); a program that drops ``<iostream>`` for
``<cstdio>`` is ~5x faster without changing its algorithm.  A row's speedup is marked when more
than half of the cycles it saves were saved outside ``main``.  Cycles outside ``main`` are
estimated as a program's runtime times its start-up share, which the local backends measure on
instructions (the cycle model is not split at ``main``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pie import _metrics
from pie._benchmark._journal import Outcome
from pie._benchmark._outputs import Results
from pie._benchmark._plan import Entry, Plan, PlannedRow

MOSTLY = 0.5
RULE = (
    "more than half of the cycles saved were saved outside main (runtime x start-up share of "
    "instructions), among rows at least 1.1x faster"
)


def saved_outside_main(slow: Outcome | None, fast: Outcome | None) -> float | None:
    """The share of ``slow``'s cycles that ``fast`` saves outside ``main``; None when it is not
    faster or either lacks a runtime or a start-up share."""
    if slow is None or fast is None:
        return None
    if None in (slow.runtime, fast.runtime, slow.startup_share, fast.startup_share):
        return None
    assert slow.runtime is not None and fast.runtime is not None
    assert slow.startup_share is not None and fast.startup_share is not None
    saved = slow.runtime - fast.runtime
    if saved <= 0:
        return None
    return (slow.runtime * slow.startup_share - fast.runtime * fast.startup_share) / saved


def _best(row: PlannedRow, results: Results, k: int, threshold: float) -> Entry | None:
    """The candidate best@k picks (PIE's minimum adjusted runtime; the first on ties)."""
    first = row.candidates[:k]
    runtimes = [_metrics.adjusted_runtime(results.candidate(c), threshold) for c in first]
    if not runtimes or min(runtimes) == float("inf"):
        return None
    return first[runtimes.index(min(runtimes))]


def _marked(
    plan: Plan, results: Results, pick: Callable[[PlannedRow], Outcome | None]
) -> dict[str, Any]:
    faster, marked = 0, []
    for row in plan.rows:
        slow, fast = results.of(row.src), pick(row)
        if slow is None or fast is None or slow.runtime is None or not fast.runtime:
            continue
        if slow.runtime / fast.runtime < _metrics.SPEEDUP_THRESHOLDS[0]:
            continue
        faster += 1
        share = saved_outside_main(slow, fast)
        if share is not None and share > MOSTLY:
            marked.append(row.position)
    return {"faster_rows": faster, "mostly_startup": len(marked), "rows": marked}


def startup_dominated(plan: Plan, results: Results, threshold: float) -> dict[str, Any]:
    """Per speedup column (tgt over src, best@k), the rows whose speedup is mostly start-up."""
    k = plan.num_generated

    def best(row: PlannedRow) -> Outcome | None:
        entry = _best(row, results, k, threshold)
        return results.of(entry) if entry is not None else None

    found: dict[str, Any] = {
        "rule": RULE,
        "tgt_over_src": _marked(plan, results, lambda row: results.of(row.tgt)),
    }
    if k:
        found[f"best@{k}"] = _marked(plan, results, best)
    return found
