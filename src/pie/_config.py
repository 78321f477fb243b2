"""The ``pie evaluate`` YAML config: PIE's ``EvaluationConfig`` keys as PIE reads them, plus
``pie``'s own (DESIGN "pie evaluate config keys").

Everything is checked before any work starts; an error names the file, the line, the key and
what would be accepted, so a typo does not surface an hour into a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from pie._check import CheckMode
from pie._errors import CompilerError, InputError
from pie._model import Limits
from pie._public import public
from pie._timing import REMOVED, TIMINGS, removed
from pie._toolchain import resolve_compiler
from pie._yaml import YamlReader, read_text


@public
@attrs.frozen
class BenchmarkConfig:
    """One benchmark run.  Relative paths are resolved against the working directory, as PIE
    does, so a PIE config keeps working when run from the same place."""

    model_generated_outputs_path: Path
    output_dir: Path
    reference_file_path: Path
    is_prompt_based: bool = False
    model_generated_potentially_faster_code_col: str = "generated_answers"
    slow_code_col: str = "src_code"
    reference_code_col: str = "tgt_code"
    cpuset_cpus: str | None = None
    do_eval: bool = False
    cpus_available: int = 1
    num_problems_to_evaluate: int = -1
    threshold_accuracy: float = 1.0
    redo_src_tgt: bool = False
    num_generated_cols: int | None = None
    # pie's own keys
    testcases_dir: Path | None = None
    timing: str | None = None  # None: qemu where qemu-user exists, else wall
    farm: Path | None = None
    toolchain_root: Path | None = None  # CompileOptions.toolchain_root
    time_limit: float = Limits().time_limit  # one default, the API's
    memory_limit: int = Limits().memory_limit
    checker: str = "pie"
    cache_dir: Path | None = None
    concurrency: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            field.name: str(value) if isinstance(value, Path) else value
            for field, value in ((f, getattr(self, f.name)) for f in attrs.fields(type(self)))
        }


# PIE keys that change nothing in pie, accepted so that PIE configs load unchanged
IGNORED_PIE_KEYS = ("cpuset_cpus", "do_eval", "cpus_available", "num_generated_cols")

Check = Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a non-empty string")
    return value


def _path(value: Any) -> Path:
    return Path(_text(value)).expanduser()


def _toolchain_root(value: Any) -> Path:
    """A root holding a g++ (checked now, not when the first program compiles)."""
    root = _path(value).absolute()
    try:
        resolve_compiler("g++", root)
    except CompilerError:
        raise ValueError("the root of a system with g++ in its usr/bin or bin") from None
    return root


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a whole number")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("a number")
    return float(value)


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        if value not in options:
            known = "one of " + ", ".join(options)
            raise ValueError(f"{known}; {removed(value)}" if value in REMOVED else known)
        return str(value)

    return check


def _at_least(check: Check, low: float) -> Check:
    def bounded(value: Any) -> Any:
        result = check(value)
        if result is not None and result < low:
            raise ValueError(f"at least {low:g}")
        return result

    return bounded


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("a number between 0 and 1")
    return number


def _problem_count(value: Any) -> int:
    number = _integer(value)
    if number == 0 or number < -1:
        raise ValueError("-1 (all rows) or a positive number of rows")
    return number


_KEYS: Mapping[str, Check] = {
    "model_generated_outputs_path": _path,
    "output_dir": _path,
    "reference_file_path": _path,
    "is_prompt_based": _boolean,
    "model_generated_potentially_faster_code_col": _text,
    "slow_code_col": _text,
    "reference_code_col": _text,
    "cpuset_cpus": _optional(str),
    "do_eval": _boolean,
    "cpus_available": _integer,
    "num_problems_to_evaluate": _problem_count,
    "threshold_accuracy": _fraction,
    "redo_src_tgt": _boolean,
    "num_generated_cols": _optional(_integer),
    "testcases_dir": _optional(_path),
    "timing": _optional(_choice(tuple(TIMINGS))),
    "farm": _optional(_path),
    "toolchain_root": _optional(_toolchain_root),
    "time_limit": _at_least(_number, 0.001),
    "memory_limit": _at_least(_integer, 16),
    "checker": _choice(tuple(mode.value for mode in CheckMode)),
    "cache_dir": _optional(_path),
    "concurrency": _optional(_at_least(_integer, 1)),
}
# keys of PIE's other tools (pie-perf's run settings) and what pie reads instead
ADVICE: Mapping[str, str] = {
    "max_time_per_run": "pie's name for it is 'time_limit' (CPU seconds per test)",
    "num_trials": "pie's deterministic timing needs no repeated trials; for wall timing use "
    "'timing: wall' (pie.WallConfig(repetitions=...) in the API)",
    "ignore_first_k": "pie discards warm-up runs itself (pie.WallConfig(warmup=...) in the API)",
    "cpu_number": "pie picks the CPUs itself; 'concurrency' sets how many run at once",
    "cache": "pie's name for it is 'cache_dir' (the cache directory)",
}
_REQUIRED = ("model_generated_outputs_path", "output_dir", "reference_file_path")


def parse_config(text: str, source: str = "<config>") -> BenchmarkConfig:
    """A config from YAML text; ``source`` names it in errors."""
    reader = YamlReader(source)
    root = reader.compose(text)
    if not isinstance(root, yaml.MappingNode):
        raise InputError(f"{source}: expected a mapping of config keys (key: value lines)")
    values: dict[str, Any] = {}
    for key, field in reader.mapping(root, "", tuple(_KEYS), ADVICE).items():
        try:
            values[key] = _KEYS[key](field.value)
        except (TypeError, ValueError) as error:
            problem = f"{key} must be {error}, got {field.value!r}"
            raise reader.error(field.line, "", problem) from None
    missing = [key for key in _REQUIRED if key not in values]
    if missing:
        raise InputError(f"{source}: missing required key(s): {', '.join(missing)}")
    if values.get("timing") == "gem5" and values.get("farm") is None:
        raise InputError(f"{source}: timing 'gem5' needs 'farm: FARM.yaml' (the gem5 hosts)")
    return BenchmarkConfig(**values)


@public
def load_config(path: Path) -> BenchmarkConfig:
    return parse_config(read_text(path, "config", "", InputError), str(path))
