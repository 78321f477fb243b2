"""Test folders in PIE/CodeNet layout (``input.N.txt`` / ``output.N.txt``) and the demo data."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from pie._errors import InputError
from pie._hashing import key_of
from pie._model import TestCase
from pie._public import public

_INPUT = re.compile(r"input\.(\d+)\.txt")


def load_test_cases(directory: Path, indices: Sequence[int] | None = None) -> tuple[TestCase, ...]:
    """Every ``input.N.txt`` with its ``output.N.txt``, ordered by N (numerically)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(
            f"test folder {directory} does not exist; pass a folder holding "
            "input.N.txt / output.N.txt pairs (PIE/CodeNet layout)"
        )
    found: dict[int, Path] = {}
    for path in directory.iterdir():
        match = _INPUT.fullmatch(path.name)
        if match:
            found[int(match.group(1))] = path
    if not found:
        raise InputError(
            f"test folder {directory} holds no input.N.txt files; "
            "expected pairs input.0.txt / output.0.txt, input.1.txt / output.1.txt, ..."
        )
    wanted = sorted(found) if indices is None else list(indices)
    missing_inputs = [i for i in wanted if i not in found]
    if missing_inputs:
        raise InputError(
            f"test folder {directory} has no input for test(s) {missing_inputs}; "
            f"available: {sorted(found)}"
        )
    cases = []
    for index in wanted:
        expected = directory / f"output.{index}.txt"
        if not expected.is_file():
            raise InputError(
                f"test {index} in {directory} has input.{index}.txt but no output.{index}.txt; "
                "add the expected output or drop the test with --indices"
            )
        cases.append(TestCase(index, found[index], expected))
    return tuple(cases)


def test_digest(case: TestCase) -> str:
    """Hash of a test's input and expected output (memoised while the files are unchanged)."""
    stats = [case.input.stat(), case.output.stat()]
    return _digest(
        str(case.input),
        str(case.output),
        *(s.st_mtime_ns for s in stats),
        *(s.st_size for s in stats),
    )


@functools.lru_cache(maxsize=65536)
def _digest(given: str, expected: str, *_: int) -> str:
    return key_of(Path(given).read_bytes(), Path(expected).read_bytes())


def input_digest(case: TestCase) -> str:
    """Hash of a test's input alone: what a timing depends on."""
    stat = case.input.stat()
    return _input_digest(str(case.input), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=65536)
def _input_digest(given: str, *_: int) -> str:
    return key_of(Path(given).read_bytes())


def demo_root() -> Path:
    """The bundled demo problems (``problems.jsonl`` and ``tests/<problem_id>/``)."""
    return Path(str(resources.files("pie").joinpath("demo")))


@public
@attrs.frozen
class DemoProblem:
    """One bundled PIE problem (``pie demo``): PIE's slow program (``src_code``) and its faster
    version (``tgt_code``), the test folder, and the speedup PIE recorded with gem5 on its own,
    larger, test set."""

    problem_id: str
    src_code: str
    tgt_code: str
    tests: Path
    pie_gem5_speedup: float | None


def demo_problems() -> tuple[DemoProblem, ...]:
    """The bundled problems, in their file's order."""
    root = demo_root()
    return tuple(
        DemoProblem(
            problem_id=row["problem_id"],
            src_code=row["src_code"],
            tgt_code=row["tgt_code"],
            tests=root / "tests" / row["problem_id"],
            pie_gem5_speedup=row.get("speedup"),
        )
        for row in read_jsonl(root / "problems.jsonl")
    )


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as error:
                raise InputError(f"{path}:{number}: not a JSON object ({error})") from None
