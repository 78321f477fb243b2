"""bench/gem5_calibration.py's choice of rows and its order statistics (no gem5 needed)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bench.calibrate import CalibrationRow, load_rows, spearman
from bench.gem5_calibration import (
    REPO,
    RowFigures,
    chosen_rows,
    covered_rows,
    order_agreement,
    ordered_as_pie,
    spread_rows,
)

distinct = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=12, unique=True)


@given(distinct)
def test_order_agreement_is_one_with_itself_and_zero_reversed(values: list[float]) -> None:
    pairs = len(values) * (len(values) - 1) // 2
    assert order_agreement(values, values) == (1.0, pairs)
    assert order_agreement(values, [-v for v in values]) == (0.0, pairs)


def test_order_agreement_leaves_out_the_pairs_either_ties() -> None:
    # pairs (0,1) tie in the first, (1,2) in the second: only (0,2) counts, and it agrees
    assert order_agreement([1.0, 1.0, 2.0], [5.0, 7.0, 7.0]) == (1.0, 1)
    share, pairs = order_agreement([1.0, 1.0], [2.0, 2.0])
    assert math.isnan(share) and pairs == 0


def row(speedup: float, name: str) -> CalibrationRow:
    return CalibrationRow("p1", f"src{name}", f"tgt{name}", speedup, 1.0, (f"s{name}", f"t{name}"))


@given(st.lists(st.floats(1.0, 10.0), min_size=1, max_size=30), st.integers(1, 40))
def test_spread_rows_takes_distinct_rows_over_the_whole_range(
    speedups: list[float], count: int
) -> None:
    rows = [row(speedup, str(i)) for i, speedup in enumerate(speedups)]
    chosen = spread_rows(rows, count)
    assert len(chosen) == min(count, len(rows))
    assert len({r.ids for r in chosen}) == len(chosen)  # never a row twice
    if count >= len(rows):
        assert sorted(r.ids for r in chosen) == sorted(r.ids for r in rows)


def test_chosen_rows_keeps_only_the_named_problems_rows(shared_data: Path) -> None:
    rows, _ = load_rows(shared_data)
    every = chosen_rows(rows, 10_000)
    p02687 = [r for r in rows if r.problem_id == "p02687"]
    assert {r.problem_id for r in every} > {"p02687", "p03048"}  # the named rows of others too
    only = chosen_rows(rows, 10_000, {"p02687"})
    assert sorted(r.ids for r in only) == sorted(r.ids for r in p02687)
    assert {r.problem_id for r in chosen_rows(rows, 10_000, {"p03048"})} == {"p03048"}


def figures(pie: list[float], other: list[float]) -> list[RowFigures]:
    return [RowFigures("p1", (str(i), str(i)), False, {"PIE": a, "x": b})
            for i, (a, b) in enumerate(zip(pie, other, strict=True))]  # fmt: skip


def test_ordered_as_pie_bins_pairs_by_pies_difference_and_counts_a_tie_as_not_ordered() -> None:
    # PIE 1.000 / 1.005 / 1.030: pairs 0.5% (0,1), 2.5% (1,2) and 3% (0,2) apart
    binned = ordered_as_pie(figures([1.0, 1.005, 1.03], [2.0, 2.0, 3.0]), "x")
    assert [(pairs, share) for _, _, pairs, share in binned[::2]] == [(1, 0.0), (2, 1.0)]
    assert binned[1][2] == 0 and math.isnan(binned[1][3])  # nothing 1-2% apart
    # PIE's own ties are no pair at all
    assert sum(pairs for _, _, pairs, _ in ordered_as_pie(figures([1.0, 1.0], [1, 2]), "x")) == 0


def test_the_readme_gives_the_recorded_run_s_figures(shared_data: Path) -> None:
    """The README's within-p02687 Spearman figures are those of the recorded real-gem5 run."""
    record = json.loads((REPO / "bench" / "results" / "gem5-calibration.json").read_text())
    rows, _ = load_rows(shared_data)
    p02687 = [r for r in covered_rows(rows, record) if r.problem_id == "p02687"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"Its {len(p02687)}\s+rows", readme), "the README's count of p02687's rows"
    for a, b in (("PIE", "gem5"), ("PIE", "model"), ("gem5", "model*")):
        rho = spearman([r.speedups[a] for r in p02687], [r.speedups[b] for r in p02687])
        line = f"| {a} vs {b.replace('*', chr(92) + '*')}"
        assert any(
            row.startswith(line) and f" {rho:.3f} " in row.replace("**", " ")
            for row in readme.splitlines()
        ), (a, b, round(rho, 3))
