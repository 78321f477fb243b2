"""The ``pie evaluate`` config: PIE's keys as PIE reads them; errors name file, line and key."""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie._benchmark._plan import make_plan
from pie._config import BenchmarkConfig, load_config, parse_config
from pie._errors import InputError
from tests.conftest import SUM_OK

PIE_CONFIG = """\
model_generated_outputs_path: data/generations.jsonl
output_dir: results/run1
reference_file_path: data/test.jsonl
is_prompt_based: false
model_generated_potentially_faster_code_col: generated_answers
slow_code_col: src_code
reference_code_col: tgt_code
cpuset_cpus: "0-39"
do_eval: true
cpus_available: 40
num_problems_to_evaluate: -1
threshold_accuracy: 1.0
redo_src_tgt: false
"""


MINIMAL = "model_generated_outputs_path: g.jsonl\noutput_dir: out\nreference_file_path: r.jsonl\n"


def test_a_pie_config_loads_unchanged_with_pie_defaults() -> None:
    config = parse_config(PIE_CONFIG)
    assert config.model_generated_outputs_path == Path("data/generations.jsonl")
    assert config.threshold_accuracy == 1.0
    assert config.cpus_available == 40
    assert config.timing is None and config.checker == "pie" and config.time_limit == 10.0


def test_pie_keys_extend_it() -> None:
    text = PIE_CONFIG + "timing: wall\ntime_limit: 2\nmemory_limit: 512\nconcurrency: 4\n"
    config = parse_config(text + "testcases_dir: ~/tests\n")
    assert (config.timing, config.time_limit, config.memory_limit) == ("wall", 2.0, 512)
    assert config.testcases_dir == Path("~/tests").expanduser()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("timming: wall\n", "config.yaml:4: unknown key 'timming'"),
        ("timing: fast\n", "timing must be one of none, qemu, wall, gem5, got"),
        ("time_limit: soon\n", "config.yaml:4: time_limit must be a number, got 'soon'"),
        ("memory_limit: 4\n", "config.yaml:4: memory_limit must be at least 16, got 4"),
        ("concurrency: true\n", "config.yaml:4: concurrency must be a whole number"),
        ("threshold_accuracy: 2\n", "threshold_accuracy must be a number between 0 and 1"),
        ("output_dir: again\n", "config.yaml:4: key 'output_dir' is given twice"),
        ("timing: gem5\n", "timing 'gem5' needs 'farm: FARM.yaml'"),
        ("timing: cachegrind\n", "gem5; 'cachegrind' was removed: a program could forge"),
        ("slow_code_col: [a, b]\n", "slow_code_col must be a non-empty string"),
        ("  nested: 1\n", "config.yaml:4: not valid YAML"),
    ],
)
def test_mistakes_name_the_line_the_key_and_what_is_accepted(extra: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_config(MINIMAL + extra, "config.yaml")


def test_missing_required_keys_are_listed() -> None:
    with pytest.raises(InputError, match=r"missing required key.*reference_file_path"):
        parse_config("output_dir: x\nmodel_generated_outputs_path: y\n")


def test_a_file_that_is_not_a_mapping_or_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected a mapping"):
        parse_config("- a\n- b\n")
    binary = tmp_path / "c.yaml"
    binary.write_bytes(b"output_dir: \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8 text"):
        load_config(binary)
    with pytest.raises(InputError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
known_keys = st.sampled_from(
    ["output_dir", "timing", "time_limit", "threshold_accuracy", "concurrency", "checker", "farm"]
)


@given(st.dictionaries(known_keys | st.text(max_size=10), yaml_values, max_size=6))
def test_any_mapping_gives_a_config_or_an_input_error(mapping: dict[str, object]) -> None:
    text = PIE_CONFIG + yaml.safe_dump(mapping) if mapping else PIE_CONFIG
    try:
        config = parse_config(text)
    except InputError as error:
        assert str(error)
    else:
        assert isinstance(config, BenchmarkConfig)


@given(st.text(max_size=200))
def test_any_text_gives_a_config_or_an_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_config(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
row_keys = st.sampled_from(
    ["problem_id", "src_code", "tgt_code", "generated_answers", "tests", "src_agg_runtime"]
)


@given(st.lists(st.dictionaries(row_keys, json_values) | json_values, max_size=6), st.binary())
def test_any_jsonl_rows_give_a_plan_with_issues_never_an_exception(
    rows: list[object], trailing: bytes
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        generated = Path(scratch) / "g.jsonl"
        generated.write_bytes(
            b"".join(json.dumps(r).encode() + b"\n" for r in rows) + trailing + b"\n"
        )
        config = parse_config(
            f"model_generated_outputs_path: {generated}\noutput_dir: {scratch}\n"
            f"reference_file_path: {generated}\n"
        )
        try:
            plan = make_plan(config, evaluate_src_tgt=True)
        except InputError as error:  # the one error for the whole file: no candidates at all
            assert "no row has the candidate column 'generated_answers'" in str(error)
            return
    assert len(plan.rows) + len(plan.issues) + plan.skipped_same >= 0
    for row in plan.rows:
        assert row.problem_id and all(e.code_type for e in row.entries())
        assert all(e.program is None or e.program.code.strip() for e in row.entries())


def test_odd_yaml_shapes_are_config_errors_too() -> None:
    with pytest.raises(InputError, match=r"<config>:1: unknown key None"):
        parse_config("? [a]\n: 1\n")  # a key that is a list
    with pytest.raises(InputError, match="not valid YAML"):
        parse_config("a: " + "[" * 5000)  # nesting past Python's recursion limit


def test_keys_of_pie_perf_are_all_reported_at_once_with_what_to_write_instead() -> None:
    text = MINIMAL + "num_trials: 5\nignore_first_k: 1\nmax_time_per_run: 10\ncpu_number: 3\n"
    with pytest.raises(InputError) as caught:
        parse_config(text, "config.yaml")
    message = str(caught.value)
    assert "config.yaml: 4 problems with keys" in message
    for line, key in ((4, "num_trials"), (5, "ignore_first_k"), (7, "cpu_number")):
        assert f"config.yaml:{line}: unknown key {key!r}" in message
    assert "config.yaml:6: unknown key 'max_time_per_run'; pie's name for it is 'time_limit'" in (
        message
    )


def write_rows(folder: Path, rows: list[dict[str, object]]) -> BenchmarkConfig:
    generated = folder / "g.jsonl"
    generated.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "tests" / "p1").mkdir(parents=True)
    return parse_config(
        f"model_generated_outputs_path: {generated}\noutput_dir: {folder / 'out'}\n"
        f"reference_file_path: {generated}\ntestcases_dir: {folder / 'tests'}\n"
        "model_generated_potentially_faster_code_col: generated_answer\n"
    )


def test_a_candidate_column_that_no_row_has_stops_the_run_before_any_work(
    tmp_path: Path,
) -> None:
    row = {"problem_id": "p1", "src_code": "a", "tgt_code": "b", "generated_answers": ["c"]}
    config = write_rows(tmp_path, [row, {**row, "tgt_code": "d"}])
    with pytest.raises(InputError, match="did you mean 'generated_answers'"):
        make_plan(config, evaluate_src_tgt=True)
    assert not (tmp_path / "out").exists()


def test_a_row_whose_problem_has_no_test_folder_says_so(tmp_path: Path) -> None:
    row = {"problem_id": "p_gone", "src_code": "a", "tgt_code": "b", "generated_answer": ["c"]}
    config = write_rows(tmp_path, [row, {**row, "problem_id": "p1", "tgt_code": "d"}])
    plan = make_plan(config, evaluate_src_tgt=True)
    (issue,) = plan.issues
    assert issue.line == 1 and f"no test folder {tmp_path / 'tests' / 'p_gone'}" in issue.message


def test_one_vocabulary_of_timing_and_checker_names() -> None:
    """The command line, the YAML and the API take the same timing and checker names (the
    registry's and ``pie.CheckMode``'s), and an unknown one is refused alike with the same list."""
    from pie.cli import parser  # noqa: PLC0415

    for name in pie.TIMINGS:
        farm = "farm: farm.yaml\n" if name == "gem5" else ""
        assert parse_config(MINIMAL + farm + f"timing: {name}\n").timing == name
        run = parser().parse_args(["run", "a.cpp", "--tests", "t", "--timing", name])
        assert run.timing == name
    for mode in pie.CheckMode:
        assert parse_config(MINIMAL + f"checker: {mode.value}\n").checker == mode.value
    names = ", ".join(pie.TIMINGS)
    with pytest.raises(InputError, match=f"timing must be one of {names}, got 'fast'"):
        parse_config(MINIMAL + "timing: fast\n")
    with pytest.raises(InputError, match=re.escape(str(tuple(pie.TIMINGS)))):
        pie.evaluate_sync(SUM_OK, [], timing="fast")
    checkers = ", ".join(mode.value for mode in pie.CheckMode)
    with pytest.raises(InputError, match=f"checker must be one of {checkers}"):
        parse_config(MINIMAL + "checker: loose\n")
