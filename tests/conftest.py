"""Shared fixtures: one cache directory per session, so binaries and the PCH are built once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

import pie

# No per-example deadline: on this project's shared 2-core machine one example in thousands
# stalls past hypothesis' 200 ms while other jobs run (two did in one full run, at 260 and 296
# ms, then 0.2 ms on replay), failing the suite for nothing; speed is shown in bench/, not in
# timed unit tests.
settings.register_profile("pie", deadline=None)
settings.load_profile("pie")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("PIE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every test (and by CLI subprocesses through PIE_CACHE_DIR)."""
    return tmp_path_factory.mktemp("pie-cache")


@pytest.fixture(autouse=True)
def _cache_env(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIE_CACHE_DIR", str(cache_dir))


def make_tests(folder: Path, pairs: list[tuple[str, str]]) -> Path:
    """A PIE-layout test folder from (input, expected output) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (given, expected) in enumerate(pairs):
        (folder / f"input.{index}.txt").write_text(given)
        (folder / f"output.{index}.txt").write_text(expected)
    return folder


@pytest.fixture
def sum_tests(tmp_path: Path) -> Path:
    return make_tests(tmp_path / "sum", [("3 4\n", "7\n"), ("10 -3\n", "7\n"), ("1 1\n", "2\n")])


SUM_OK = r"""
#include <bits/stdc++.h>
int main() { long long a, b; std::cin >> a >> b; std::cout << a + b << "\n"; }
"""


@pytest.fixture
def evaluator_options(cache_dir: Path) -> dict[str, object]:
    return {"cache_dir": cache_dir, "concurrency": 2}


def live_processes_named(fragment: str) -> list[int]:
    """PIDs whose command line contains ``fragment`` (to prove nothing was left running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if fragment.encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def shared_data() -> Iterator[Path]:
    """The real PIE/CodeNet sample data beside the checkout (not shipped with the package)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real PIE sample data not present at {SHARED_DATA} (set PIE_SHARED_DATA)")
    yield SHARED_DATA


__all__ = ["SUM_OK", "live_processes_named", "make_tests", "pie"]


@contextmanager
def launcher_witness(cache_dir: Path, launched: Path) -> Iterator[Path]:
    """The sandbox launcher of ``cache_dir`` replaced, for the block, by a script that appends
    its arguments to ``launched`` and runs the real one: whether anything started a sandbox."""
    from pie._sandbox import _launcher  # noqa: PLC0415 (the launcher is the witness)

    launcher = _launcher.launcher_path(cache_dir)
    real = launcher.with_name(f"{launcher.name}.real")
    os.rename(launcher, real)
    try:
        launcher.write_text(f'#!/bin/sh\necho "$@" >> {launched}\nexec {real} "$@"\n')
        launcher.chmod(0o755)
        yield launcher
    finally:
        os.replace(real, launcher)
