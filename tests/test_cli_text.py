"""What the ``pie`` command says: help texts, human output, the cache commands' options, and
``pie report``'s table, files and plots."""

from __future__ import annotations

import io
import math
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import pie
from pie import _report
from pie.cli import _exit, _progress
from pie.cli._run import summary
from tests.conftest import SUM_OK
from tests.test_benchmark import write_run
from tests.test_cli import pie as cli


def helps(*command: str) -> str:
    done = cli(*command, "--help")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_texts_describe_every_option_default_and_exit_status() -> None:
    top = helps()
    assert "``" not in top and "exit status" in top
    run = helps("run")
    for option in ("--timing", "--check"):
        assert run.split(option, 1)[1].split("\n  -", 1)[0].count(" ") > 8, option  # has a help
    assert "(default: 10.0)" in run and "(default: 1024)" in run and "Exit status" in run
    assert "as one JSON list" in helps("demo")
    assert "the output_dir of a 'pie evaluate' run" in helps("report")
    assert "where to write the rows" in helps("cache", "export")
    evaluate = " ".join(helps("evaluate").split())
    assert "config keys:" in evaluate
    names = [field.name for field in attrs.fields(pie.BenchmarkConfig)]
    own = names[names.index("testcases_dir") :]  # pie's own keys, after PIE's
    listed = re.findall(r"\w+", evaluate.split("pie's own", 1)[1].split(";", 1)[0])
    assert len(own) >= 9 and listed == own


def test_help_names_every_exit_status_a_command_returns() -> None:
    codes = {name: value for name, value in vars(_exit).items() if name.startswith("EXIT_")}
    top = helps()
    for name, code in codes.items():
        assert f" {code} " in top.replace("\n", " "), f"pie --help does not explain {name}"
    assert f" {codes['EXIT_STOPPED']} " in helps("evaluate").replace("\n", " ")


def test_cache_commands_take_the_cache_dir_after_their_name_and_create_nothing(
    tmp_path: Path, cache_dir: Path, sum_tests: Path
) -> None:
    pie.evaluate_sync(SUM_OK, sum_tests, cache_dir=cache_dir)
    after = cli("cache", "stats", "--cache-dir", str(cache_dir))
    assert after.returncode == 0, after.stderr
    assert str(cache_dir) in after.stdout
    before = cli("--cache", str(cache_dir), "cache", "stats")  # the DESIGN spelling still works
    assert before.returncode == 0 and before.stdout == after.stdout
    nowhere = tmp_path / "nonexistent"
    missing = cli("--cache-dir", str(nowhere), "cache", "stats")
    assert missing.returncode == 2 and "no result cache in" in missing.stderr
    assert not nowhere.exists()
    cleared = cli("cache", "clear", "--cache-dir", str(nowhere))  # not "cleared", not made
    assert cleared.returncode == 0 and "nothing to clear" in cleared.stdout
    assert not nowhere.exists()


def _evaluation(verdict: pie.Verdict, **test: object) -> pie.Evaluation:
    compiled = pie.CompileResult(ok=True, seconds=0.5, cached=False, message="")
    result = pie.TestResult(
        index=0,
        verdict=verdict,
        accuracy=0.0,
        cpu_seconds=1.0,
        wall_seconds=1.0,
        max_rss_kib=2048,
        exit_code=test.get("exit_code"),  # type: ignore[arg-type]
        signal=test.get("signal"),  # type: ignore[arg-type]
    )
    return pie.Evaluation(verdict, 0.0, "", compiled, (result,), sandbox="pidns")


def test_pie_run_says_how_a_test_ended_in_words() -> None:
    killed = summary(_evaluation(pie.Verdict.TLE, signal=int(signal.SIGXCPU)))
    assert "killed by SIGXCPU" in killed and "exit None" not in killed
    assert killed.startswith("TLE  accuracy 0.000  (1 test)\n")  # not "(1 tests)"
    exited = summary(_evaluation(pie.Verdict.RE, exit_code=3))
    assert "exit 3" in exited and "signal" not in exited


def test_pie_run_prints_counts_as_whole_numbers() -> None:
    timing = pie.Timing("qemu", "instructions", 31945268.0, (31945268.0,))
    text = summary(attrs.evolve(_evaluation(pie.Verdict.AC, exit_code=0), timing=timing))
    assert "31,945,268 instructions" in text and "e+07" not in text
    modelled = pie.Timing("qemu", "cycles", 1370331.4, (1370331.4,))  # the cycle model's estimate
    text = summary(attrs.evolve(_evaluation(pie.Verdict.AC, exit_code=0), timing=modelled))
    assert "timing (qemu): 1,370,331 cycles" in text and "e+06" not in text
    seconds = pie.Timing("wall", "seconds", 0.00246, (0.00246,))
    text = summary(attrs.evolve(_evaluation(pie.Verdict.AC, exit_code=0), timing=seconds))
    assert "timing (wall): 0.00246 seconds" in text


def test_pie_run_of_a_compile_error_counts_no_tests(tmp_path: Path, sum_tests: Path) -> None:
    source = tmp_path / "broken.cpp"
    source.write_text("int main( {")
    done = cli("run", str(source), "--tests", str(sum_tests))
    assert done.returncode == 1
    assert done.stdout.startswith("CE") and "0 tests" not in done.stdout


@pytest.fixture
def two_runs(tmp_path: Path, sum_tests: Path) -> tuple[Path, Path]:
    row = {"problem_id": "sum", "src_code": SUM_OK, "tgt_code": SUM_OK + "//t"}
    first = write_run(tmp_path / "a", [{**row, "generated_answers": [SUM_OK]}], sum_tests.parent)
    second = write_run(
        tmp_path / "b", [{**row, "generated_answers": ["int main(){}"]}], sum_tests.parent
    )
    for config in (first, second):
        assert cli("evaluate", str(config), "--quiet").returncode == 0
    return tmp_path / "a" / "out", tmp_path / "b" / "out"


def test_report_of_two_runs_keeps_each_runs_own_report(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    own = (a / "report.md").read_text()
    done = cli("report", str(a), str(b))
    assert done.returncode == 0, done.stderr
    assert (a / "report.md").read_text() == own
    compared = (a / "report-vs-b_out.md").read_text()
    assert "a/out" in compared and "b/out" in compared


def test_a_run_without_timing_shows_no_speedups(two_runs: tuple[Path, Path]) -> None:
    a, _ = two_runs
    done = cli("report", str(a))
    lines = {line.split("  ")[0]: line for line in done.stdout.splitlines()}
    labels = ("mean speedup best@1", "%Opt best@1 (>= 1.10x)", "mean speedup tgt over src")
    for label in (*labels, "mostly start-up, tgt over src"):  # not "0 of 0 rows"
        assert lines[label].endswith("n/a (timing: none)"), lines[label]
    assert "100.0%" in lines["%correct best@1"]


def test_report_without_matplotlib_says_the_plots_were_skipped(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = two_runs
    # a folder of PIE's own script (no run.json): speedups to plot, but no matplotlib
    by_pie = tmp_path / "by_pie"
    by_pie.mkdir()
    for name in ("aggregated_results.csv", "addtl_stats.jsonl"):
        shutil.copy(a / name, by_pie / name)
    for folder, why in (
        (a, "plots skipped: no timings in out (timing: none)"),
        (by_pie, "plots skipped: matplotlib is not installed"),
    ):
        hide = "import sys; sys.modules['matplotlib'] = None; from pie.cli import main; "
        done = subprocess.run(
            [sys.executable, "-c", hide + f"sys.exit(main(['report', {str(folder)!r}]))"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert why in done.stderr and "report written" in done.stderr
        assert f"({why}" in (folder / "report.md").read_text()
    assert "pip install '.[plot]'" in done.stderr  # from a clone: PyPI's 'pie' is another project


def _run(name: str, speedups: list[float], k_max: int = 1) -> _report.RunSummary:
    aggregated = {f"mean_speedup_best@{k}": 1.0 + 0.1 * k for k in range(1, k_max + 1)}
    return _report.RunSummary(name, aggregated, {k_max: speedups}, {"backend": "qemu"})


def test_plots_have_units_whole_rows_readable_ticks_and_compare_shares() -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    one = _run("a", [1.0, 1.0, 1.5, 2.0, 3.0])
    axes = _report._histogram([one]).axes[0]
    assert "(count)" in axes.get_ylabel() and "speedup (x" in axes.get_xlabel()
    assert axes.yaxis.get_major_locator()._integer  # whole rows on the y axis
    two = _report._histogram([one, _run("b", [1.0] * 50)]).axes[0]
    assert "share" in two.get_ylabel()
    cdf = _report._cdf([one]).axes[0]
    assert type(cdf.xaxis.get_minor_formatter()).__name__ == "NullFormatter"
    flat = _report._best_at_k([_run("a", [1.0], k_max=1)]).axes[0]
    low, high = flat.get_ylim()
    assert low >= 0.9 and high <= 2.0 and "(x)" in flat.get_ylabel()
    assert math.isfinite(low)


def test_pie_run_names_the_refused_system_call(tmp_path: Path, sum_tests: Path) -> None:
    """The sandbox's reason reaches the human output, not only the JSON ("killed by SIGSYS"
    alone does not say which call the program made)."""
    source = Path(__file__).parent / "hostile" / "refused_syscall_pause.cpp"
    done = cli("run", str(source), "--tests", str(sum_tests), "--indices", "0")
    assert done.returncode == 1, done.stderr
    assert "system call pause (34) refused by the sandbox" in done.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_without_rich_is_plain_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rich is an optional extra: without it a terminal gets the plain lines, no ImportError."""
    pytest.importorskip("rich", reason="the progress extra is not installed")
    live = _progress.make_progress(3, [], quiet=False, stream=_Terminal())
    assert isinstance(live, _progress.LiveProgress)
    monkeypatch.setitem(sys.modules, "rich", None)
    plain = _progress.make_progress(3, [], quiet=False, stream=_Terminal())
    assert isinstance(plain, _progress.PlainProgress)
    assert isinstance(_progress.make_progress(3, [], quiet=True), _progress.QuietProgress)
