"""Random interruption of ``pie evaluate`` (``nox -s stress``): hypothesis picks the signal and
the moment; the resumed run must end with the same files as an uninterrupted one."""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import live_processes_named
from tests.test_benchmark import DEMO, PIE_FILES, candidates_rows, start, write_run

pytestmark = pytest.mark.slow

_runs = itertools.count()


def launcher_build(pid: int) -> bool:
    try:
        return b"/launcher/build-" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # gone meanwhile


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reference")
    config = write_run(
        folder, candidates_rows(DEMO / "problems.jsonl"), DEMO / "tests", timing="qemu"
    )
    done = start(config, folder / "cache")
    _, stderr = done.communicate(timeout=600)
    assert done.returncode == 0, stderr
    return folder / "out"


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    how=st.sampled_from([signal.SIGKILL, signal.SIGINT, signal.SIGTERM]),
    delay=st.floats(min_value=0.0, max_value=12.0),
    cold=st.booleans(),
)
def test_interrupted_at_any_moment_then_resumed(
    reference: Path,
    tmp_path_factory: pytest.TempPathFactory,
    how: signal.Signals,
    delay: float,
    cold: bool,
) -> None:
    folder = tmp_path_factory.mktemp(f"interrupted{next(_runs)}")
    config = write_run(
        folder, candidates_rows(DEMO / "problems.jsonl"), DEMO / "tests", timing="qemu"
    )
    cache = folder / "cache" if cold else reference.parent / "cache"
    process = start(config, cache)
    time.sleep(delay)
    process.send_signal(how)
    process.communicate(timeout=120)
    # 0: finished first; 130: stopped cleanly; -9: killed; -2/-15/1: during interpreter start-up
    assert process.returncode in (0, 130, -9, -2, -15, 1), process.returncode
    # pie's own launcher build (g++ on pie's source, not on a submission) may finish after a
    # SIGKILL; nothing else may be left, and the build must end by itself
    assert [p for p in live_processes_named(str(folder)) if not launcher_build(p)] == []
    deadline = time.monotonic() + 60
    while live_processes_named(str(folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_processes_named(str(folder)) == []
    resumed = start(config, cache)
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr
    for name in PIE_FILES:
        assert (folder / "out" / name).read_bytes() == (reference / name).read_bytes(), name
    subprocess.run(["rm", "-rf", str(folder)], check=True)
