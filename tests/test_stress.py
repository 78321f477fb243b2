"""Load: many programs through ``evaluate_many`` at high concurrency (``nox -s stress``)."""

from __future__ import annotations

import os
import resource
import tempfile
from pathlib import Path

import psutil
import pytest

import pie
from tests.conftest import make_tests

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

PROGRAMS = 1000


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def scratch_entries() -> set[str]:
    roots = [Path(tempfile.gettempdir()), Path("/dev/shm")]
    return {str(p) for root in roots if root.is_dir() for p in root.glob("pie-*")}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_thousand_programs_leak_nothing(tmp_path: Path, cache_dir: Path) -> None:
    tests = make_tests(tmp_path / "t", [("3 4\n", "7\n"), ("5 6\n", "11\n")])
    # distinct binaries (a volatile constant survives -O3), so every program compiles and runs
    template = (
        "#include <cstdio>\nint main(){ volatile int tag = TAG; (void)tag;"
        ' long long a,b; scanf("%lld %lld",&a,&b); printf("%lld\\n", a+b); }'
    )
    sources = [template.replace("TAG", str(i)) for i in range(PROGRAMS)]
    fds_before, scratch_before = open_fds(), scratch_entries()
    results = await pie.evaluate_many(
        [pie.Submission(s, tests) for s in sources], cache_dir=cache_dir, concurrency=16
    )
    assert [r.verdict for r in results] == [pie.Verdict.AC] * PROGRAMS
    assert open_fds() <= fds_before
    assert scratch_entries() == scratch_before
    zombies = [c for c in psutil.Process().children(recursive=True) if c.status() == "zombie"]
    assert zombies == []
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{PROGRAMS} programs: evaluator peak RSS {peak_mib:.0f} MiB")
    assert peak_mib < 500
