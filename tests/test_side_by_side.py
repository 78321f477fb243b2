"""Evaluators side by side, here one in another PID namespace: neither takes the other's
scratch folder, cgroups or uids (liveness is a lock held for the evaluator's life, not a pid)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SUM_OK, make_tests

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a PID namespace of our own (unshare --pid --fork --mount-proc) needs root",
)

# An evaluator that reports its slots, waits for a line on stdin, then evaluates.
EVALUATOR = """
import json, sys
import anyio
import pie
async def main():
    async with pie.Evaluator(concurrency=2) as ev:
        sandbox = ev._live_sandbox
        print(json.dumps({"scratch": str(sandbox.scratch), "pid": __import__("os").getpid(),
                          "cgroups": [str(g) for g in sandbox.cgroups],
                          "uids": sorted(sandbox.slot_uids)}), flush=True)
        if sys.argv[2] == "wait":
            sys.stdin.readline()
        result = await ev.evaluate(sys.argv[3], sys.argv[1])
        print(json.dumps({"verdict": result.verdict.value}), flush=True)
anyio.run(main)
"""


def start(tests: Path, cache: Path, mode: str, *, pid_namespace: bool) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", EVALUATOR, str(tests), mode, SUM_OK]
    if pid_namespace:
        command = ["unshare", "--pid", "--fork", "--mount-proc", *command]
    env = {**os.environ, "PIE_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )


def report(process: subprocess.Popen[str]) -> dict[str, object]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the evaluator ended early"
    found: dict[str, object] = json.loads(line)
    return found


@pytest.mark.parametrize("inner_first", [False, True], ids=["outer-lives", "inner-lives"])
def test_an_evaluator_in_another_pid_namespace_leaves_ours_alone(
    tmp_path: Path, cache_dir: Path, inner_first: bool
) -> None:
    tests = make_tests(tmp_path / "t", [("1 2\n", "3\n"), ("5 5\n", "10\n")])
    waiting = start(tests, cache_dir, "wait", pid_namespace=inner_first)
    try:
        first = report(waiting)
        # the other one starts (and looks for stale folders) and evaluates while ours waits
        other = start(tests, cache_dir, "go", pid_namespace=not inner_first)
        second = report(other)
        assert report(other) == {"verdict": "AC"}
        assert other.wait(timeout=60) == 0
        if inner_first:
            assert first["pid"] == 1  # really in a PID namespace of its own
        else:
            assert second["pid"] == 1
        assert Path(str(first["scratch"])).is_dir(), "a live evaluator's scratch was removed"
        assert all(Path(g).is_dir() for g in first["cgroups"]), "its cgroups were removed"  # type: ignore[attr-defined]
        assert not set(first["uids"]) & set(second["uids"]), "two evaluators share a uid"  # type: ignore[call-overload]
        assert waiting.stdin is not None
        waiting.stdin.write("go\n")
        waiting.stdin.flush()
        assert report(waiting) == {"verdict": "AC"}
        assert waiting.wait(timeout=60) == 0
    finally:
        waiting.kill()
        waiting.wait()
    assert not Path(str(first["scratch"])).exists()
