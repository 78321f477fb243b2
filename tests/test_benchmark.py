"""``pie evaluate``: PIE's files and metrics, per-row input problems, resume after a kill."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

import pie
from pie._benchmark import Benchmark, timing_backend
from pie._config import load_config
from pie._sandbox import Sandbox
from pie._timing._cycles import QEMU_MODEL
from tests.conftest import SUM_OK, launcher_witness, make_tests
from tests.test_cli import pie as cli

DEMO = Path(pie.__file__).parent / "demo"
PIE_FILES = (
    "test_results.jsonl",
    "melted_test_results.jsonl",
    "aggregated_results.csv",
    "addtl_stats.jsonl",
)


def candidates_rows(source: Path, count: int | None = None) -> list[dict[str, Any]]:
    """PIE rows with src as candidate 0 and tgt as candidate 1."""
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    for row in rows:
        row["generated_answers"] = [row["src_code"], row["tgt_code"]]
    return rows[:count]


def write_run(folder: Path, rows: list[dict[str, Any]], tests: Path, **keys: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    generated = folder / "generated.jsonl"
    generated.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {
        "model_generated_outputs_path": str(generated),
        "reference_file_path": str(generated),
        "output_dir": str(folder / "out"),
        "testcases_dir": str(tests),
        "timing": "none",
        **keys,
    }
    path = folder / "config.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in config.items()))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def aggregated(out: Path) -> dict[str, float]:
    with (out / "aggregated_results.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    return {k: float(v) if v else math.nan for k, v in row.items()}


def floor_at_one(value: float) -> float:
    return value if value > 1.0 else 1.0


def independent_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """best@1/best@2 and tgt/src recomputed from test_results.jsonl, without pie's code."""

    def runtime(row: dict[str, Any], name: str) -> float:
        value = row[f"{name}_agg_runtime"]
        return math.inf if value is None else value

    best1, best2, tgt, correct2 = [], [], [], []
    for row in rows:
        src = runtime(row, "src_code")
        times = []
        for i in (0, 1):
            ok = row[f"generated_answers_{i}_accuracy"] == 1.0
            times.append(runtime(row, f"generated_answers_{i}") if ok else math.inf)
        best1.append(floor_at_one(src / times[0]))
        best2.append(floor_at_one(src / min(times)))
        correct2.append(
            max(row["generated_answers_0_accuracy"], row["generated_answers_1_accuracy"]) == 1.0
        )
        tgt.append(src / runtime(row, "tgt_code"))
    n = len(rows)
    return {
        "mean_speedup_best@1": sum(best1) / n,
        "mean_speedup_best@2": sum(best2) / n,
        "is_correct_best@2": sum(correct2) / n,
        "percent_programs_speedup_best@2>=speedup_threshold_1.1": sum(s >= 1.1 for s in best2) / n,
        "mean_speedup_tgt_over_src": sum(tgt) / n,
    }


def test_shared_slice_writes_pie_files_whose_metrics_match_an_independent_computation(
    shared_data: Path, tmp_path: Path, cache_dir: Path
) -> None:
    rows = candidates_rows(shared_data / "problems.jsonl", 3)
    config = write_run(tmp_path, rows, shared_data / "tests", timing="qemu")
    done = cli("evaluate", str(config), "--quiet")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    for name in (*PIE_FILES, "run.json"):
        assert (out / name).is_file(), name
    unmelted = read_jsonl(out / "test_results.jsonl")
    assert len(unmelted) == 3
    for row in unmelted:
        for column in ("src_code", "tgt_code", "generated_answers_0", "generated_answers_1"):
            for suffix in ("_compilation", "_accuracy", "_agg_runtime", "_tc2time"):
                assert column + suffix in row
    melted = read_jsonl(out / "melted_test_results.jsonl")
    assert {m["code_type"] for m in melted} == {
        "src_code",
        "tgt_code",
        "generated_answers_0",
        "generated_answers_1",
    }
    for m in melted:
        assert {"code", "compilation", "accuracy", "agg_runtime", "tc2time"} <= set(m)
    extra = read_jsonl(out / "addtl_stats.jsonl")
    assert {"speedup_best@2", "is_correct_best@2", "speedup_tgt_over_src"} <= set(extra[0])
    expected = independent_metrics(unmelted)
    got = aggregated(out)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
    # src is candidate 0: best@1 never beats the src, best@2 is the tgt
    assert got["mean_speedup_best@1"] == 1.0
    assert got["mean_speedup_best@2"] >= 1.0
    run = json.loads((out / "run.json").read_text())
    assert run["backend"] == "qemu" and run["unit"] == "cycles"
    # the summary the runs had (with the launcher's probes), as pie doctor shows it
    probed = Sandbox(cache_dir, slots=1)
    try:
        assert run["sandbox"] == probed.host.summary
    finally:
        probed.close()
    assert run["verdicts"]["generated"] == {"AC": 6}
    # the runtimes' model, and how far it followed gem5, travel with the numbers
    model = QEMU_MODEL
    assert run["quantity"] == model.quantity().to_json()
    assert run["settings"]["quantity"] == model.key
    marked = run["startup_dominated"]
    assert {"rule", "tgt_over_src", "best@2"} <= set(marked)
    faster = [
        i
        for i, r in enumerate(unmelted)
        if r["src_code_agg_runtime"] >= 1.1 * r["tgt_code_agg_runtime"]
    ]
    assert marked["tgt_over_src"]["faster_rows"] == len(faster)
    assert set(marked["tgt_over_src"]["rows"]) <= set(faster)
    shown = cli("report", str(out))
    assert shown.returncode == 0, shown.stderr
    lines = {line.split("  ")[0]: line for line in shown.stdout.splitlines()}
    assert f"{model.name} v{model.version}" in lines["timing quantity"]
    assert f"Spearman {model.agreement.spearman:.3f}" in lines["quantity vs PIE's gem5"]
    # and how large a difference between two rows of one problem it orders as gem5 did
    for bin_, share in model.agreement.pairs_ordered.items():
        assert f"{100 * share:.1f}% if PIE's differ by {bin_}" in lines["two rows ordered as PIE's"]
    # no cell stretches the table on a terminal (it once held all three, ~300 characters)
    assert max(len(line) for line in shown.stdout.splitlines()) <= 160
    assert model.agreement.pairs_ordered
    tgt = marked["tgt_over_src"]
    assert (
        f"{tgt['mostly_startup']} of {tgt['faster_rows']} rows"
        in lines["mostly start-up, tgt over src"]
    )
    assert "mostly start-up: more than half" in (out / "report.md").read_text()


def test_a_run_journaled_before_the_cycle_model_does_not_resume(
    tmp_path: Path, sum_tests: Path
) -> None:
    """Its runtimes are instruction counts: resuming would mix them with cycles."""
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    rows = [{**row, "generated_answers": [SUM_OK]}]
    config = write_run(tmp_path, rows, sum_tests.parent, timing="qemu")
    settings = Benchmark(load_config(config)).settings()
    assert settings["quantity"] == QEMU_MODEL.key
    del settings["quantity"]  # what a journal of pie before the model holds
    journal = tmp_path / "out" / ".pie" / "journal.jsonl"
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"settings": settings}) + "\n")
    done = cli("evaluate", str(config), "--quiet")
    assert done.returncode == 2
    assert f"quantity: None -> {QEMU_MODEL.key!r}" in done.stderr


@pytest.fixture
def demo_run(tmp_path: Path) -> Path:
    rows = candidates_rows(DEMO / "problems.jsonl")
    return write_run(tmp_path / "run", rows, DEMO / "tests", timing="qemu")


def wait_for_journal_lines(journal: Path, lines: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= lines:
            return
        time.sleep(0.05)
    raise AssertionError(f"the run ended or stalled before {lines - 1} programs were journaled")


def start(config: Path, cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pie.cli", "evaluate", str(config)],
        env={**os.environ, "PIE_CACHE_DIR": str(cache)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_run_resumes_to_the_same_files_as_an_uninterrupted_one(
    demo_run: Path, tmp_path: Path, how: signal.Signals
) -> None:
    cache = tmp_path / f"cold-{how.name}"  # cold, so the kill lands mid-run
    process = start(demo_run, cache)
    journal = demo_run.parent / "out" / ".pie" / "journal.jsonl"
    wait_for_journal_lines(journal, 2, process)  # header + one finished program
    process.send_signal(how)
    _, stderr = process.communicate(timeout=120)
    if how is signal.SIGINT:
        assert process.returncode == 130
        assert "run 'pie evaluate" in stderr and "again to resume" in stderr
    finished_before = journal.read_text().count("\n") - 1
    assert not (demo_run.parent / "out" / "aggregated_results.csv").exists()

    resumed = start(demo_run, cache)
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"{finished_before} done before" in stderr
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "a finished program was evaluated again"

    reference = demo_run.parent.parent / "reference"
    rows = candidates_rows(DEMO / "problems.jsonl")
    uninterrupted = write_run(reference, rows, DEMO / "tests", timing="qemu")
    done = cli("evaluate", str(uninterrupted), "--quiet")
    assert done.returncode == 0, done.stderr
    for name in PIE_FILES:
        assert (demo_run.parent / "out" / name).read_bytes() == (
            reference / "out" / name
        ).read_bytes(), name


def test_bad_rows_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    tests = make_tests(tmp_path / "tests" / "p1", [("3 4\n", "7\n")]).parent
    good = {"problem_id": "p1", "src_code": SUM_OK, "tgt_code": SUM_OK + "\n// tgt\n"}
    rows = [
        {**good, "generated_answers": [SUM_OK, ""]},
        {**good, "problem_id": "p_missing", "tgt_code": "//m", "generated_answers": [SUM_OK]},
        {"src_code": SUM_OK, "tgt_code": "x", "generated_answers": [SUM_OK]},
        {**good, "src_code": "same", "tgt_code": "same"},
        {**good, "tgt_code": SUM_OK + "//2", "generated_answers": "['int main(){}']"},
    ]
    config = write_run(tmp_path, rows, tests)
    with (tmp_path / "generated.jsonl").open("ab") as handle:
        handle.write(b"{not json\n\xff\xfe\n")
    done = cli("evaluate", str(config))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    run = json.loads((out / "run.json").read_text())
    issues = "\n".join(run["issues"])
    assert "generated.jsonl:3: no 'problem_id'" in issues
    assert "generated.jsonl:1: generated_answers_1: empty program" in issues
    assert "generated.jsonl:6: not a JSON object" in issues
    assert "generated.jsonl:7: not UTF-8" in issues
    assert run["rows_skipped_src_equals_tgt"] == 1
    assert run["rows"] == 3
    melted = read_jsonl(out / "melted_test_results.jsonl")
    missing = [m for m in melted if m["problem_id"] == "p_missing"]
    assert missing and all(m["verdict"] == "IE" for m in missing)
    unmelted = read_jsonl(out / "test_results.jsonl")
    assert unmelted[2]["generated_answers_0_verdict"] == "WA"  # the list written as a string
    assert "input problem(s)" in done.stderr


def test_padding_rows_of_the_reference_count_as_failed(tmp_path: Path) -> None:
    tests = make_tests(tmp_path / "tests" / "p1", [("3 4\n", "7\n")]).parent
    row = {"problem_id": "p1", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    reference = tmp_path / "reference.jsonl"
    reference.write_text(json.dumps(row) + "\n" + json.dumps({**row, "src_code": "other"}) + "\n")
    generated = [{**row, "generated_answers": [SUM_OK]}]
    config = write_run(tmp_path, generated, tests, reference_file_path=str(reference))
    done = cli("evaluate", str(config), "--quiet")
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["rows"] == 2 and run["padding_rows"] == 1
    assert aggregated(tmp_path / "out")["mean_accuracy_best@1"] == pytest.approx(0.5)


def test_a_config_with_other_settings_does_not_resume_someone_elses_run(
    tmp_path: Path, sum_tests: Path
) -> None:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    config = write_run(tmp_path, [{**row, "generated_answers": [SUM_OK]}], sum_tests.parent)
    assert cli("evaluate", str(config), "--quiet").returncode == 0
    config.write_text(config.read_text() + "time_limit: 3\n")
    done = cli("evaluate", str(config), "--quiet")
    assert done.returncode == 2
    assert "other settings (time_limit: 10.0 -> 3.0)" in done.stderr


async def test_streaming_api_yields_every_row_and_the_same_metrics(
    tmp_path: Path, sum_tests: Path, anyio_backend: str
) -> None:
    rows = [
        {
            "problem_id": "sum",
            "src_code": SUM_OK,
            "tgt_code": SUM_OK + f"//{i}",
            "generated_answers": [SUM_OK + f"// c{i}", "int main(){}"],
        }
        for i in range(3)
    ]
    config = write_run(tmp_path / anyio_backend, rows, sum_tests.parent, timing="qemu")
    benchmark = Benchmark(load_config(config))
    seen = [row async for row in benchmark.rows()]
    assert sorted(r.position for r in seen) == [0, 1, 2]
    for row in seen:
        assert row.candidates[0] is not None and row.candidates[0].verdict == "AC"
        assert row.candidates[1] is not None and row.candidates[1].verdict == "WA"
        assert len(row.speedup_best) == 2 and row.speedup_best[0] >= 1.0
    assert benchmark.result is not None
    again = await pie.evaluate_benchmark(config)
    assert again.aggregated == benchmark.result.aggregated
    assert again.aggregated["is_correct_best@2"] == 1.0


def test_report_prints_the_headline_and_compares_two_runs(tmp_path: Path, sum_tests: Path) -> None:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    first = write_run(
        tmp_path / "a",
        [{**row, "generated_answers": [SUM_OK]}],
        sum_tests.parent,
        timing="qemu",
    )
    second = write_run(
        tmp_path / "b",
        [{**row, "generated_answers": ["int main(){}"]}],
        sum_tests.parent,
        timing="qemu",
    )
    for config in (first, second):
        assert cli("evaluate", str(config), "--quiet").returncode == 0
    done = cli("report", str(tmp_path / "a" / "out"), str(tmp_path / "b" / "out"))
    assert done.returncode == 0, done.stderr
    lines = {line.split("  ")[0]: line for line in done.stdout.splitlines()}
    assert "100.0%" in lines["%correct best@1"] and "0.0%" in lines["%correct best@1"]
    report = (tmp_path / "a" / "out" / "report-vs-b_out.md").read_text()
    assert "| %correct best@1 |" in report
    for image in ("speedup_hist", "speedup_cdf", "best_at_k"):
        assert f"![{image}-vs-b_out.png]" in report
        png = tmp_path / "a" / "out" / f"{image}-vs-b_out.png"
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / "a" / "out" / f"{image}.png").read_bytes()[:4] == b"\x89PNG"  # own
    missing = cli("report", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_rows_without_candidates_are_reported_and_still_summarised(
    tmp_path: Path, sum_tests: Path
) -> None:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    rows = [row, {**row, "tgt_code": SUM_OK + "//u", "gen": [SUM_OK]}]
    config = write_run(
        tmp_path, rows, sum_tests.parent, model_generated_potentially_faster_code_col="gen"
    )
    done = cli("evaluate", str(config))
    assert done.returncode == 0, done.stderr
    assert "generated.jsonl:1: no candidates in column 'gen'" in done.stderr
    assert "verdicts src" in done.stdout and "AC 2" in done.stdout
    assert cli("report", str(tmp_path / "out")).returncode == 0


def test_a_candidate_column_no_row_has_stops_the_run_before_any_work(
    tmp_path: Path, sum_tests: Path
) -> None:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    config = write_run(
        tmp_path, [row], sum_tests.parent, model_generated_potentially_faster_code_col="gen"
    )
    done = cli("evaluate", str(config))
    assert done.returncode == 2
    assert "no row has the candidate column 'gen'" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing was started, not even the journal


def test_a_resumed_run_and_its_files_say_what_the_first_part_did(
    tmp_path: Path, sum_tests: Path
) -> None:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    first = write_run(tmp_path, [{**row, "generated_answers": [SUM_OK]}], sum_tests.parent)
    assert cli("evaluate", str(first), "--quiet").returncode == 0  # 2 programs, both AC
    rows = [
        {**row, "generated_answers": [SUM_OK]},
        {**row, "problem_id": "nowhere", "tgt_code": "//x", "generated_answers": [SUM_OK]},
    ]
    config = write_run(tmp_path, rows, sum_tests.parent)
    done = cli("evaluate", str(config))
    assert done.returncode == 0, done.stderr
    # the resumed part's progress counts the programs finished before it too, and once
    final = [line for line in done.stderr.splitlines() if "4/4 programs" in line]
    assert len(final) == 1, done.stderr
    assert "AC 2" in final[0] and "IE 2" in final[0]
    # a missing test folder is named on stderr, in run.json and in the melted results
    assert "generated.jsonl:2: no test folder" in done.stderr
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert any("no test folder" in issue for issue in run["issues"])
    # the verdict counts of the files and the table cover the first part too
    whole = {"AC": 1, "IE": 1}
    assert run["verdicts"] == {"src": whole, "tgt": whole, "generated": whole}
    table = {line.split("  ")[0]: line.split()[-4:] for line in done.stdout.splitlines()}
    assert table["verdicts src"] == table["verdicts generated"] == ["AC", "1", "IE", "1"]
    melted = read_jsonl(tmp_path / "out" / "melted_test_results.jsonl")
    errors = [m["error"] for m in melted if m["problem_id"] == "nowhere"]
    assert len(errors) == 3 and all(e and "nowhere" in e for e in errors)  # src, tgt, candidate


def test_quiet_still_writes_the_report_and_run_json_names_the_real_sandbox(
    tmp_path: Path, sum_tests: Path
) -> None:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    config = write_run(tmp_path, [{**row, "generated_answers": [SUM_OK]}], sum_tests.parent)
    done = cli("evaluate", str(config), "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (tmp_path / "out" / "report.md").is_file()
    (tmp_path / "out" / "report.md").unlink()
    again = cli("evaluate", str(config), "--quiet")  # all done before: no evaluator starts
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "report.md").is_file()

    async def summary() -> str:
        async with pie.Evaluator() as evaluator:
            return evaluator._live_sandbox.host.summary

    # with the launcher's probe, as pie doctor and the evaluator see it (pidns where it works)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["sandbox"] == anyio.run(summary)


def scratch_folders_of(pid: int) -> set[Path]:
    """The sandbox pool folders a process holds open (their liveness lock): its own only."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = Path(os.readlink(fd))
            if target.parent.name.startswith("pie-slots-"):
                held.add(target.parent)
    return held


def test_a_vanished_scratch_folder_stops_the_run_resumably(demo_run: Path, tmp_path: Path) -> None:
    """An infrastructure failure mid-run: the affected programs are IE with the reason, the
    run stops with the resume hint (no traceback), and running again finishes it."""
    cache = tmp_path / "cold"
    process = start(demo_run, cache)
    journal = demo_run.parent / "out" / ".pie" / "journal.jsonl"
    wait_for_journal_lines(journal, 2, process)
    folders = scratch_folders_of(process.pid)
    assert folders, "the run holds no sandbox folder"
    for folder in folders:
        shutil.rmtree(folder)
    _, stderr = process.communicate(timeout=300)
    assert "Traceback" not in stderr and "ExceptionGroup" not in stderr, stderr
    assert process.returncode == 75, stderr
    assert "pie: IE " in stderr and "infrastructure failure" in stderr
    assert "again to resume" in stderr
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert all(r["outcome"]["verdict"] != "IE" for r in records), "an IE was kept"

    resumed = start(demo_run, cache)
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert {r["outcome"]["verdict"] for r in records} == {"AC"}
    for name in PIE_FILES:
        assert (demo_run.parent / "out" / name).exists()


def test_the_default_timing_is_the_forgery_proof_one(tmp_path: Path) -> None:
    """A config without ``timing`` is timed by qemu where qemu-user exists (the README set-up
    and CI install it)."""
    config = write_run(tmp_path, [], tmp_path)
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(line for line in lines if not line.startswith("timing")))
    assert timing_backend(load_config(config)) == "qemu"


def test_a_run_answered_wholly_from_pies_cache_starts_no_launcher(
    tmp_path: Path, sum_tests: Path
) -> None:
    """A second output_dir over the same cache: every program is in pie's cache but in no
    journal, so the run evaluates them all, from the cache, and needs no sandbox (run.json
    names the sandbox the evaluations recorded)."""
    cache = tmp_path / "cache"
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    rows = [{**row, "generated_answers": [SUM_OK]}]
    first = write_run(tmp_path / "a", rows, sum_tests.parent, cache_dir=str(cache))
    anyio.run(pie.evaluate_benchmark, first)
    launched = tmp_path / "launched"
    with launcher_witness(cache, launched):
        second = write_run(tmp_path / "b", rows, sum_tests.parent, cache_dir=str(cache))
        result = anyio.run(pie.evaluate_benchmark, second)
        assert not launched.exists(), launched.read_text()
    assert result.verdicts == json.loads((tmp_path / "a/out/run.json").read_text())["verdicts"]
    ran = [json.loads((tmp_path / f"{d}/out/run.json").read_text())["sandbox"] for d in "ab"]
    assert ran[0] == ran[1] != ""
