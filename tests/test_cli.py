"""The ``pie`` command's contract (DESIGN "Command line"), through real subprocesses."""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pie._json import dumps
from pie._model import Timing
from tests.conftest import SUM_OK, live_processes_named

REPO = Path(__file__).resolve().parent.parent


def pie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pie.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "sum.cpp"
    path.write_text(SUM_OK)
    return path


def test_run_json_contract(source: Path, sum_tests: Path) -> None:
    done = pie("run", str(source), "--tests", str(sum_tests), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one JSON object, nothing else on stdout
    assert result["verdict"] == "AC"
    assert result["accuracy"] == 1.0
    assert len(result["source_sha256"]) == 64
    assert set(result["compile"]) == {"ok", "seconds", "cached", "message"}
    assert result["compile"]["ok"] is True
    test_keys = {
        "index",
        "verdict",
        "accuracy",
        "cpu_seconds",
        "wall_seconds",
        "max_rss_kib",
        "exit_code",
        "signal",
    }
    assert all(test_keys <= set(t) for t in result["tests"]) and len(result["tests"]) == 3
    assert result["timing"] is None


@pytest.mark.parametrize(
    ("backend", "unit", "extra"),
    [
        ("qemu", "cycles", "instructions"),
        ("wall", "seconds", "iqr"),
    ],
)
def test_run_with_timing(
    source: Path, sum_tests: Path, backend: str, unit: str, extra: str
) -> None:
    done = pie("run", str(source), "--tests", str(sum_tests), "--json", "--timing", backend)
    assert done.returncode == 0, done.stderr
    timing = json.loads(done.stdout)["timing"]
    assert timing["backend"] == backend and timing["unit"] == unit
    assert len(timing["per_test"]) == 3
    assert timing["total"] == pytest.approx(sum(timing["per_test"]))
    assert set(timing[extra]) == {"unit", "total", "per_test"}
    if unit == "cycles":  # the model that made the cycles, and how far to trust them
        quantity = timing["quantity"]
        assert (quantity["name"], quantity["unit"]) == (f"pie-cycles-{backend}", "cycles")
        assert 0 < quantity["agreement"]["spearman"] <= 1


def test_a_removed_timing_names_its_replacement(source: Path, sum_tests: Path) -> None:
    done = pie("run", str(source), "--tests", str(sum_tests), "--timing", "cachegrind")
    assert done.returncode == 2
    assert "timing backend 'cachegrind' was removed: a program could forge" in done.stderr
    assert "use 'qemu'" in done.stderr


def test_run_json_exits_zero_whatever_the_verdict(tmp_path: Path, sum_tests: Path) -> None:
    wrong = tmp_path / "wrong.cpp"
    wrong.write_text("int main(){ return 1; }")
    done = pie("run", str(wrong), "--tests", str(sum_tests), "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["verdict"] == "RE"
    broken = tmp_path / "broken.cpp"
    broken.write_text("int main( {")
    done = pie("run", str(broken), "--tests", str(sum_tests), "--json")
    assert done.returncode == 0
    result = json.loads(done.stdout)
    assert result["verdict"] == "CE" and result["tests"] == [] and result["timing"] is None


def test_run_options(source: Path, sum_tests: Path, tmp_path: Path) -> None:
    done = pie(
        "run", str(source), "--tests", str(sum_tests), "--json",
        "--time-limit", "0.5", "--memory-limit", "128", "--indices", "0,2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [t["index"] for t in json.loads(done.stdout)["tests"]] == [0, 2]
    # and the limits are the ones given: 0.5 s of CPU, 128 MiB
    spinner = tmp_path / "spin.cpp"
    spinner.write_text("int main(){ volatile unsigned long i = 0; for (;;) ++i; }")
    hog = tmp_path / "hog.cpp"
    hog.write_text(  # 192 MiB touched page by page (volatile: g++ may not elide it)
        "#include <cstdlib>\nint main(){ volatile char* p = (volatile char*)std::malloc"
        "(192u << 20); for (unsigned i = 0; i < (192u << 20); i += 4096) p[i] = 1;"
        " return p[4096] - 1; }"
    )
    for program, limits, wanted in (
        (spinner, ("--time-limit", "0.5"), "TLE"),
        (hog, ("--memory-limit", "128"), "MLE"),
    ):
        done = pie("run", str(program), "--tests", str(sum_tests), "--json", "--indices", "0",
                   *limits)  # fmt: skip
        result = json.loads(done.stdout)
        # MLE with or without a memory cgroup (without one, the launcher watches the resident
        # size): the verdict must not depend on the host
        assert result["verdict"] == wanted, result
    fits = pie("run", str(hog), "--tests", str(sum_tests), "--json", "--indices", "0",
               "--memory-limit", "512")  # fmt: skip
    assert json.loads(fits.stdout)["verdict"] == "WA"  # it ran to its (wrong) output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.cpp", "--tests", "."], "not found"),
        (["run", "{source}", "--tests", "/nonexistent/folder"], "does not exist"),
        (["run", "{source}", "--tests", "{tests}", "--indices", "a,b"], "--indices"),
        (["run", "{source}", "--tests", "{tests}", "--indices", "7"], "no input for test"),
        (["run", "{source}", "--tests", "{tests}", "--time-limit", "-1"], "time limit"),
        (["run", "{source}"], "--tests"),
    ],
)
def test_run_cannot_run_exits_nonzero_with_reason(
    args: list[str], message: str, source: Path, sum_tests: Path
) -> None:
    filled = [a.format(source=source, tests=sum_tests) for a in args]
    done = pie(*filled, "--json")
    assert done.returncode != 0
    assert done.stdout == ""
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_run_human_summary(source: Path, sum_tests: Path) -> None:
    done = pie("run", str(source), "--tests", str(sum_tests))
    assert done.returncode == 0
    assert done.stdout.startswith("AC")
    assert "sandbox:" in done.stdout


def test_demo_runs_every_bundled_program() -> None:
    done = pie("demo", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) >= 6
    assert {r["verdict"] for r in rows} == {"AC"}
    assert {r["role"] for r in rows} == {"src", "tgt"}
    table = pie("demo")
    assert table.returncode == 0
    assert "slow (src)" in table.stdout and "fast (tgt)" in table.stdout
    # the README shows this output: every column but the CPU seconds, and the legend
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = "problem  program" + readme.split("```\nproblem  program", 1)[1].split("```", 1)[0]
    if "qemu-user not found" not in table.stdout:  # the README's counts are qemu's
        assert _demo_cells(table.stdout) == _demo_cells(shown)
        legend = [line for line in shown.splitlines() if line.startswith(("instr", "startup:"))]
        assert len(legend) == 2 and all(line in table.stdout.splitlines() for line in legend)


def _demo_cells(text: str) -> list[list[str]]:
    """The demo table's cells, without the CPU seconds (which vary from run to run)."""
    rows = []
    for line in text.split("\n\n", 1)[0].splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        rows.append(cells[:5] + cells[6:])
    return rows


def test_doctor_names_every_mechanism() -> None:
    done = pie("doctor")
    assert done.returncode == 0
    for mechanism in ("pid namespace", "landlock", "seccomp", "memory cgroup", "pids cgroup"):
        assert mechanism in done.stdout
    # the qemu timing's emulator and plugin, whose versions name its numbers' config
    assert "qemu " in done.stdout and "7.2" in done.stdout and "qemu plugin" in done.stdout
    assert re.search(r"qemu plugin loads\s+yes", done.stdout), done.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    line = next(line for line in ci.splitlines() if "pytest" in line and "pip" in line)
    command = line.split(" || ")[0].strip()
    assert command.startswith("python3 -m venv") and command.endswith("pytest -q")
    assert command in readme


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_pie_run_cleanly(
    tmp_path: Path, sum_tests: Path, cache_dir: Path, how: signal.Signals
) -> None:
    source = tmp_path / "slow.cpp"
    source.write_text("#include <unistd.h>\nint main() { sleep(30); }\n")
    launchers = str(cache_dir / "launcher")  # this session's sandbox processes only
    servers_before = len(live_processes_named(launchers))
    with subprocess.Popen(
        [sys.executable, "-m", "pie.cli", "run", str(source), "--tests", str(sum_tests)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        deadline = time.monotonic() + 120
        # the launcher server and a runner forked for the sleeping program
        while len(live_processes_named(launchers)) < servers_before + 2:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(how)
        _, stderr = process.communicate(timeout=60)
    assert len(live_processes_named(launchers)) == servers_before
    assert process.returncode == 130, stderr
    assert "pie: interrupted" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    "command",
    [
        ["run", "{source}", "--tests", "{tests}", "--json"],
        ["run", "{source}", "--tests", "{tests}"],
        ["demo", "--json"],
        ["demo"],
        ["doctor"],
        ["cache", "stats"],
    ],
    ids=["run-json", "run", "demo-json", "demo", "doctor", "cache-stats"],
)
def test_a_reader_that_closes_the_pipe_gets_no_traceback(
    command: list[str], source: Path, sum_tests: Path
) -> None:
    """``pie ... | head -c 10``: the reader is gone before pie writes."""
    args = [a.format(source=source, tests=sum_tests) for a in command]
    process = subprocess.Popen(
        [sys.executable, "-m", "pie.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=600)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert process.returncode == 141, stderr


def test_run_json_is_strict_json_even_for_a_failed_timing() -> None:
    failed = Timing("gem5", "seconds", math.inf, (1.5, math.inf), error="gem5 failed: x")
    data = json.loads(dumps(failed.to_json()))
    assert data["total"] is None and data["per_test"] == [1.5, None]
    assert data["error"] == "gem5 failed: x"
    unmeasured = Timing("wall", "seconds", math.nan, (math.nan,)).to_json()
    assert unmeasured["total"] is None and unmeasured["error"] == "not measured"
    assert dumps({"a": [math.inf, -math.inf, math.nan, 1.0]}) == '{"a": [null, null, null, 1.0]}'
