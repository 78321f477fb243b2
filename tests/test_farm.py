"""The gem5 farm end to end over real SSH: loopback hosts (asyncssh servers on 127.0.0.1 with
key authentication and known_hosts), whose ``gem5.opt`` is the gem5 STAND-IN.

Every test ends with every job done or clearly failed: none lost, none run twice (the stand-in
logs each run), no stand-in process left, no job folder left on a host, and a cache holding
exactly the successful results.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import anyio
import asyncssh
import pytest

import pie
from pie._cache import ResultCache
from pie._data import load_test_cases
from pie._farm import load_farm
from pie._farm._check import _flag_odd_identities
from pie._farm._hosts import GUEST_PROGRAM, HostLink, Upload
from pie._farm._stats import parse_stats
from pie._hashing import key_of, sha256_file
from pie._model import Limits, TestCase, Timing
from pie._paths import farm_status_path
from pie._timing._gem5 import Gem5Backend
from tests.conftest import SUM_OK, make_tests
from tests.farm.loopback import LoopbackFarm, jobs_folders

pytestmark = pytest.mark.anyio

Loopback = Callable[..., LoopbackFarm]
STANDIN_CYCLES = 2_000_000  # the stand-in's base cycle count (tests/farm/gem5_standin.py)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Loopback]:
    """``loopback(count)``: that many fresh loopback hosts, gone at the end of the test."""
    with contextlib.ExitStack() as stack:
        made = 0

        def make(count: int = 2, *, jail: bool = False) -> LoopbackFarm:
            nonlocal made
            made += 1
            return stack.enter_context(LoopbackFarm(tmp_path / f"farm{made}", count, jail=jail))

        yield make


def binary(folder: Path, name: str, body: str = "cat") -> Path:
    """A tiny program: the stand-in runs whatever it is given natively."""
    path = folder / name
    path.write_text(f"#!/bin/sh\n# {name}\n{body}\n")
    path.chmod(0o755)
    return path


def cases(folder: Path, inputs: list[str]) -> tuple[TestCase, ...]:
    return load_test_cases(make_tests(folder, [(given, given) for given in inputs]))


def standin_seconds(program: Path, given: bytes, output: bytes) -> float:
    """The stand-in's made-up, deterministic time for this run."""
    digest = hashlib.sha256(program.read_bytes()).digest()
    cycles = STANDIN_CYCLES + 3 * len(given) + 50 * len(output) + int.from_bytes(digest[:2], "big")
    return float(Fraction(cycles * 286, 10**12))


@contextlib.asynccontextmanager
async def gem5_backend(
    config: Path, folder: Path
) -> AsyncIterator[tuple[Gem5Backend, ResultCache]]:
    store = ResultCache(folder / "results.sqlite3")
    backend = Gem5Backend(load_farm(config), store, check=pie.CheckMode.STRICT)
    try:
        yield backend, store
    finally:
        await backend.aclose()
        store.close()


async def measure(backend: Gem5Backend, program: Path, tests: tuple[TestCase, ...]) -> Timing:
    digest = hashlib.sha256(program.read_bytes()).hexdigest()
    timing = await backend.measure(program, digest, tests, Limits())
    assert timing is not None
    return timing


def assert_settled(
    farm: LoopbackFarm,
    store: ResultCache | None = None,
    cached: int = 0,
    *,
    once: bool = True,
    dead: tuple[int, ...] = (),
) -> None:
    """No job ran to its end twice (``once``), nothing is left running anywhere or lying
    around on the live hosts (a ``dead`` host cleans nothing), and the cache holds ``cached``
    results (successes only)."""
    if once:
        assert max(farm.counts("end").values(), default=0) <= 1, farm.events()

    def leftovers() -> list[Path]:
        roots = [str(farm.hosts[i].root) for i in dead]
        return [p for p in jobs_folders(farm) if not str(p).startswith(tuple(roots) or ("\0",))]

    deadline = time.monotonic() + 5
    while (farm.live_standins() or leftovers()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert farm.live_standins() == []
    assert leftovers() == []
    if store is not None:
        assert store.stats()["timings"] == cached


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def started_on(farm: LoopbackFarm, host: int) -> list[str]:
    root = str(farm.hosts[host].root)
    return [tag for kind, tag, cwd in farm.events() if kind == "start" and cwd.startswith(root)]


def host_states(folder: Path) -> list[dict[str, Any]]:
    """The hosts of the farm's status snapshot (rewritten twice a second while it runs)."""
    return list(json.loads(farm_status_path(folder).read_text())["hosts"])


async def hosts_when(
    folder: Path, ready: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The snapshot's hosts once ``ready`` holds for them (within ten seconds)."""
    with anyio.fail_after(10):
        while not (farm_status_path(folder).exists() and ready(hosts := host_states(folder))):
            await anyio.sleep(0.05)
    return hosts


# ---- end to end through pie's API -------------------------------------------------------


async def test_evaluate_times_programs_on_the_farm(
    loopback: Loopback, tmp_path: Path, sum_tests: Path
) -> None:
    farm = loopback(2)
    config = farm.write_config(slots=2)
    first = await pie.evaluate(SUM_OK, sum_tests, timing="gem5", farm=config)
    assert first.verdict is pie.Verdict.AC
    timing = first.timing
    assert timing is not None and timing.error is None, timing
    assert (timing.backend, timing.unit, timing.cached) == ("gem5", "seconds", False)
    assert timing.config.startswith("gem5=") and ";config=" in timing.config
    ticks = timing.measure("ticks")
    assert ticks is not None
    assert timing.per_test == tuple(float(Fraction(int(t), 10**12)) for t in ticks.per_test)
    assert timing.total == pytest.approx(sum(timing.per_test), rel=1e-12)
    # the stand-in's deterministic "time" of each test: the sum program echoes one line
    outputs = [b"7\n", b"7\n", b"2\n"]
    program = Path(first.compile.binary or "")
    inputs = [case.input.read_bytes() for case in load_test_cases(sum_tests)]
    expected = [standin_seconds(program, i, o) for i, o in zip(inputs, outputs, strict=True)]
    assert timing.per_test == pytest.approx(expected, rel=1e-12)
    assert set(farm.counts("start").values()) == {1} and len(farm.counts("start")) == 3

    again = await pie.evaluate(SUM_OK, sum_tests, timing="gem5", farm=config)
    assert again.timing is not None and again.timing.cached
    assert again.timing.per_test == timing.per_test
    assert sum(farm.counts("start").values()) == 3  # nothing simulated twice
    assert_settled(farm)


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_farm_runs_under_trio_too(
    loopback: Loopback, tmp_path: Path, sum_tests: Path
) -> None:
    farm = loopback(1)
    result = await pie.evaluate(SUM_OK, sum_tests, timing="gem5", farm=farm.write_config())
    assert result.timing is not None and result.timing.error is None
    assert len(result.timing.per_test) == 3
    assert_settled(farm)


def pie_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pie.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_line(loopback: Loopback, tmp_path: Path, sum_tests: Path) -> None:
    farm = loopback(2, jail=True)  # as in the gem5 host image: every job runs in the jail
    config = farm.write_config(slots=1)
    source = tmp_path / "sum.cpp"
    source.write_text(SUM_OK)

    check = pie_cli("farm", "check", str(config))
    assert check.returncode == 0, check.stderr
    assert "2 of 2 hosts ready\n" in check.stdout
    assert check.stdout.count(" ok ") == 2 and "ticks (not PIE's) in" in check.stdout
    assert check.stdout.count("  landlock ") == 2  # the jail column: the kernel's Landlock ABI
    assert "PIE's image simulated it in 1,004,121,118 ticks" in check.stdout  # beside PIE's
    here = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
    assert check.stdout.count(f"  {here}  ") == 2  # the hosts' glibc column
    argv0s = {detail.split()[-1] for kind, _, detail in farm.events() if kind == "env"}
    assert argv0s == {"argv0=/tmp/tmppie_gem5/basic.out"}  # PIE's hello at PIE's path shape

    no_farm = pie_cli("run", str(source), "--tests", str(sum_tests), "--timing", "gem5")
    assert no_farm.returncode == 2 and "needs a farm" in no_farm.stderr

    run = pie_cli(
        "run", str(source), "--tests", str(sum_tests), "--json", "--timing", "gem5",
        "--farm", str(config),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    timing = json.loads(run.stdout)["timing"]
    assert timing["backend"] == "gem5" and len(timing["per_test"]) == 3

    status = pie_cli("farm", "status", "--cache", os.environ["PIE_CACHE_DIR"])
    assert status.returncode == 0
    assert "finished" in status.stdout and str(farm.hosts[0].port) in status.stdout

    farm.kill(1)
    broken = pie_cli("farm", "check", str(config))
    assert broken.returncode == 1
    assert "FAIL" in broken.stdout and "1 of 2 hosts ready" in broken.stdout
    assert_settled(farm, once=False)  # the probe program ran once per check


def test_farm_check_compares_this_machines_glibc_with_each_hosts(loopback: Loopback) -> None:
    farm = loopback(2)
    farm.hosts[1].pretend_glibc("2.31")
    farm.set_env(1, PIE_STANDIN_GLIBC="2.31")
    here = os.confstr("CS_GNU_LIBC_VERSION").split()[1]
    check = pie_cli("farm", "check", str(farm.write_config(slots=1)))
    (old,) = [line for line in check.stdout.splitlines() if str(farm.hosts[1].port) in line]
    if tuple(map(int, here.split("."))) <= (2, 31):
        assert check.returncode == 0, check.stdout  # an old glibc here: nothing to refuse
        return
    assert check.returncode == 1 and "1 of 2 hosts ready" in check.stdout, check.stdout
    assert "FAIL" in old and "  2.31  " in old
    assert f"this machine's glibc {here} is newer than the host's 2.31" in old
    assert "cannot be simulated: the binary needs glibc" in old  # and the probe shows it
    assert_settled(farm, once=False)


# ---- scheduling ----------------------------------------------------------------------------


async def test_uploads_happen_once_per_host(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    config = farm.write_config(slots=2)
    tests = cases(tmp_path / "t", ["a\n", "bb\n", "ccc\n"])
    first, second = binary(tmp_path, "first"), binary(tmp_path, "second")
    async with gem5_backend(config, tmp_path / "c1") as (backend, store):
        async with anyio.create_task_group() as group:
            for program in (first, second, first):
                group.start_soon(measure, backend, program, tests)
        assert_settled(farm, store, cached=6)
    async with gem5_backend(config, tmp_path / "c2") as (backend, store):  # a new farm session
        timing = await measure(backend, first, tests)
        assert timing.error is None and not timing.cached
    writes = farm.hosts[0].sftp_writes
    assert len(writes) == 5 and set(writes.values()) == {1}, writes  # 2 binaries + 3 inputs
    assert sum(farm.counts("start").values()) == 9  # 6, then 3 again for the empty cache


async def test_identical_jobs_are_simulated_once(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(2)
    program = binary(tmp_path, "prog")
    same = cases(tmp_path / "a", ["1 2\n", "1 2\n", "3 4\n"])  # two tests with one input
    copy = cases(tmp_path / "b", ["1 2\n", "1 2\n", "3 4\n"])  # other files, same contents
    timings: list[Timing] = []
    async with gem5_backend(farm.write_config(slots=2), tmp_path) as (backend, store):

        async def one(tests: tuple[TestCase, ...]) -> None:
            timings.append(await measure(backend, program, tests))

        async with anyio.create_task_group() as group:
            group.start_soon(one, same)
            group.start_soon(one, copy)
        assert timings[0].per_test == timings[1].per_test
        assert timings[0].per_test[0] == timings[0].per_test[1]
        assert sorted(farm.counts("start").values()) == [1, 1]
        assert_settled(farm, store, cached=2)


async def test_longest_expected_jobs_go_first(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    farm.set_env(0, PIE_STANDIN_SLEEP="0.1")
    program = binary(tmp_path, "prog")
    sizes = [10, 4000, 100, 2000, 700]
    tests = cases(tmp_path / "t", ["x" * size for size in sizes])
    blocker = cases(tmp_path / "b", ["blocker"])
    async with gem5_backend(farm.write_config(slots=1), tmp_path) as (backend, store):
        async with anyio.create_task_group() as group:
            group.start_soon(measure, backend, program, blocker)
            await anyio.to_thread.run_sync(lambda: wait_for(lambda: bool(farm.events())))
            group.start_soon(measure, backend, program, tests)
        order = [tag for kind, tag, _ in farm.events() if kind == "start"][1:]
        by_input = {hashlib.sha256(b"x" * size).hexdigest()[:16]: size for size in sizes}
        assert [by_input[tag.split(":")[1]] for tag in order] == sorted(sizes, reverse=True)
        assert_settled(farm, store, cached=6)


# ---- faults --------------------------------------------------------------------------------


async def test_a_host_killed_mid_job_loses_nothing(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(2)
    farm.set_env(0, PIE_STANDIN_SLEEP="3")  # host 0 is busy when it dies
    program = binary(tmp_path, "prog")
    tests = cases(tmp_path / "t", [f"{i}\n" for i in range(8)])
    async with gem5_backend(farm.write_config(slots=2), tmp_path) as (backend, store):
        async with anyio.create_task_group() as group:

            async def run() -> None:
                timing = await measure(backend, program, tests)
                assert timing.error is None and all(math.isfinite(t) for t in timing.per_test)

            group.start_soon(run)
            await anyio.to_thread.run_sync(lambda: wait_for(lambda: len(started_on(farm, 0)) == 2))
            await anyio.to_thread.run_sync(farm.kill, 0)
        assert set(farm.counts("end").values()) == {1} and len(farm.counts("end")) == 8
        rerun = [tag for tag, count in farm.counts("start").items() if count > 1]
        assert sorted(rerun) == sorted(started_on(farm, 0))  # only the killed host's jobs
        hosts = await hosts_when(tmp_path, lambda hosts: hosts[0]["state"] == "out")
        assert "cannot connect" in hosts[0]["reason"] and hosts[1]["state"] == "up"
        assert_settled(farm, store, cached=8, dead=(0,))


async def test_orphaned_job_folders_are_removed_at_connect(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(1)
    jobs = farm.hosts[0].workdir / "jobs"
    orphan, running = jobs / "0123456789abcdef", jobs / "fedcba9876543210"
    for folder, owner in ((orphan, 2**22 + 1), (running, os.getpid())):  # past pid_max; alive
        folder.mkdir(parents=True)
        (folder / "owner").write_text(f"{owner}\n")
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, binary(tmp_path, "p"), cases(tmp_path / "t", ["1"]))
        assert timing.error is None
        assert not orphan.exists() and running.exists()
        (running / "owner").unlink()
        running.rmdir()
        assert_settled(farm, store, cached=1)


async def test_a_dropped_connection_is_resumed(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    farm.set_env(0, PIE_STANDIN_SLEEP="1")
    program = binary(tmp_path, "prog")
    tests = cases(tmp_path / "t", ["1\n", "2\n"])
    async with gem5_backend(farm.write_config(slots=2), tmp_path) as (backend, store):
        async with anyio.create_task_group() as group:

            async def run() -> None:
                timing = await measure(backend, program, tests)
                assert timing.error is None

            group.start_soon(run)
            await anyio.to_thread.run_sync(
                lambda: wait_for(lambda: sum(farm.counts("start").values()) == 2)
            )
            farm.drop_connections(0)
        assert set(farm.counts("start").values()) == {2}  # cut once, run again
        assert set(farm.counts("end").values()) == {1}
        (host,) = await hosts_when(tmp_path, lambda hosts: hosts[0]["done"] == 2)
        assert host["state"] == "up" and host["host_errors"] >= 1
        assert_settled(farm, store, cached=2)


async def test_a_refused_key_is_a_clear_failure(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(tmp_path / "wrong_key")
    settings = farm.settings()
    settings["hosts"][0]["key"] = str(tmp_path / "wrong_key")
    config = tmp_path / "farm.yaml"
    config.write_text(json.dumps(settings))
    async with gem5_backend(config, tmp_path) as (backend, _):
        timing = await measure(backend, binary(tmp_path, "p"), cases(tmp_path / "t", ["1\n"]))
    assert timing.total == math.inf and timing.error is not None
    assert timing.error.startswith("gem5 host failure: no gem5 host could be used")
    assert "wrong_key was refused" in timing.error
    assert farm.hosts[0].commands == 0 and farm.events() == []
    assert_settled(farm)


async def test_a_host_with_another_key_is_refused(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(2)
    farm.write_known_hosts({0: asyncssh.generate_private_key("ssh-ed25519")})
    program = binary(tmp_path, "prog")
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, program, cases(tmp_path / "t", ["1\n", "2\n"]))
        assert timing.error is None
        hosts = await hosts_when(tmp_path, lambda hosts: hosts[1]["done"] == 2)
        assert hosts[0]["state"] == "out" and "host key not accepted" in hosts[0]["reason"]
        assert farm.hosts[0].commands == 0 and started_on(farm, 0) == []
        assert_settled(farm, store, cached=2)

    farm.write_known_hosts({i: asyncssh.generate_private_key("ssh-ed25519") for i in (0, 1)})
    async with gem5_backend(farm.write_config(), tmp_path / "again") as (backend, store):
        timing = await measure(backend, program, cases(tmp_path / "u", ["3\n"]))
    assert timing.error is not None and "host key not accepted" in timing.error


async def test_a_failing_host_is_taken_out(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(2)
    program = binary(tmp_path, "prog")
    async with gem5_backend(farm.write_config(slots=2), tmp_path) as (backend, store):
        assert (await measure(backend, program, cases(tmp_path / "a", ["a\n"]))).error is None
        jobs = farm.hosts[0].workdir / "jobs"  # host 0 can no longer make job folders
        jobs.rmdir()
        jobs.write_text("not a folder")
        timing = await measure(
            backend, program, cases(tmp_path / "b", [f"{i}\n" for i in range(6)])
        )
        assert timing.error is None
        hosts = await hosts_when(tmp_path, lambda hosts: hosts[0]["state"] == "out")
        assert "cannot create the workdir" in hosts[0]["reason"]
        jobs.unlink()
        assert_settled(farm, store, cached=7)


async def test_host_retries_are_bounded(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    program = binary(tmp_path, "prog")
    config = farm.write_config(retries=0, host_failures=5)
    async with gem5_backend(config, tmp_path) as (backend, store):
        assert (await measure(backend, program, cases(tmp_path / "a", ["0\n"]))).error is None
        jobs = farm.hosts[0].workdir / "jobs"
        jobs.rmdir()
        jobs.write_text("not a folder")
        timing = await measure(backend, program, cases(tmp_path / "b", ["1\n"]))
        jobs.unlink()
        assert timing.error is not None and timing.error.startswith("gem5 host failure: ")
        assert "cannot create a job folder" in timing.error
        assert "gave up after 1 attempt" in timing.error
        assert_settled(farm, store, cached=1)


async def test_hosts_that_simulate_differently_are_taken_out(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(3)
    gem5 = farm.hosts[2].gem5
    gem5.write_text(gem5.read_text() + "# another build\n")
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, binary(tmp_path, "p"), cases(tmp_path / "t", ["1\n"] * 3))
        assert timing.error is None
        hosts = host_states(tmp_path)  # written at start, once the hosts are connected
        assert [host["state"] for host in hosts] == ["up", "up", "out"]
        assert "simulates differently" in hosts[2]["reason"] and "gem5 sha256" in hosts[2]["reason"]
        assert_settled(farm, store, cached=1)


GEM5_FAULTS = [
    # gem5's last fatal or panic line, not the "Memory Usage:" line that follows it
    ("crash", "gem5 failed: killed by SIGABRT: panic: the stand-in crashes on purpose"),
    ("mmap", "gem5 failed: exit 1: fatal: Could not mmap 34359738368 bytes for range"),
    # the real gem5 v20.1's messages (tests/farm/real/), replayed by the stand-in
    (
        "syscall",
        "cannot be simulated: unimplemented syscall newfstatat (#262): gem5's syscall "
        "emulation has no implementation of it (gem5 v20.1, which PIE timed with, "
        "cannot either)",
    ),
    (
        "getrandom",
        "cannot be simulated: unknown syscall getrandom (#318): it is past the end of "
        "gem5's syscall table",
    ),
    (
        "avx",
        "cannot be simulated: a VEX-encoded (AVX2, FMA or AVX) instruction gem5 does not "
        "decode (three byte 0f3a opcode 0x39)",
    ),
    (
        "stack",
        "cannot be simulated: the stack outgrew gem5's 8 MiB limit: a write at 0x7fffff7fe2c0",
    ),
    # the panic line however deep gem5's backtrace after it (the job keeps only a log's tail)
    ("stack_deep", "cannot be simulated: the stack outgrew gem5's 8 MiB limit"),
    ("avx_as_sse", "the simulated run's output is wrong: accuracy 0.000 under gem5"),
    ("truncated", "gem5 stats rejected: the last statistics dump has no end marker"),
    ("garbage", "gem5 stats rejected: line "),
    ("two_dumps", "gem5 stats rejected: 2 statistics dumps"),
    ("reset", "gem5 stats rejected: sim_ticks "),
    ("maxtick", "gem5 stats rejected: final_tick 18446744073709551616: the simulation ran to"),
    ("no_cpu", "gem5 stats rejected: no CPU ran"),
    ("no_stats", "gem5 stats rejected: gem5 exited normally but wrote no stats file"),
    ("no_report", "gem5 stats rejected: gem5 ended without run-se.py's exit report"),
]


async def test_gem5_failures_are_reported_by_kind(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    program = binary(tmp_path, "prog")
    config = farm.write_config(slots=2)
    for index, (fault, message) in enumerate(GEM5_FAULTS):
        farm.set_env(0, PIE_STANDIN_FAULT=fault)
        tests = cases(tmp_path / fault, [f"{fault}\n"])
        async with gem5_backend(config, tmp_path / f"cache-{fault}") as (backend, store):
            timing = await measure(backend, program, tests)
            assert timing.total == math.inf and timing.per_test == (math.inf,)
            assert timing.error is not None and timing.error.startswith(message), timing.error
            assert timing.error.endswith("(test 0)")
            assert_settled(farm, store, cached=0)
        assert len(farm.counts("start")) == index + 1 and set(farm.counts("start").values()) == {1}

    farm.set_env(0)
    failing = binary(tmp_path, "failing", "cat; exit 3")
    async with gem5_backend(config, tmp_path / "cache-exit") as (backend, store):
        timing = await measure(backend, failing, cases(tmp_path / "exit", ["1\n", "2\n"]))
        assert timing.error is not None
        assert timing.error.startswith("gem5 failed: the program did not exit normally")
        assert_settled(farm, store, cached=0)


async def test_a_hanging_gem5_is_a_host_failure_at_the_safety_net(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(1)
    farm.set_env(0, PIE_STANDIN_FAULT="hang")
    started = time.monotonic()
    async with gem5_backend(farm.write_config(timeout=1), tmp_path) as (backend, store):
        timing = await measure(backend, binary(tmp_path, "p"), cases(tmp_path / "t", ["1\n"]))
        assert timing.error is not None
        assert timing.error.startswith("gem5 host failure: gem5 was still running after 1 s of")
        assert "safety-net 'timeout'" in timing.error and timing.error.endswith("(test 0)")
        assert_settled(farm, store, cached=0)
    assert time.monotonic() - started < 15
    assert farm.counts("end") == {}


async def test_cancelling_stops_the_remote_gem5(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    farm.set_env(0, PIE_STANDIN_FAULT="hang")
    async with gem5_backend(farm.write_config(timeout=60), tmp_path) as (backend, store):
        with anyio.move_on_after(30) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(
                    measure, backend, binary(tmp_path, "p"), cases(tmp_path / "t", ["1"])
                )
                await anyio.to_thread.run_sync(lambda: wait_for(lambda: bool(farm.events())))
                assert farm.live_standins()
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught
        assert_settled(farm, store)  # stopped by the cancellation, the farm still running


def test_ctrl_c_stops_the_remote_gem5(loopback: Loopback, tmp_path: Path, sum_tests: Path) -> None:
    farm = loopback(1)
    farm.set_env(0, PIE_STANDIN_FAULT="hang")
    source = tmp_path / "sum.cpp"
    source.write_text(SUM_OK)
    command = [
        sys.executable, "-m", "pie.cli", "run", str(source), "--tests", str(sum_tests),
        "--timing", "gem5", "--farm", str(farm.write_config(timeout=60)),
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            wait_for(lambda: bool(farm.events()), seconds=60)
            assert farm.live_standins()
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert_settled(farm)


def test_status_of_a_batch_whose_process_died(tmp_path: Path) -> None:
    dead = 2**22 + 1  # above any pid_max: no such process
    folder = farm_status_path(tmp_path).parent
    snapshot = {
        "pid": dead, "state": "running", "started": time.time(), "updated": time.time(),
        "identity": None, "queue": 7, "busy_slots": 1, "slots": 2, "done": 3, "failed": 1,
        "requeued": 0,
        "hosts": [
            {"host": "pie@h:22", "state": "up", "reason": "", "slots": 2, "busy": 1, "done": 3,
             "failed": 1, "host_errors": 0, "busy_seconds": 1.0, "waiting_seconds": 0.0,
             "jobs_per_minute": 12.0},
        ],
    }  # fmt: skip
    folder.mkdir(parents=True)
    (folder / f"status-{dead}.json").write_text(json.dumps(snapshot))
    shown = pie_cli("farm", "status", "--cache", str(tmp_path))
    assert shown.returncode == 0
    assert f"batch {dead}: stopped (its process is gone)" in shown.stdout
    assert "queue 7, busy slots 1 of 2, done 3, failed 1" in shown.stdout
    assert "pie@h:22" in shown.stdout and "1/2" in shown.stdout
    empty = pie_cli("farm", "status", "--cache", str(tmp_path / "nothing"))
    assert empty.returncode == 1 and "no gem5 farm batch" in empty.stdout


# ---- the farm behind PIE's gym-like API and behind pie evaluate ----------------------------


def test_pie_simulator_api_times_on_the_farm(
    loopback: Loopback, tmp_path: Path, sum_tests: Path, cache_dir: Path
) -> None:
    from pie import simulator  # noqa: PLC0415 (the module under test, imported where used)

    farm = loopback(1)
    env = simulator.make(
        farm=str(farm.write_config()), testcases_dir=str(sum_tests.parent), cache_dir=cache_dir
    )
    try:
        result = env.submit_single_submission(SUM_OK, [0, 1, 2], "sum", "gem5")
    finally:
        env.teardown()
    assert result.compilation and result.mean_acc == 1.0
    assert set(result.tc2time) == {0, 1, 2} and all(result.tc2success.values())
    assert result.agg_runtime == pytest.approx(sum(result.tc2time.values()), rel=1e-12)
    assert result.runtime_unit == "seconds"
    assert_settled(farm)


def test_pie_evaluate_with_gem5_reuses_recorded_runtimes_unless_redo(
    loopback: Loopback, tmp_path: Path, sum_tests: Path
) -> None:
    farm = loopback(1)
    row = {
        "problem_id": "sum",
        "src_code": SUM_OK,
        "tgt_code": SUM_OK + "// tgt\n",
        "src_agg_runtime": 1.0,
        "tgt_agg_runtime": 0.5,
        "generated_answers": [SUM_OK + "// candidate\n"],
    }
    outputs = {}
    for redo in (False, True):
        folder = tmp_path / f"redo-{redo}"
        folder.mkdir()
        (folder / "g.jsonl").write_text(json.dumps(row) + "\n")
        config = folder / "config.yaml"
        config.write_text(
            f"model_generated_outputs_path: {folder / 'g.jsonl'}\n"
            f"reference_file_path: {folder / 'g.jsonl'}\noutput_dir: {folder / 'out'}\n"
            f"testcases_dir: {sum_tests.parent}\ntiming: gem5\nfarm: {farm.write_config()}\n"
            f"redo_src_tgt: {str(redo).lower()}\n"
        )
        done = pie_cli("evaluate", str(config), *([] if redo else ["--quiet"]))
        assert done.returncode == 0, done.stderr
        assert ("slots busy, queue" in done.stderr) is redo  # the progress line shows the farm
        (outputs[redo],) = [
            json.loads(line) for line in (folder / "out" / "test_results.jsonl").open()
        ]
    recorded, redone = outputs[False], outputs[True]
    assert recorded["src_code_agg_runtime"] == 1.0 and "src_code_verdict" not in recorded
    assert 0 < recorded["generated_answers_0_agg_runtime"] < 0.01  # stand-in seconds
    assert redone["src_code_verdict"] == "AC"
    assert 0 < redone["src_code_agg_runtime"] < 0.01  # measured on the farm, same unit
    assert_settled(farm)


async def test_a_connection_dropped_during_an_upload_loses_nothing(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(1)
    farm.hosts[0].drops_on_upload = 1
    program = binary(tmp_path, "prog")
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, program, cases(tmp_path / "t", ["1\n", "2\n"]))
        assert timing.error is None and len(timing.per_test) == 2
        assert_settled(farm, store, cached=2)
    assert farm.hosts[0].drops_on_upload == 0  # the drop happened
    assert set(farm.counts("start").values()) == {1}  # and no job ran twice


async def test_a_slow_host_gets_fewer_jobs_and_nothing_waits_on_it_forever(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(2)
    farm.set_env(1, PIE_STANDIN_SLEEP="1.5")
    program = binary(tmp_path, "prog")
    tests = cases(tmp_path / "t", [f"{i}\n" for i in range(8)])
    async with gem5_backend(farm.write_config(slots=1), tmp_path) as (backend, store):
        timing = await measure(backend, program, tests)
        assert timing.error is None and len(timing.per_test) == 8
        assert_settled(farm, store, cached=8)
    assert len(started_on(farm, 0)) > len(started_on(farm, 1)) >= 0
    assert sum(farm.counts("start").values()) == 8


# ---- what a guest can do, and what gem5 cannot time ---------------------------------------


def forged_stats(ticks: int) -> str:
    """A consistent one-dump stats file of gem5 v20.1's layout claiming ``ticks``."""
    from tests.farm.gem5_standin import dump  # noqa: PLC0415 (the stand-in's own layout)

    return dump(ticks, ticks, ticks // 286, with_cpu=True)


async def test_a_guest_that_forges_its_stats_is_refused(loopback: Loopback, tmp_path: Path) -> None:
    """The guest writes files as gem5 does: it replaces m5out/stats.txt (gem5 keeps writing
    into the unlinked file it opened at start) and adds a forged exit report to the report
    pipe through /proc and to gem5's stdout.  The report's last line is gem5's own."""
    forged = forged_stats(2_000)
    assert parse_stats(forged).ticks == 2_000  # the forgery alone would be believed
    (tmp_path / "forged.txt").write_text(forged)
    line = "Exiting @ tick 2000 because exiting with last active thread context"
    guest = binary(
        tmp_path,
        "forger",
        f"rm -f m5out/stats.txt && cp {tmp_path / 'forged.txt'} m5out/stats.txt\n"
        f"echo '{line}' > /proc/$PPID/fd/3\necho '{line}'\ncat",
    )
    farm = loopback(1)
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, guest, cases(tmp_path / "t", ["1\n"]))
        assert timing.total == math.inf and timing.error is not None
        assert timing.error.startswith(
            "gem5 stats rejected: the stats file's final_tick 2000 is not the tick gem5 ended at"
        ), timing.error
        assert "the file was replaced during the run" in timing.error
        assert_settled(farm, store, cached=0)
    assert len(farm.counts("end")) == 1  # the guest ran: its forgery was there to be refused


# A program that tells gem5 from a real machine by its argv[0] (every job's guest path; a real
# gem5 guest could as well read gem5's CPUID vendor, its empty environment or its slow clock):
# the right answer natively, none or a wrong one under gem5, where the work would be timed.
DETECTS_GEM5 = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    (void)argc;
    if (strcmp(argv[0], "%s") == 0) { %s }
    int c;
    while ((c = getchar()) != EOF) putchar(c);
    return 0;
}
"""


def detecting(folder: Path, name: str, under_gem5: str) -> Path:
    """A C program that echoes its input, but does ``under_gem5`` when it sees gem5's guest
    path; natively (any other argv[0]) it is right."""
    source, program = folder / f"{name}.c", folder / name
    source.write_text(DETECTS_GEM5 % (GUEST_PROGRAM, under_gem5))
    subprocess.run(["gcc", "-O1", "-o", str(program), str(source)], check=True)
    native = subprocess.run([str(program)], input=b"4 2\n", capture_output=True, check=True)
    assert native.stdout == b"4 2\n"
    return program


async def test_a_program_that_detects_gem5_gets_an_error_not_a_time(
    loopback: Loopback, tmp_path: Path
) -> None:
    """Printing nothing, or a wrong answer, under gem5 (where it skipped its work) is a timing
    error naming the wrong output, never a number nor a cached result; an honest program on
    the same farm gets its ticks."""
    silent = detecting(tmp_path, "silent", "return 0;")
    wrong = detecting(tmp_path, "wrong", 'puts("0"); return 0;')
    honest = binary(tmp_path, "honest")
    tests = cases(tmp_path / "t", ["4 2\n", "5 3\n"])
    farm = loopback(1)
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        for program, score in ((silent, "0.000"), (wrong, "0.000")):
            timing = await measure(backend, program, tests)
            assert timing.total == math.inf and timing.per_test == (math.inf, math.inf)
            wrong_output = (
                f"the simulated run's output is wrong: accuracy {score} under gem5, 1.000 in its "
                "test run; a program must print under gem5 what it prints in its tests (one "
                "that detects gem5 and skips its work does not, nor does AVX code: gem5 v20.1 "
                "runs some 256-bit AVX as 128-bit SSE)"
            )
            # the first failure to land is named (the other test's run is then stopped)
            assert timing.error in (f"{wrong_output} (test {i})" for i in (0, 1)), timing.error
        assert_settled(farm, store, cached=0)  # nothing of theirs is kept as a success
        again = await measure(backend, silent, tests)
        assert again.error is not None and "output is wrong" in again.error
        timing = await measure(backend, honest, tests)
        assert timing.error is None
        given = [case.input.read_bytes() for case in tests]
        assert timing.per_test == tuple(standin_seconds(honest, g, g) for g in given)
        assert_settled(farm, store, cached=2, once=False)
    # its wrong output was not kept: asking again simulated the silent program again
    tag = hashlib.sha256(silent.read_bytes()).hexdigest()[:16]
    assert len([end for end in farm.counts("end").elements() if end.startswith(tag)]) >= 2


async def test_the_simulated_output_is_judged_with_the_tests_checker(
    loopback: Loopback, tmp_path: Path
) -> None:
    """Token-wise (strict) "4  2" is "4 2"; PIE's line-wise check is not: the run's output is
    held to the checker the tests were judged with, and its cached accuracy to each run's."""
    spaced = binary(tmp_path, "spaced", "sed 's/ /  /'")
    tests = cases(tmp_path / "t", ["4 2\n"])
    farm = loopback(1)
    config = load_farm(farm.write_config())
    digest = sha256_file(spaced)
    store = ResultCache(tmp_path / "results.sqlite3")
    try:
        for mode, error in ((pie.CheckMode.STRICT, None), (pie.CheckMode.PIE, "accuracy 0.000")):
            backend = Gem5Backend(config, store, check=mode)
            try:
                timing = await backend.measure(spaced, digest, tests, Limits())
            finally:
                await backend.aclose()
            assert timing is not None
            assert (timing.error is None) if error is None else (error in str(timing.error))
        backend = Gem5Backend(config, store, check=pie.CheckMode.STRICT)
        try:  # cached at accuracy 1.0; a test run of accuracy 1.0 asks no more
            timing = await backend.measure(spaced, digest, tests, Limits(), accuracies=[1.0])
        finally:
            await backend.aclose()
        assert timing is not None and timing.error is None and timing.cached
    finally:
        store.close()
    assert sum(farm.counts("end").values()) == 2  # one run per checker, the third cached


async def test_an_output_flood_under_gem5_is_an_error_and_is_not_sent(
    loopback: Loopback, tmp_path: Path
) -> None:
    """Past the test's output limit the host sends none of the output (memory here stays
    bounded however much the guest prints) and the timing says why."""
    flood = binary(tmp_path, "flood", "head -c 3145728 /dev/zero")
    tests = cases(tmp_path / "t", ["1\n"])
    farm = loopback(1)
    config = farm.write_config(max_ticks=10**15)  # the stand-in's time grows with the output
    async with gem5_backend(config, tmp_path) as (backend, store):
        digest = sha256_file(flood)
        timing = await backend.measure(flood, digest, tests, Limits(output_mib=1))
        assert timing is not None and timing.total == math.inf
        assert timing.error == (
            "the simulated run's output is wrong: the program printed 3,145,728 bytes under "
            "gem5, over the test's output limit of 1 MiB (test 0)"
        ), timing.error
        assert_settled(farm, store, cached=0)
    link = HostLink(load_farm(config).hosts[0], load_farm(config))
    try:
        await link.connect()
        given = tests[0].input
        run = await link.run(
            Upload(flood, digest, "bin"), Upload(given, key_of(b"1\n"), "inputs"), 1 << 20
        )
    finally:
        await link.close()
    assert run.output_bytes == 3 << 20 and run.output == b"" and run.status == 0


async def test_a_host_whose_run_se_lacks_pies_options_is_refused(
    loopback: Loopback, tmp_path: Path
) -> None:
    """Without --guest-output (an image built before it), the guest's output cannot be told
    from gem5's: the host is not used, and the reason names the fix."""
    farm = loopback(1)
    script = farm.hosts[0].config
    script.write_text(script.read_text().replace("parser.add_argument('--guest-output')\n", ""))
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, binary(tmp_path, "p"), cases(tmp_path / "t", ["1\n"]))
        assert timing.error is not None
        assert "is not pie's patched run-se.py" in timing.error, timing.error
        assert "--guest-output" in timing.error and "rebuild the docker/gem5-host image" in (
            timing.error
        )
        assert_settled(farm, store, cached=0)
    assert farm.counts("start") == {}


async def test_every_job_gets_the_same_environment_and_guest_path(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(2)
    tests = cases(tmp_path / "t", [f"{i}\n" for i in range(6)])
    async with gem5_backend(farm.write_config(slots=2), tmp_path) as (backend, store):
        timing = await measure(backend, binary(tmp_path, "prog"), tests)
        assert timing.error is None
        assert_settled(farm, store, cached=6)
    seen = {detail for kind, _, detail in farm.events() if kind == "env"}
    pythonpaths = {f"PYTHONPATH={host.config.parent / 'system'}" for host in farm.hosts}
    assert {tuple(d.split(" ")) for d in seen} == {
        (",".join(sorted([path, "PYTHONNOUSERSITE=1"])), "argv0=/tmp/tmppie_gem5/code.out")
        for path in pythonpaths
    }
    assert len(started_on(farm, 0)) and len(started_on(farm, 1))  # both hosts, one contract
    assert len("/tmp/tmppie_gem5/code.out") == len("/tmp/tmpXXXXXXXX/code.out") == 25


async def test_a_program_over_the_tick_budget_is_over_budget_on_every_host(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(2)
    farm.set_env(1, PIE_STANDIN_SLEEP="0.5")  # a slower host decides nothing
    config = farm.write_config(slots=1, max_ticks=1_000_000)
    tests = cases(tmp_path / "t", ["1\n", "2\n"])
    async with gem5_backend(config, tmp_path) as (backend, store):
        timing = await measure(backend, binary(tmp_path, "prog"), tests)
        assert timing.total == math.inf and timing.error is not None
        assert timing.error.startswith(
            "over the gem5 time budget: still running after 1,000,000 ticks (0.001 ms simulated"
        ), timing.error
        assert_settled(farm, store, cached=0)
    async with gem5_backend(farm.write_config(slots=1), tmp_path / "c2") as (backend, store):
        timing = await measure(backend, binary(tmp_path, "prog"), tests)
        assert timing.error is None  # within the default budget
        assert_settled(farm, store, cached=2, once=False)


async def test_a_cached_time_over_a_smaller_budget_is_over_budget(
    loopback: Loopback, tmp_path: Path
) -> None:
    farm = loopback(1)
    program, tests = binary(tmp_path, "prog"), cases(tmp_path / "t", ["1\n"])
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, _):
        assert (await measure(backend, program, tests)).error is None
    async with gem5_backend(farm.write_config(max_ticks=1_000), tmp_path) as (backend, _):
        timing = await measure(backend, program, tests)
    assert timing.error is not None and timing.error.startswith("over the gem5 time budget: ")
    assert sum(farm.counts("start").values()) == 1  # decided from the cache


BIG_ARRAY = r"""
#include <cstdio>
#include <cstring>
static char big[160 << 20];
int main() { std::memset(big, 1, sizeof big); std::printf("%d\n", big[12345]); return 0; }
"""


def compiled(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.cpp").write_text(source)
    subprocess.run(
        ["g++", "-std=c++17", "-O2", str(folder / f"{name}.cpp"), "-o", str(folder / name)],
        check=True,
    )
    return folder / name


async def test_a_program_beyond_the_configs_memory_is_not_timed(
    loopback: Loopback, tmp_path: Path
) -> None:
    """gem5 answers accesses outside the config's memory from a bad-address responder, without
    a warning: such a run's time is flagged, not reported."""
    farm = loopback(1)
    big = compiled(tmp_path / "big", "big", BIG_ARRAY)
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, big, cases(tmp_path / "t", ["\n"]))
        assert timing.error is not None and timing.error.startswith(
            "cannot be simulated: the program used memory the Skylake config does not have ("
        ), timing.error
        assert "bad-address responder" in timing.error
        small = await measure(backend, binary(tmp_path, "small"), cases(tmp_path / "u", ["1\n"]))
        assert small.error is None
        assert_settled(farm, store, cached=1)


async def test_a_binary_for_a_newer_glibc_says_so(loopback: Loopback, tmp_path: Path) -> None:
    farm = loopback(1)
    farm.set_env(0, PIE_STANDIN_GLIBC="2.31")  # the gem5 v20.1 hosts' glibc
    program = compiled(tmp_path / "hello", "hello", '#include <cstdio>\nint main(){puts("x");}\n')
    needed = max(
        tuple(int(part) for part in version.split(b"."))
        for version in re.findall(rb"GLIBC_(\d+\.\d+)", program.read_bytes())
    )
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        timing = await measure(backend, program, cases(tmp_path / "t", ["\n"]))
        assert_settled(farm, store, cached=0)
    if needed <= (2, 31):
        assert timing.error is None  # this machine's g++ links against an old glibc
        return
    version = ".".join(map(str, needed))
    assert timing.error is not None and timing.error.startswith(
        f"cannot be simulated: the binary needs glibc {version} (GLIBC_{version}), newer than "
        "the gem5 host's"
    ), timing.error


async def test_a_replaced_file_in_a_hosts_store_is_uploaded_again(
    loopback: Loopback, tmp_path: Path
) -> None:
    """Jobs on a host share one uid, so a guest can replace another program's uploaded binary
    or input: each job checks their hashes, and a replaced file is sent again."""
    farm = loopback(1)
    program, other = binary(tmp_path, "prog"), binary(tmp_path, "other")
    digest = hashlib.sha256(program.read_bytes()).hexdigest()
    store_bin, store_inputs = farm.hosts[0].workdir / "bin", farm.hosts[0].workdir / "inputs"
    async with gem5_backend(farm.write_config(), tmp_path) as (backend, store):
        assert (await measure(backend, program, cases(tmp_path / "a", ["1\n"]))).error is None
        (given,) = store_inputs.iterdir()
        (store_bin / digest).write_text("#!/bin/sh\nsleep 1; cat\n# a slower impostor\n")
        given.write_text("a much longer input than the test's own\n" * 100)
        expected = await measure(backend, program, cases(tmp_path / "b", ["2\n"]))
        assert expected.error is None  # the impostor would have taken another time
        assert (store_bin / digest).read_bytes() == program.read_bytes()
        assert (await measure(backend, other, cases(tmp_path / "c", ["1\n"]))).error is None
        assert given.read_text() == "1\n"
        assert_settled(farm, store, cached=3)
    writes = farm.hosts[0].sftp_writes
    assert writes[digest] == 2 and writes[given.name] == 2, writes  # each sent again, once
    outputs = {detail.split()[0] for kind, _, detail in farm.events() if kind == "end"}
    assert outputs == {"0"}


def strict_json(text: str) -> Any:
    """Parse as JavaScript, Go and Rust parsers do: NaN and Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON (RFC 8259)")

    return json.loads(text, parse_constant=refuse)


def test_a_failed_gem5_timing_is_null_beside_its_error_in_strict_json(
    loopback: Loopback, tmp_path: Path, sum_tests: Path
) -> None:
    farm = loopback(1)
    config = farm.write_config(slots=1)
    farm.set_env(0, PIE_STANDIN_FAULT="crash")
    source = tmp_path / "sum.cpp"
    source.write_text(SUM_OK)
    run = pie_cli(
        "run", str(source), "--tests", str(sum_tests), "--json", "--timing", "gem5",
        "--farm", str(config),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    timing = strict_json(run.stdout)["timing"]
    assert timing["total"] is None and timing["per_test"] == [None, None, None]
    assert timing["error"].startswith("gem5 failed: killed by SIGABRT")


# ---- the jail: gem5 confined by Landlock (docker/gem5-host/gem5-jail.py) -------------------


@pytest.mark.parametrize("jail", [False, True], ids=["unconfined", "jailed"])
async def test_a_guest_cannot_reach_gem5s_memory_or_other_jobs_in_the_jail(
    loopback: Loopback, tmp_path: Path, jail: bool
) -> None:
    """gem5 opens what its guest names: unconfined, the guest opens gem5's /proc/self/mem for
    writing and reads another job's folder; in the jail both are refused, and the job still
    runs to its end with its stats and exit report."""
    farm = loopback(1, jail=jail)
    secret = farm.hosts[0].workdir / "jobs" / "0123456789abcdef" / "secret"
    secret.parent.mkdir(parents=True)
    secret.write_text("another job's file\n")
    (secret.parent / "owner").write_text(f"{os.getpid()}\n")  # a live owner: not cleaned up
    farm.set_env(0, PIE_STANDIN_FAULT="escape", PIE_STANDIN_PEEK=str(secret))
    config = load_farm(farm.write_config(slots=1))
    program, given = binary(tmp_path, "prog"), tmp_path / "input.txt"
    given.write_bytes(b"1\n")
    link = HostLink(config.hosts[0], config)
    try:
        await link.connect()
        assert link.confined is jail and link.confinement.startswith(
            "landlock-" if jail else "absent"
        )
        run = await link.run(
            Upload(program, sha256_file(program), "bin"),
            Upload(given, key_of(b"1\n"), "inputs"),
            output_limit=1 << 20,
        )
    finally:
        await link.close()
    escapes = [
        line.split(" ", 2)[1:] for line in run.log.splitlines() if line.startswith("escape ")
    ]
    if jail:
        assert escapes == [
            [p, "refused Permission denied"] for p in ("/proc/self/mem", str(secret))
        ]
    else:
        assert escapes == [["/proc/self/mem", "opened"], [str(secret), "opened"]]
    assert run.status == 0 and run.stats is not None and run.report.startswith(b"Exiting @ tick")
    assert run.output == b"1\n" and run.output_bytes == 2  # the guest's stdout, alone
    secret.unlink()
    (secret.parent / "owner").unlink()
    secret.parent.rmdir()
    assert_settled(farm)


def test_farm_check_names_hosts_whose_gem5_is_unconfined_weaker(loopback: Loopback) -> None:
    """No jail on host 0; on host 1 a jail whose kernel has no Landlock: both still simulate
    (the check passes), each named weaker, with the reason."""
    farm = loopback(2)
    jail = farm.hosts[1].jail
    jail.parent.mkdir()
    jail.write_text(
        "#!/bin/sh\n[ \"$1\" = --probe ] && echo 'none ENOSYS: Function not implemented'\n"
    )
    jail.chmod(0o755)
    check = pie_cli("farm", "check", str(farm.write_config(slots=1)))
    assert check.returncode == 0, check.stdout
    assert "2 of 2 hosts ready (2 weaker: gem5 unconfined)" in check.stdout
    absent, no_kernel = (
        next(line for line in check.stdout.splitlines() if str(host.port) in line)
        for host in farm.hosts
    )
    assert " weak " in absent and f"no jail at {farm.hosts[0].jail}" in absent
    assert " weak " in no_kernel and "  none ENOSYS  " in no_kernel
    assert "the kernel gives no Landlock (ENOSYS)" in no_kernel
    assert "a guest can open /proc/self/mem" in absent


def test_a_host_whose_gem5_differs_from_the_others_is_not_ready() -> None:
    """Its ticks would not compare with the other hosts': the check fails it, and says why,
    without touching the rows of the hosts that agree."""
    usual, other = pie.HostIdentity("g", "c", "l"), pie.HostIdentity("g2", "c", "l")
    rows = [
        pie.HostCheck("a", ok=True, identity=usual),
        pie.HostCheck("b", ok=True, identity=other),
        pie.HostCheck("c", ok=True, identity=usual),
        pie.HostCheck("d", problem="no connection"),
    ]
    a, b, c, d = _flag_odd_identities(rows)
    assert (a, c, d) == (rows[0], rows[2], rows[3])
    assert not b.ok and "differ from the other hosts'" in b.problem
    assert _flag_odd_identities(rows[:1]) == (rows[0],)


def _identity_line(script: str, *, loader_cache: Path | None = None) -> list[str]:
    """The host's identity as its preparation prints it, run here; with ``loader_cache``
    bind-mounted over /etc/ld.so.cache in a mount namespace of its own."""
    command = ["sh", "-c", script]
    if loader_cache is not None:
        command = ["unshare", "-m", "sh", "-c",
                   'mount --bind "$1" /etc/ld.so.cache && exec sh -c "$2"', "_",
                   str(loader_cache), script]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("pie-farm-host")]
    return line.split()


@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace to swap ld.so.cache needs root")
def test_a_hosts_identity_covers_the_loaders_cache(loopback: Loopback, tmp_path: Path) -> None:
    """The real gem5 gave PIE's hello world 26,884 ticks more after a compiler's install
    rewrote the root's /etc/ld.so.cache (the guest's loader reads it): two hosts whose caches
    differ must not pass for one."""
    farm = loopback(1)
    config = load_farm(farm.write_config(slots=1))
    script = HostLink(config.hosts[0], config)._prepare_script()
    other = tmp_path / "ld.so.cache"
    other.write_bytes(Path("/etc/ld.so.cache").read_bytes() + b"\0")
    here, swapped = _identity_line(script), _identity_line(script, loader_cache=other)
    assert here[1:3] == swapped[1:3]  # the same gem5 and config
    assert here[3] != swapped[3]  # the libraries' part differs
