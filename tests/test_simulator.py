"""pie.simulator: PIE's gym-like API (make, submissions, PIE's result fields) on real g++ runs."""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import pie
from pie import simulator
from pie._data import demo_root
from pie._model import Measure, TestCase
from pie._simulator_results import from_gem5_timing

DEMO = demo_root()
TESTS = DEMO / "tests"
ROWS = {row["problem_id"]: row for row in map(json.loads, (DEMO / "problems.jsonl").open())}
SLOW = ROWS["p03041"]["src_code"]  # p03041: print S with its K-th letter in lower case
FAST = ROWS["p03041"]["tgt_code"]
# lowers the first letter instead of the K-th: right on tests 0 and 2 (K = 1), wrong on test 1
PARTLY_WRONG = (
    "#include <cstdio>\n"
    'int main(){ int n, k; char s[64]; scanf("%d %d %s", &n, &k, s); s[0] += 32;'
    ' printf("%s\\n", s); }'
)
DOES_NOT_COMPILE = "int main() { return undeclared; }"
SPINNER = "int main(){ volatile unsigned long x = 0; for(;;) x++; }"
FEW_RUNS = pie.WallConfig(repetitions=3, warmup=0)


@pytest.fixture(scope="module")
def env(cache_dir: Path) -> Iterator[simulator.PieEnvironment]:
    """One environment for the module, as a PIE script keeps one: 'binary' timed by wall."""
    with simulator.make(testcases_dir=TESTS, timing=FEW_RUNS, workers=2, cache_dir=cache_dir) as e:
        yield e


def test_single_submission_correct_program_has_a_runtime(env: simulator.PieEnvironment) -> None:
    result = env.submit_single_submission(FAST, [0, 1, 2], "p03041", "binary")
    assert isinstance(result, simulator.PieSingleResult)
    assert result.compilation is True
    assert result.accs == {"0": 1.0, "1": 1.0, "2": 1.0}
    assert result.mean_acc == 1.0
    assert result.tc2success == {0: True, 1: True, 2: True}
    assert result.runtime_unit == "seconds"
    # PIE's hyperfine arithmetic: per test the mean of its runs, in total the mean of the
    # per-run sums (equal to the sum of the means), stdev over those sums
    assert [len(runs) for runs in result.tc2stats.values()] == [3, 3, 3]  # type: ignore[arg-type]
    for index, runs in result.tc2stats.items():
        assert isinstance(runs, list) and all(0 < t < 1 for t in runs)
        assert result.tc2time[index] == pytest.approx(sum(runs) / len(runs))
    assert result.agg_runtime == pytest.approx(sum(result.tc2time.values()))
    assert 0 < result.agg_runtime < 1 and math.isfinite(result.agg_stdev)
    assert result.agg_runtime_binary is None and result.tc2stats_binary is None
    assert result.evaluation is not None and result.evaluation.verdict is pie.Verdict.AC


def test_wrong_answer_has_partial_accuracy_and_infinite_runtime(
    env: simulator.PieEnvironment,
) -> None:
    result = env.submit_single_submission(PARTLY_WRONG, ["0", "1", "2"], "p03041", "binary")
    assert result.compilation is True
    assert result.accs == {"0": 1.0, "1": 0.0, "2": 1.0}
    assert result.mean_acc == pytest.approx(2 / 3)
    assert result.agg_runtime == math.inf  # below gem5_acc_threshold (0.95): not timed
    assert result.tc2time == {} and result.tc2success == {}


def test_program_at_the_accuracy_threshold_is_timed(cache_dir: Path) -> None:
    """PIE times a program whose mean accuracy reaches gem5_acc_threshold, not only AC ones."""
    with simulator.make(
        testcases_dir=TESTS, timing=FEW_RUNS, gem5_acc_threshold=0.5, cache_dir=cache_dir
    ) as lenient:
        result = lenient.submit_single_submission(PARTLY_WRONG, [0, 1, 2], "p03041", "binary")
    assert result.mean_acc == pytest.approx(2 / 3)
    assert 0 < result.agg_runtime < 1
    assert sorted(result.tc2time) == [0, 1, 2]


def test_compile_error(env: simulator.PieEnvironment) -> None:
    result = env.submit_single_submission(DOES_NOT_COMPILE, None, "p03041", "binary")
    assert result.compilation is False
    assert result.accs == {"0": 0.0, "1": 0.0, "2": 0.0}  # PIE: every selected test scores 0
    assert result.mean_acc == 0.0
    assert result.agg_runtime == math.inf
    assert result.evaluation is not None and result.evaluation.verdict is pie.Verdict.CE


def test_multiple_submissions_keep_order(cache_dir: Path) -> None:
    """Evaluated concurrently, returned in the order given; timing 'none' leaves a correct
    program's runtime unmeasured (nan), a failed one's inf; the time limit comes from
    PIE's timeout_seconds_binary."""
    codes = [PARTLY_WRONG, FAST, DOES_NOT_COMPILE, SPINNER, ROWS["p02608"]["tgt_code"], SLOW]
    problems = ["p03041", "p03041", "p03041", "p03041", "p02608", "p03041"]
    tests: list[list[int] | None] = [None, None, None, [0], None, [1]]
    with simulator.make(
        testcases_dir=TESTS, timing="none", timeout_seconds_binary=1, cache_dir=cache_dir
    ) as untimed:
        results = untimed.submit_multiple_single_submissions(codes, tests, problems, "binary")
    assert [r.compilation for r in results] == [True, True, False, True, True, True]
    assert [r.mean_acc for r in results] == pytest.approx([2 / 3, 1, 0, 0, 1, 1])
    assert [list(r.accs) for r in results] == [
        ["0", "1", "2"],
        ["0", "1", "2"],
        ["0", "1", "2"],
        ["0"],
        ["0", "1"],
        ["1"],
    ]
    runtimes = [r.agg_runtime for r in results]
    assert [math.isnan(t) for t in runtimes] == [False, True, False, False, True, True]
    assert [t == math.inf for t in runtimes] == [True, False, True, True, False, False]
    spinner = results[3].evaluation
    assert spinner is not None and spinner.verdict is pie.Verdict.TLE


def test_pair_submission_fields(env: simulator.PieEnvironment) -> None:
    # the call exactly as PIE's own tests make it (gem5/pytest_simulator.py), timing_env aside
    result = env.submit_single_submission_pair(
        code_v0=SLOW,
        code_v1=PARTLY_WRONG,
        testcases=[0, 1],
        problem_id="p03041",
        timing_env="binary",
    )
    assert isinstance(result, simulator.PiePairResult)
    assert (result.compilation_v0, result.compilation_v1) == (True, True)
    assert result.accs_v0 == {"0": 1.0, "1": 1.0}
    assert result.accs_v1 == {"0": 1.0, "1": 0.0}
    assert (result.mean_acc_v0, result.mean_acc_v1) == (1.0, 0.5)
    assert 0 < result.agg_runtime_v0 < 1 and result.agg_runtime_v1 == math.inf
    assert sorted(result.tc2time_v0) == [0, 1] and result.tc2time_v1 == {}
    assert result.tc2success_v0 == {0: True, 1: True}
    assert all(len(runs) == 3 for runs in result.tc2stats_v0.values())  # type: ignore[arg-type]
    assert result.agg_runtime_binary_v0 is None  # set only for timing_env="both", as in PIE
    assert set(result.to_dict()) >= {"compilation_v0", "agg_stdev_v1", "tc2stats_binary_v1"}
    assert json.loads(result.to_json())["tc2success_v0"] == {"0": True, "1": True}


def test_multiple_dual_submissions_as_pie_calls_them(env: simulator.PieEnvironment) -> None:
    results = env.submit_multiple_dual_submissions(
        code_list_v0=[SLOW, FAST],
        code_list_v1=[FAST, DOES_NOT_COMPILE],
        testcases_list=[[0, 1], [2]],
        problem_id_list=["p03041", "p03041"],
        timing_env="binary",
        override_flags_list_v0=["", ""],
        override_flags_list_v1=["", ""],
    )
    assert [(r.compilation_v0, r.compilation_v1) for r in results] == [(True, True), (True, False)]
    assert [sorted(r.tc2time_v0) for r in results] == [[0, 1], [2]]
    assert math.isfinite(results[0].agg_runtime_v1) and results[1].agg_runtime_v1 == math.inf


def test_override_flags_reach_the_compiler(env: simulator.PieEnvironment) -> None:
    code = (
        "#include <cstdio>\n"
        'int main(){ int n, k; char s[64]; scanf("%d %d %s", &n, &k, s);\n'
        "#ifndef BROKEN\n s[k - 1] += 32;\n#endif\n"
        ' printf("%s\\n", s); }'
    )
    plain = env.submit_single_submission(code, [0, 1], "p03041", "binary")
    broken = env.submit_single_submission(code, [0, 1], "p03041", "binary", " -DBROKEN")
    assert (plain.mean_acc, broken.mean_acc) == (1.0, 0.0)


def test_qemu_stands_in_for_binary_timing(cache_dir: Path) -> None:
    """A deterministic backend: runtimes in its unit, one 'run' per test, stdev 0."""
    with simulator.make(testcases_dir=TESTS, timing="qemu", cache_dir=cache_dir) as counted:
        result = counted.submit_single_submission(FAST, [0, 1], "p03041", "binary")
    assert result.runtime_unit == "cycles"
    assert result.agg_stdev == 0.0
    assert result.tc2stats == {i: [result.tc2time[i]] for i in (0, 1)}
    assert result.agg_runtime == sum(result.tc2time.values()) > 10_000


def test_a_removed_timing_names_its_replacement(cache_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"timing='callgrind': 'callgrind' was removed.*'qemu'"):
        simulator.make(testcases_dir=TESTS, timing="callgrind", cache_dir=cache_dir)


def test_gem5_timing_maps_to_pie_fields() -> None:
    """The gem5 half in PIE's shapes (a farm result; no farm is needed to check the mapping):
    simulated seconds per test under PIE's stats key, stdev 0, a failed test inf/False."""
    cases = [TestCase(i, Path(f"input.{i}.txt"), Path(f"output.{i}.txt")) for i in (0, 3)]
    timing = pie.Timing(
        backend="gem5",
        unit="seconds",
        total=math.inf,
        per_test=(0.0012, math.inf),
        measures=(Measure("sim_ticks", "ticks", math.inf, (1.2e9, math.inf)),),
        error="test 3: cannot be simulated",
    )
    half = from_gem5_timing(timing, cases)
    assert half.agg_runtime == math.inf and half.agg_stdev == 0.0
    assert half.tc2time == {0: 0.0012, 3: math.inf}
    assert half.tc2success == {0: True, 3: False}
    assert half.tc2stats == {0: {"sim_seconds_precise": 0.0012, "sim_ticks": 1.2e9}}


def test_gem5_without_a_farm_is_a_clear_error(env: simulator.PieEnvironment) -> None:
    for mode in ("gem5", "both"):
        with pytest.raises(pie.InputError, match=r"needs a gem5 farm: pass simulator\.make\(farm="):
            env.submit_single_submission(FAST, [0], "p03041", mode)
    with pytest.raises(ValueError, match="choose one of"):
        env.submit_single_submission(FAST, [0], "p03041", "hyperfine")  # type: ignore[arg-type]


def test_bad_inputs_are_clear_errors(env: simulator.PieEnvironment) -> None:
    with pytest.raises(
        pie.InputError, match=r"no input for test\(s\) \[7\]; available: \[0, 1, 2\]"
    ):
        env.submit_single_submission(FAST, [0, 7], "p03041", "binary")
    with pytest.raises(ValueError, match="same length"):
        env.submit_multiple_single_submissions([FAST, FAST], [[0]], ["p03041"] * 2, "binary")
    with pytest.raises(ValueError, match="non-empty list"):
        env.submit_single_submission(FAST, [], "p03041", "binary")


def test_make_rejects_unknown_arguments_and_accepts_pies() -> None:
    with pytest.raises(TypeError, match=r"'prot' \(did you mean 'port'\?\); it accepts arch"):
        simulator.make(prot=4000)
    with pytest.raises(NotImplementedError, match="only X86-skylake"):
        simulator.make(arch="ARM")
    with pytest.raises(TypeError, match="not both"):
        simulator.make(testcases_dir=TESTS, tests_root=TESTS)
    with pytest.raises(ValueError, match="timing='gem5'"):
        simulator.make(timing="gem5")
    # the Docker server's arguments are accepted (and mean nothing here)
    docker_only = simulator.make(
        cpuset_cpus="0",
        working_dir="/home/working_dir",
        use_logical_cpus=True,
        threaded=True,
        port=4000,
        timeout_seconds_gem5=120,
        api_key="k",
        verbose=True,
        do_run_without_container=True,
        exit_early_on_fail=False,
    )
    docker_only.teardown()


def _launchers() -> set[int]:
    """This process's sandbox launcher servers (``pie-launcher --serve``)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a child may exit while we look
            if "--serve" in child.cmdline():
                found.add(child.pid)
    return found


def test_teardown_closes_everything(cache_dir: Path) -> None:
    launchers, threads = _launchers(), set(threading.enumerate())
    env = simulator.make(testcases_dir=TESTS, timing=FEW_RUNS, cache_dir=cache_dir)
    assert env.submit_single_submission(FAST, [0], "p03041", "binary").mean_acc == 1.0
    assert _launchers() - launchers  # a sandbox launcher serves the environment
    scratch = [evaluator._live_sandbox.scratch for evaluator in env._evaluators.values()]
    assert scratch and all(folder.is_dir() for folder in scratch)
    env.teardown()
    assert _launchers() <= launchers
    assert set(threading.enumerate()) <= threads  # the private event-loop thread ended
    assert not any(folder.exists() for folder in scratch)
    with pytest.raises(RuntimeError, match="torn down"):
        env.submit_single_submission(FAST, [0], "p03041", "binary")
    env.teardown()  # twice is harmless


def test_pie_readme_example_with_only_the_import_changed(
    monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    """PIE's README lines, `import simulator` replaced by `from pie import simulator`; the tests
    folder comes from the environment, as PIE's image had it built in."""
    monkeypatch.setenv("PIE_TESTCASES_DIR", str(TESTS))
    from pie import simulator  # noqa: PLC0415  (the one changed line)

    env = simulator.make(arch="X86-skylake", optimization_flag="-O3")
    gem5_benchmarking_results = env.submit_single_submission(
        code=FAST, testcases=[0, 1], problem_id="p03041", timing_env="binary"
    )
    assert gem5_benchmarking_results.compilation == True  # noqa: E712  (as PIE's tests assert)
    assert gem5_benchmarking_results.tc2success[0] == True  # noqa: E712
    assert gem5_benchmarking_results.mean_acc > 0.95
    # PIE's binary timing: hyperfine's --min-runs 10 after --warmup 5
    assert [len(t) for t in gem5_benchmarking_results.tc2stats.values()] == [10, 10]  # type: ignore[arg-type]
    results = env.submit_multiple_single_submissions(
        code_list=[FAST, SLOW],
        testcases_list=[[0, 1], [0, 1]],
        problem_id_list=["p03041", "p03041"],
        override_flags_list=["", ""],
        timing_env="binary",
    )
    assert [r.mean_acc for r in results] == [1.0, 1.0]
    env.teardown()
