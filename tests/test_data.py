"""Test-folder loading and small parsers, with hypothesis where input is free-form."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie._data import demo_root, load_test_cases, read_jsonl
from pie.cli._run import parse_indices


def test_tests_are_ordered_numerically(tmp_path: Path) -> None:
    for index in (10, 2, 0, 1):
        (tmp_path / f"input.{index}.txt").write_text("")
        (tmp_path / f"output.{index}.txt").write_text("")
    (tmp_path / "output.json").write_text("{}")  # PIE leftovers are ignored
    assert [c.index for c in load_test_cases(tmp_path)] == [0, 1, 2, 10]


def test_gaps_in_numbering_are_fine(tmp_path: Path) -> None:
    for index in (0, 5):
        (tmp_path / f"input.{index}.txt").write_text("")
        (tmp_path / f"output.{index}.txt").write_text("")
    assert [c.index for c in load_test_cases(tmp_path)] == [0, 5]


def test_missing_output_is_named(tmp_path: Path) -> None:
    (tmp_path / "input.0.txt").write_text("")
    with pytest.raises(pie.InputError, match=r"no output\.0\.txt"):
        load_test_cases(tmp_path)


def test_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(pie.InputError, match="holds no input"):
        load_test_cases(tmp_path)


def test_unknown_index_is_named(tmp_path: Path) -> None:
    (tmp_path / "input.0.txt").write_text("")
    (tmp_path / "output.0.txt").write_text("")
    with pytest.raises(pie.InputError, match=r"no input for test\(s\) \[3\]"):
        load_test_cases(tmp_path, [3])


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20))
def test_parse_indices_round_trips(values: list[int]) -> None:
    assert parse_indices(",".join(map(str, values))) == values


@given(st.text(max_size=30))
def test_parse_indices_never_crashes(text: str) -> None:
    try:
        values = parse_indices(text)
    except pie.InputError as error:
        assert "--indices" in str(error)
    else:
        assert values and all(v >= 0 for v in values)


def test_broken_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{broken\n')
    rows = read_jsonl(path)
    assert next(rows) == {"a": 1}
    with pytest.raises(pie.InputError, match=r"rows\.jsonl:2"):
        next(rows)


def test_demo_data_is_small_and_complete() -> None:
    root = demo_root()
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 1_000_000
    rows = list(read_jsonl(root / "problems.jsonl"))
    assert rows
    for row in rows:
        assert load_test_cases(root / "tests" / row["problem_id"])
        assert row["src_code"] and row["tgt_code"]


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="time limit"):
        pie.Limits(time_limit=0)
    with pytest.raises(ValueError, match="memory limit"):
        pie.Limits(memory_limit=1)
