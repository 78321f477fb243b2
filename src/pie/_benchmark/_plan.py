"""From PIE's jsonl rows to the work of a benchmark run: rows, their programs, the problems.

Each row holds a slow program (``slow_code_col``), a reference (``reference_code_col``) and k
generated candidates (one program or a list).  A *program* is what gets compiled, run and
timed; identical programs of a problem (a candidate equal to another, or to the src) are
evaluated once.  Rows that cannot be used are kept as issues with their line number, so the run
reports them and goes on.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from pie._config import BenchmarkConfig
from pie._errors import InputError
from pie._hashing import key_of
from pie._public import public


@attrs.frozen
class Program:
    """One program to evaluate on one problem's tests."""

    key: str
    problem_id: str
    code: str
    indices: tuple[int, ...] | None

    @classmethod
    def of(cls, problem_id: str, code: str, indices: tuple[int, ...] | None) -> Program:
        return cls(key_of(problem_id, repr(indices), code), problem_id, code, indices)


@attrs.frozen
class Entry:
    """A row's program under one code type (``src_code``, ``generated_answers_0``, ...).

    ``program`` is None when there is nothing to evaluate: ``recorded`` then holds PIE's
    recorded runtime (src/tgt without ``redo_src_tgt`` on gem5) or ``missing`` says why."""

    code_type: str
    program: Program | None
    recorded: float | None = None
    missing: str | None = None


@attrs.frozen
class PlannedRow:
    position: int  # order in the output files
    line: int  # line in the generated-outputs file; 0 for reference padding rows
    problem_id: str
    fields: dict[str, Any] = attrs.field(eq=False)  # the row's other columns, kept verbatim
    src: Entry
    tgt: Entry
    candidates: tuple[Entry, ...]
    padding: bool = False  # a reference row without generated output (PIE counts it failed)

    def entries(self) -> Iterator[Entry]:
        yield self.src
        yield self.tgt
        yield from self.candidates


@public
@attrs.frozen
class Issue:
    """A row that could not be used, or a part of one that could not be evaluated."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@attrs.frozen
class Plan:
    rows: tuple[PlannedRow, ...]
    programs: tuple[Program, ...]  # unique, in first-use order
    issues: tuple[Issue, ...]
    num_generated: int
    skipped_same: int  # rows whose src equals tgt (PIE drops them)


def read_rows(path: Path, issues: list[Issue]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) of each parsable JSON object line; a broken line becomes an issue."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                issues.append(Issue(str(path), number, f"not UTF-8 (byte {error.start})"))
                continue
            except ValueError as error:
                issues.append(Issue(str(path), number, f"not a JSON object: {error}"))
                continue
            if not isinstance(row, dict):
                issues.append(Issue(str(path), number, "not a JSON object"))
                continue
            yield number, row


def candidate_list(value: Any) -> list[Any]:
    """PIE's candidate column: one program, a list of k, or a list written as a string."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "[" and value[-1] == "]":
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError("a string that looks like a list but does not parse") from None
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def test_indices(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value
    ):
        return tuple(sorted(set(value)))
    raise ValueError(f"'tests' must be a list of test numbers, got {value!r}")


def recorded_runtime(row: dict[str, Any], column: str) -> float | None:
    value = row.get(column)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class _Planner:
    def __init__(self, config: BenchmarkConfig, evaluate_src_tgt: bool) -> None:
        self.config = config
        self.evaluate_src_tgt = evaluate_src_tgt
        self.issues: list[Issue] = []
        self.programs: dict[str, Program] = {}
        self._has_tests: dict[str, bool] = {}

    def missing_tests(self, problem_id: str) -> str | None:
        """Why a problem's programs will be IE: its test folder is missing (checked once)."""
        root = self.config.testcases_dir
        if root is None:
            return None
        if problem_id not in self._has_tests:
            self._has_tests[problem_id] = (root / problem_id).is_dir()
        if self._has_tests[problem_id]:
            return None
        return f"no test folder {root / problem_id}: the row's programs are IE (not evaluated)"

    def program(self, problem_id: str, code: str, indices: tuple[int, ...] | None) -> Program:
        made = Program.of(problem_id, code, indices)
        return self.programs.setdefault(made.key, made)

    def code_entry(
        self, code_type: str, code: Any, problem_id: str, indices: tuple[int, ...] | None
    ) -> Entry:
        if code is None:
            return Entry(code_type, None, missing="no program")
        if not isinstance(code, str):
            return Entry(code_type, None, missing=f"not a string but {type(code).__name__}")
        if not code.strip():
            return Entry(code_type, None, missing="empty program")
        return Entry(code_type, self.program(problem_id, code, indices))

    def reference_entry(
        self, code_type: str, row: dict[str, Any], problem_id: str, indices: tuple[int, ...] | None
    ) -> Entry:
        recorded = recorded_runtime(row, code_type.replace("_code", "_agg_runtime"))
        if not self.evaluate_src_tgt and recorded is not None:
            return Entry(code_type, None, recorded=recorded)
        return self.code_entry(code_type, row.get(code_type), problem_id, indices)

    def row(self, position: int, line: int, row: dict[str, Any]) -> PlannedRow:
        """Raises ValueError with the reason when the row cannot be used at all."""
        cfg = self.config
        problem_id = row.get("problem_id")
        if not isinstance(problem_id, str) or not problem_id:
            raise ValueError("no 'problem_id' (a string such as \"p02547\")")
        if not isinstance(row.get(cfg.slow_code_col), str):
            raise TypeError(f"no slow program in column {cfg.slow_code_col!r}")
        indices = test_indices(row.get("tests"))
        generated = candidate_list(row.get(cfg.model_generated_potentially_faster_code_col))
        column = cfg.model_generated_potentially_faster_code_col
        candidates = tuple(
            self.code_entry(f"{column}_{i}", code, problem_id, indices)
            for i, code in enumerate(generated)
        )
        code_columns = {cfg.slow_code_col, cfg.reference_code_col, column}
        return PlannedRow(
            position=position,
            line=line,
            problem_id=problem_id,
            fields={k: v for k, v in row.items() if k not in code_columns},
            src=self.reference_entry(cfg.slow_code_col, row, problem_id, indices),
            tgt=self.reference_entry(cfg.reference_code_col, row, problem_id, indices),
            candidates=candidates,
        )


def _pair_key(row: dict[str, Any], config: BenchmarkConfig) -> tuple[str, str]:
    """The (src, tgt) pair PIE deduplicates rows by, in a hashable form whatever the JSON."""
    return (
        json.dumps(row.get(config.slow_code_col)),
        json.dumps(row.get(config.reference_code_col)),
    )


def make_plan(config: BenchmarkConfig, evaluate_src_tgt: bool) -> Plan:
    """Read the generated outputs and the reference file into a plan; nothing is run."""
    planner = _Planner(config, evaluate_src_tgt)
    source = str(config.model_generated_outputs_path)
    rows: list[PlannedRow] = []
    seen: set[tuple[str, str]] = set()
    skipped_same = 0
    column = config.model_generated_potentially_faster_code_col
    columns_seen: set[str] = set()
    for line, row in read_rows(config.model_generated_outputs_path, planner.issues):
        columns_seen.update(row)
        if 0 <= config.num_problems_to_evaluate <= len(rows):
            break
        pair = _pair_key(row, config)
        if pair[0] == pair[1]:
            skipped_same += 1  # PIE drops these: nothing to improve on
            continue
        if pair in seen:
            planner.issues.append(
                Issue(source, line, "duplicate src/tgt pair; PIE keeps the first")
            )
            continue
        try:
            planned = planner.row(len(rows), line, row)
        except (TypeError, ValueError) as error:
            planner.issues.append(Issue(source, line, str(error)))
            continue
        seen.add(pair)
        rows.append(planned)
        missing_tests = planner.missing_tests(planned.problem_id)
        if missing_tests is not None:
            planner.issues.append(Issue(source, line, missing_tests))
        if not planned.candidates:
            planner.issues.append(Issue(source, line, f"no candidates in column {column!r}"))
        for entry in planned.entries():
            if entry.missing is not None and entry.code_type != config.reference_code_col:
                planner.issues.append(Issue(source, line, f"{entry.code_type}: {entry.missing}"))
    if rows and column not in columns_seen:
        raise _no_candidate_column(column, columns_seen)
    rows.extend(_padding_rows(config, seen, len(rows), planner.issues))
    num_generated = max((len(r.candidates) for r in rows), default=0)
    return Plan(
        rows=tuple(_pad_candidates(r, num_generated, config) for r in rows),
        programs=tuple(planner.programs.values()),
        issues=tuple(planner.issues),
        num_generated=num_generated,
        skipped_same=skipped_same,
    )


def _no_candidate_column(column: str, columns: set[str]) -> InputError:
    """No row has the candidates: a wrong column name, not a row problem; nothing runs."""
    close = difflib.get_close_matches(column, sorted(columns), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return InputError(
        f"no row has the candidate column {column!r} (model_generated_potentially_faster_code_col)"
        f"; {hint}the rows have: {', '.join(sorted(columns))}"
    )


def _pad_candidates(row: PlannedRow, k: int, config: BenchmarkConfig) -> PlannedRow:
    """Rows with fewer than k candidates get missing ones, as PIE's None columns."""
    column = config.model_generated_potentially_faster_code_col
    extra = tuple(
        Entry(f"{column}_{i}", None, missing="no program") for i in range(len(row.candidates), k)
    )
    return attrs.evolve(row, candidates=row.candidates + extra) if extra else row


def _padding_rows(
    config: BenchmarkConfig, seen: set[tuple[str, str]], start: int, issues: list[Issue]
) -> Iterator[PlannedRow]:
    """Reference rows with no generated output count as failed rows, as in PIE's report."""
    if config.reference_file_path.resolve() == config.model_generated_outputs_path.resolve():
        return
    reference_issues: list[Issue] = []
    position = start
    for line, row in read_rows(config.reference_file_path, reference_issues):
        pair = _pair_key(row, config)
        if pair in seen or pair[0] == pair[1]:
            continue
        seen.add(pair)
        problem_id = str(row.get("problem_id", ""))
        none = Entry(config.slow_code_col, None, missing="reference row without generated output")
        yield PlannedRow(
            position=position,
            line=line,
            problem_id=problem_id,
            fields={"problem_id": problem_id},
            src=none,
            tgt=attrs.evolve(none, code_type=config.reference_code_col),
            candidates=(),
            padding=True,
        )
        position += 1
    issues.extend(reference_issues)
