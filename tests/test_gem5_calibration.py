"""bench/gem5_calibration.py's choice of rows and its order statistics (no gem5 needed)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.calibrate import CalibrationRow, load_rows, spearman
from bench.gem5_calibration import (
    COMPARED,
    REPO,
    RowFigures,
    chosen_rows,
    covered_rows,
    order_agreement,
    ordered_as_pie,
    rank_change,
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


def run(speedups: dict[str, list[float]]) -> dict[tuple[str, str], RowFigures]:
    """Rows i -> (src a_i, tgt b_(i+1) mod n): each program in two rows, as in a problem."""
    n = len(speedups["PIE"])
    ids = [(f"a{i}", f"b{(i + 1) % n}") for i in range(n)]
    return {
        ids[i]: RowFigures("p1", ids[i], False, {k: v[i] for k, v in speedups.items()})
        for i in range(n)
    }


def test_rank_change_is_none_between_alike_runs_and_brackets_a_real_one() -> None:
    pie = [1.0 + i / 40 for i in range(40)]
    scrambled = [pie[7 * i % 40] for i in range(40)]  # far from PIE's order
    before = run({"PIE": pie, "gem5": scrambled})
    assert rank_change(before, before, "PIE", "gem5", draws=10) == (0.0, 0.0, 0.0, 40)
    # from the reverse of PIE's order to PIE's: +2 in every draw of the programs
    reverse, same = run({"PIE": pie, "gem5": pie[::-1]}), run({"PIE": pie, "gem5": pie})
    *changes, n = rank_change(reverse, same, "PIE", "gem5", draws=10)
    assert changes == pytest.approx([2.0, 2.0, 2.0]) and n == 40
    change, low, high, _ = rank_change(before, same, "PIE", "gem5", draws=10)
    assert low < change < high


def readme_cells(readme: str) -> dict[str, list[str]]:
    """The within-p02687 table's first cells by comparison: "| gem5 vs model\\* (gem5's own
    binary) | **0.879** / 0.823 | ..." -> {"gem5 vs model*": ["0.879", "0.823"]}."""
    table = {}
    for line in readme.splitlines():
        if line.startswith(("| PIE vs ", "| gem5 vs ")):
            cells = line.replace("**", "").replace(chr(92), "").split("|")
            table[cells[1].split(" (")[0].strip()] = [c.strip() for c in cells[2].split(" / ")]
    return table


@pytest.mark.parametrize(
    ("record_name", "column"), [("gem5-calibration.json", 0), ("gem5-calibration-gcc9.json", 1)]
)
def test_the_readme_gives_the_recorded_runs_figures(
    shared_data: Path, record_name: str, column: int
) -> None:
    """The README's within-p02687 row Spearman figures are those of the recorded real-gem5 runs:
    each cell gives g++ 10's figure, then g++ 9's."""
    record = json.loads((REPO / "bench" / "results" / record_name).read_text())
    rows, _ = load_rows(shared_data)
    p02687 = [r for r in covered_rows(rows, record) if r.problem_id == "p02687"]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"Its {len(p02687)}\s+rows", readme), "the README's count of p02687's rows"
    table = readme_cells(readme)
    for a, b in COMPARED:
        rho = spearman([r.speedups[a] for r in p02687], [r.speedups[b] for r in p02687])
        assert table[f"{a} vs {b}"][column] == f"{rho:.3f}", (record_name, a, b)
