"""The cycle model: the local deterministic backend's primary quantity, and its calibration."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie._benchmark._journal import Outcome
from pie._benchmark._startup import saved_outside_main
from pie._timing._cycles import QEMU_MODEL, CycleModel, model_for
from pie._timing._plugin import emulator
from pie._timing._qemu import QemuConfig
from pie._timing._qemu import counts_key as qemu_counts_key
from tests.conftest import REPO, SUM_OK

pytestmark = pytest.mark.anyio
MODELS = {"qemu": QEMU_MODEL}


def counts_file(timing: str) -> Path:
    return REPO / "bench" / "results" / f"calibration-{timing}.jsonl"


def calibrate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate", REPO / "bench" / "calibrate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["calibrate"] = module  # attrs classes of the module need it while being made
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("timing", list(MODELS))
def test_the_shipped_model_is_the_fit_of_the_committed_counts(
    shared_data: Path, timing: str
) -> None:
    """_cycles.py holds what bench/calibrate.py fits on bench/results, and the agreement it
    measured: an edited cost or a figure typed in by hand fails here."""
    bench = calibrate()
    model = MODELS[timing]
    rows, programs = bench.load_rows(shared_data)
    stored_key, records = bench.stored_counts(counts_file(timing))
    assert stored_key == bench.counts_key(timing), "counts file measured by another plugin"
    assert {sha for sha in programs} <= set(records), "counts file lacks calibration programs"
    timed = {sha: bench.Program.of(r) for sha, r in records.items() if "counts" in r}
    hello = timed[bench.sha256_bytes(bench.HELLO_WORLD.encode())]
    sample = bench.sample_of(rows, timed, hello)
    fitted = bench.fit(sample)
    costs = {e: float(f"{fitted[i]:.4g}") for i, e in enumerate(bench.EVENTS)}
    assert costs == dict(model.costs)
    masks = [mask for _, mask in bench.folds(sample)]
    ours, _ = bench.held_out(sample, masks)
    measured = bench.agreement(ours, sample)
    shipped = model.agreement
    assert (shipped.rows, shipped.problems) == (measured.rows, len(set(sample.problems)))
    assert shipped.spearman == round(measured.spearman, 3)
    assert shipped.within_10_percent == round(measured.within_10, 3)
    assert shipped.mean_speedup == round(measured.mean_ours, 3)
    assert shipped.pie_mean_speedup == round(measured.mean_pie, 3)
    assert shipped.median_abs_log == round(measured.median_abs_log, 4)
    assert shipped.opt_agreement == round(measured.opt_agreement, 3)
    assert dict(shipped.spearman_within_problem) == {
        p: round(v, 3) for p, v in measured.per_problem.items()
    }
    assert dict(shipped.pairs_ordered) == bench.pairs_ordered(ours, sample)
    # the model has no term a problem's identity could feed: only per-event costs
    assert set(model.costs) == set(bench.EVENTS)
    assert model.agreement.measured_by == f"python bench/calibrate.py --timing {timing}"


def test_ordered_pairs_bins_pairs_of_one_problem_by_pies_difference() -> None:
    """Pairs of rows are compared within a problem only, PIE's ties are left out, and a tie of
    ours is not an ordering."""
    bench = calibrate()
    pie_speedups = np.array([1.0, 1.004, 1.015, 1.5, 2.0, 2.0])
    columns = len(bench.COLUMNS)
    ones = np.ones((6, columns))
    sample = bench.Sample(["a", "a", "a", "a", "b", "b"], pie_speedups, ones, ones, ones[0])
    # a's pairs: 0.4% apart (ours reversed), 1.5% (ours tied), 1.1% (right), three past 2%
    # (right); b's one pair is a tie of PIE's, however far apart ours are
    ours = np.array([1.01, 1.0, 1.01, 1.6, 3.0, 1.0])
    bins = bench.ordered_pairs(ours, sample, (0.0, 0.01, 0.02, math.inf))
    assert [(pairs, share) for _, _, pairs, share in bins] == [(1, 0.0), (2, 0.5), (3, 1.0)]
    assert bench.pairs_ordered(ours, sample) == {"<1%": 0.0, "1%-2%": 0.5, ">=2%": 1.0}


def test_the_counts_files_were_measured_under_todays_counts_keys(cache_dir: Path) -> None:
    bench = calibrate()
    for timing in MODELS:
        header = json.loads(counts_file(timing).read_text().splitlines()[0])
        assert header["counts_key"] == bench.counts_key(timing), timing
    assert QEMU_MODEL.counts == qemu_counts_key(emulator(cache_dir))


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("backend", list(MODELS))
async def test_the_primary_quantity_is_the_models_cycles(
    sum_tests: Path, cache_dir: Path, backend: str
) -> None:
    model = MODELS[backend]
    result = await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache_dir, timing=backend)
    timing = result.timing
    assert timing is not None and timing.error is None
    assert timing.unit == "cycles" and timing.quantity == model.quantity()
    for position, cycles in enumerate(timing.per_test):
        counts = {}
        for event in model.costs:
            measure = timing.measure(event)
            assert measure is not None, event
            counts[event] = measure.per_test[position]
        assert cycles == pytest.approx(model.cycles(counts), rel=1e-12)
    assert model.key in timing.config
    data = timing.to_json()
    assert data["quantity"]["name"] == model.name
    assert data["quantity"]["agreement"]["spearman"] == model.agreement.spearman
    # the raw counts stay available
    assert {"instructions", "l1_misses", "ll_misses", "mispredicts", "startup_share"} <= set(data)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_cycles_of_two_model_versions_never_compare(sum_tests: Path, cache_dir: Path) -> None:
    refit = attrs.evolve(QEMU_MODEL, version=QEMU_MODEL.version + 1)
    async with pie.Evaluator(cache_dir=cache_dir, timing="qemu") as ev:
        shipped = await ev.evaluate(SUM_OK, sum_tests)
    other = QemuConfig(model=refit)
    async with pie.Evaluator(cache_dir=cache_dir, timing=other) as ev:
        refitted = await ev.evaluate(SUM_OK, sum_tests)
    assert shipped.timing is not None and refitted.timing is not None
    assert pie.speedup(shipped.timing, shipped.timing) == 1.0
    with pytest.raises(pie.InputError, match="different configs"):
        pie.speedup(shipped.timing, refitted.timing)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_model_fitted_on_other_counts_is_refused(sum_tests: Path, cache_dir: Path) -> None:
    wrong = QemuConfig(model=attrs.evolve(QEMU_MODEL, counts="qemu qemu-v0;cpu=other"))
    with pytest.raises(pie.InputError, match=r"refit it with bench/calibrate\.py --timing qemu"):
        await pie.evaluate(SUM_OK, sum_tests, cache_dir=cache_dir, timing=wrong)


def test_each_deterministic_backend_names_its_model() -> None:
    for backend, model in MODELS.items():
        assert model_for(backend) is model
        assert isinstance(model, CycleModel) and model.name.endswith(backend)
    assert model_for("wall") is None and model_for("gem5") is None


def outcome(runtime: float | None, share: float | None) -> Outcome:
    return Outcome("AC", 1.0, True, runtime, {}, "cycles", None, {"AC": 1}, share)


def test_a_speedup_from_dropping_iostream_is_mostly_startup() -> None:
    # the demo's pattern: both programs do almost nothing in main; one loads libstdc++
    assert saved_outside_main(outcome(3.5e6, 0.97), outcome(0.65e6, 0.95)) == pytest.approx(
        (3.5e6 * 0.97 - 0.65e6 * 0.95) / (3.5e6 - 0.65e6)
    )
    # a faster algorithm: the start-up is alike and the work in main shrinks
    share = saved_outside_main(outcome(100e6, 0.03), outcome(10e6, 0.3))
    assert share is not None and share < 0.01


@given(
    st.floats(1.0, 1e12),
    st.floats(1.0, 1e12),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)
def test_the_startup_share_of_a_saving_is_none_unless_faster(
    slow: float, fast: float, slow_share: float, fast_share: float
) -> None:
    share = saved_outside_main(outcome(slow, slow_share), outcome(fast, fast_share))
    if fast >= slow:
        assert share is None
    else:
        assert share is not None
        # all work outside main in both: the whole saving is start-up
        assert saved_outside_main(outcome(slow, 1.0), outcome(fast, 1.0)) == pytest.approx(1.0)
        assert saved_outside_main(outcome(slow, 0.0), outcome(fast, 0.0)) == 0.0
    assert saved_outside_main(outcome(None, slow_share), outcome(fast, fast_share)) is None
    assert saved_outside_main(outcome(slow, None), outcome(fast, fast_share)) is None


def test_a_remeasure_says_which_programs_counts_moved(capsys: pytest.CaptureFixture[str]) -> None:
    bench = calibrate()
    before = {"a" * 64: {"counts": {"instructions": [1]}}, "b" * 64: {"counts": {"x": [2]}}}
    after = {**before, "b" * 64: {"counts": {"x": [3]}}, "c" * 64: {"counts": {}}}
    bench.compare_counts(before, after, "old-key")
    said = capsys.readouterr().out
    assert "1 of 2 programs' counts identical, 1 differ (e.g. bbbbbbbbbbbb), 1 new" in said
    assert "old-key" in said
