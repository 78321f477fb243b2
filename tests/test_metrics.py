"""PIE's metrics: properties (hypothesis) and a worked example checked by hand."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from pie._metrics import (
    SPEEDUP_THRESHOLDS,
    MetricCandidate,
    MetricRow,
    aggregate_metrics,
    best_at,
    bootstrap_interval,
)

runtimes = st.one_of(st.none(), st.floats(0.001, 100.0))
accuracies = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 0.95, 1.0]))
candidates = st.builds(MetricCandidate, runtimes, accuracies)
rows = st.builds(
    MetricRow,
    problem_id=st.sampled_from(["p1", "p2", "p3"]),
    src_runtime=st.floats(0.001, 100.0),
    tgt_runtime=st.floats(0.001, 100.0),
    candidates=st.lists(candidates, min_size=4, max_size=4).map(tuple),
)


@given(rows, st.sampled_from([1.0, 0.95]))
def test_best_at_k_only_improves_with_k(row: MetricRow, threshold: float) -> None:
    previous = None
    for k in range(1, len(row.candidates) + 1):
        best = best_at(row, k, threshold)
        assert best.speedup >= 1.0
        if previous is not None:
            assert best.runtime <= previous.runtime
            assert best.accuracy >= previous.accuracy
            assert best.speedup >= previous.speedup
            if threshold == 1.0:  # see test_correct_means_equal_to_the_threshold
                assert best.correct or not previous.correct
        previous = best


def test_correct_means_equal_to_the_threshold() -> None:
    # PIE compares accuracy_best@k == threshold_accuracy: at 0.95, accuracy 1.0 is "incorrect"
    row = MetricRow("p1", 1.0, 1.0, (MetricCandidate(1.0, 0.95), MetricCandidate(1.0, 1.0)))
    assert best_at(row, 1, 0.95).correct
    assert not best_at(row, 2, 0.95).correct


@given(st.lists(rows, min_size=1, max_size=8))
def test_aggregates_are_shares_and_thresholds_nest(table: list[MetricRow]) -> None:
    result = aggregate_metrics(table)
    for k in range(1, 5):
        shares = [
            result[f"percent_programs_speedup_best@{k}>=speedup_threshold_{t}"]
            for t in SPEEDUP_THRESHOLDS
        ]
        assert all(0.0 <= s <= 1.0 for s in shares)
        assert shares == sorted(shares, reverse=True)
        assert result[f"mean_speedup_best@{k}"] >= 1.0
        assert 0.0 <= result[f"is_correct_best@{k}"] <= 1.0


def test_column_names_are_pies() -> None:
    result = aggregate_metrics([MetricRow("p1", 2.0, 1.0, (MetricCandidate(1.0, 1.0),))])
    assert "percent_programs_speedup_best@1>=speedup_threshold_1.1" in result
    assert "percent_programs_speedup_tgt_over_src>=speedup_threshold_10.0" in result
    assert "percent_programs_speedup_fastest_generated_over_src>=speedup_threshold_1.5" in result
    assert (
        "mean_accuracy_best@1" in result
        and "fastest_generated_speedup_over_all_submissions" in result
    )


def test_worked_example() -> None:
    table = [
        # candidate 0 is fast but wrong; candidate 1 is correct and 2x faster than src
        MetricRow("p1", 4.0, 1.0, (MetricCandidate(0.5, 0.5), MetricCandidate(2.0, 1.0))),
        # nothing correct: speedup floors at 1.0, runtime inf
        MetricRow("p2", 3.0, 1.5, (MetricCandidate(None, None), MetricCandidate(1.0, 0.0))),
    ]
    result = aggregate_metrics(table)
    assert result["mean_accuracy_best@1"] == 0.25  # (0.5 + 0.0) / 2
    assert result["mean_accuracy_best@2"] == 0.5  # (1.0 + 0.0) / 2
    assert result["is_correct_best@1"] == 0.0
    assert result["is_correct_best@2"] == 0.5
    assert result["mean_speedup_best@1"] == 1.0
    assert result["mean_speedup_best@2"] == 1.5  # (2.0 + 1.0) / 2
    assert result["percent_programs_speedup_best@2>=speedup_threshold_2.0"] == 0.5
    assert result["mean_speedup_tgt_over_src"] == 3.0  # (4/1 + 3/1.5) / 2, not floored
    assert result["fastest_generated_correctness_over_all_submissions"] == 0.5
    assert result["fastest_generated_speedup_over_all_submissions"] == 1.5


def test_failed_source_gives_infinite_speedup_as_pie_does() -> None:
    row = MetricRow("p1", math.inf, 1.0, (MetricCandidate(1.0, 1.0),))
    assert best_at(row, 1, 1.0).speedup == math.inf


@given(st.lists(st.floats(0.0, 10.0), min_size=2, max_size=50), st.integers(0, 5))
def test_bootstrap_interval_brackets_the_mean_and_is_reproducible(
    values: list[float], seed: int
) -> None:
    low, high = bootstrap_interval(values, resamples=200, seed=seed)
    assert low <= high
    assert min(values) - 1e-9 <= low and high <= max(values) + 1e-9
    assert bootstrap_interval(values, resamples=200, seed=seed) == (low, high)


def test_bootstrap_of_nothing_is_nan() -> None:
    low, high = bootstrap_interval([])
    assert math.isnan(low) and math.isnan(high)
