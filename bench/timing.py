"""The deterministic local timing (the ``qemu`` backend), its paths side by side in one run.

    python -m bench.timing [--data ../shared/data] [--problem p03415] [--slots 2]
                           [--rounds 3] [--baseline REV] [--only speed|corpus|independence]

(from the repository's root, as a module: it shares the test suite's helpers, ``tests/``).

1. milliseconds per test, amortised, timing one real program on its ~100 PIE tests (cold
   cache, ``--slots`` tests at a time): the ``qemu`` backend (sandboxed) with one fresh qemu
   process per test, with its fork server (the default), and with the fork server and the
   plugin of git revision ``--baseline`` (the path before a change); fork-server figures are
   medians of ``--rounds`` passes taken in turn, each with the load average of its pass;
2. count identity: the fork server's counts of every test against one fresh qemu process per
   test, and against the baseline plugin's: N of N identical, every event;
3. the hostile timing corpus (``tests/hostile/timing``): N of N refused or honest;
4. machine independence: one binary on one input, counts as root, with the host's CPU
   features masked from glibc, in a new PID namespace, and as another user (needs root).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from pie._cache import ResultCache
from pie._data import load_test_cases
from pie._model import Limits, TestCase, Timing
from pie._timing._cycles import QEMU_MODEL
from pie._timing._plugin import Emulator, build_plugin, emulator
from pie._timing._qemu import QemuConfig, counts_key
from tests.test_timing_hostile import not_below_honest
from tests.timing_support import qemu_backend

REPO = Path(__file__).resolve().parent.parent

DEFAULT_DATA = Path(os.environ.get("PIE_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPUS = REPO / "tests" / "hostile" / "timing"
PROBE = ("-m", "tests.timing_probe")  # found through PYTHONPATH (probe)
MASKED = "glibc.cpu.hwcaps=-AVX2_Usable,-AVX_Fast_Unaligned_Load,-ERMS,-AVX512F_Usable,-EVEX"


def build(source: Path, target: Path) -> Path:
    command = ["g++", "-std=c++17", "-O3", "-pthread", "-o", str(target), str(source)]
    subprocess.run(command, check=True, timeout=300)
    return target


@attrs.frozen
class Pass:
    timing: Timing
    seconds: float
    cpu_seconds: float  # this process's and every qemu run's (with its forked children)
    load: float  # the 1-minute load average at the pass's end


def runs_cpu(sandbox: Any) -> list[float]:
    """The CPU seconds of every run ``sandbox`` launches from now on, as its launcher reports
    them (a run's whole process tree: a fork server with every child it waited for)."""
    spent: list[float] = []
    execute = sandbox._execute

    async def counted(*args: Any, **kwargs: Any) -> Any:
        outcome = await execute(*args, **kwargs)
        spent.append(outcome.cpu_seconds)
        return outcome

    sandbox._execute = counted
    return spent


async def timed_pass(
    binary: Path,
    cases: Sequence[TestCase],
    cache: Path,
    slots: int,
    *,
    fork_server: bool = True,
    plugin: Emulator | None = None,
) -> Pass:
    """One cold timing of ``binary`` on ``cases`` (a key no earlier pass used)."""
    store = ResultCache(cache / "bench.sqlite")
    # the shipped model re-keyed to this plugin: the bench reads counts and seconds, and a
    # plugin under test has no fitted model yet
    model = attrs.evolve(QEMU_MODEL, counts=counts_key(emulator(cache)))
    config = QemuConfig(fork_server=fork_server, model=model)
    async with qemu_backend(cache, store, config, slots) as backend:
        if plugin is not None:
            backend.emulator = plugin
        spent = runs_cpu(backend._sandbox)
        started, own = time.perf_counter(), os.times()
        timing = await backend.measure(binary, f"bench-{time.time_ns()}", cases, Limits())
        seconds, done = time.perf_counter() - started, os.times()
    assert timing is not None
    cpu = sum(spent) + (done.user - own.user) + (done.system - own.system)
    return Pass(timing, seconds, cpu, os.getloadavg()[0])


def baseline_plugin(revision: str, folder: Path) -> Emulator:
    """This host's emulator with the plugin source of git ``revision``."""
    shown = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:src/pie/_timing/plugin.c"],
        check=True,
        capture_output=True,
        text=True,
    )
    target = folder / "baseline-plugin.so"
    build_plugin(shown.stdout, target, "gcc")
    return attrs.evolve(emulator(folder), plugin=target, plugin_key=f"baseline-{revision}")


def identical(first: Timing, second: Timing) -> int:
    """How many tests got the same value of every measure in both timings."""
    pairs = list(zip(first.measures, second.measures, strict=True))
    return sum(
        x == y and all(m.name == o.name and m.per_test[i] == o.per_test[i] for m, o in pairs)
        for i, (x, y) in enumerate(zip(first.per_test, second.per_test, strict=True))
    )


def figure(passes: Sequence[Pass], n: int) -> str:
    """Wall and CPU milliseconds per test: medians, then each pass with its load average (on
    a loaded host the wall clock follows the load; the CPU time much less)."""
    wall = 1000 * statistics.median(p.seconds for p in passes) / n
    cpu = 1000 * statistics.median(p.cpu_seconds for p in passes) / n
    runs = ", ".join(
        f"{1000 * p.seconds / n:.1f}/{1000 * p.cpu_seconds / n:.1f} at load {p.load:.1f}"
        for p in passes
    )
    return f"wall {wall:6.1f}, CPU {cpu:5.1f} ms per test  (median of {len(passes)}: {runs})"


def speed_and_identity(
    data: Path, problem: str, slots: int, rounds: int, baseline: str | None
) -> None:
    row = next(
        json.loads(line)
        for line in (data / "problems_src_only.jsonl").read_text().splitlines()
        if json.loads(line)["problem_id"] == problem
    )
    tests = data / "tests" / problem
    cases = load_test_cases(tests)
    n = len(cases)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "src.cpp").write_text(row["src_code"])
        binary = build(folder / "src.cpp", folder / "src")
        old = baseline_plugin(baseline, folder) if baseline else None
        print(f"[1] {problem} src on its {n} tests, {slots} at a time, cold cache")
        fresh_pass = functools.partial(timed_pass, fork_server=False)
        fresh = anyio.run(fresh_pass, binary, cases, folder / "fresh", slots)
        variants: dict[str, Emulator | None] = {"new": None}
        if old is not None:
            variants["old"] = old
        passes: dict[str, list[Pass]] = {name: [] for name in variants}
        for k in range(rounds):  # in turn, the order swapped each round, so load drifts alike
            for name in list(variants)[:: 1 if k % 2 == 0 else -1]:
                one = functools.partial(timed_pass, plugin=variants[name])
                passes[name].append(anyio.run(one, binary, cases, folder / f"{k}-{name}", slots))
    print(f"  qemu, one fresh process per test:            {figure([fresh], n)}")
    if "old" in passes:
        print(f"  qemu fork server, plugin of {baseline}:   {figure(passes['old'], n)}")
    print(f"  qemu fork server, this plugin (the default): {figure(passes['new'], n)}")
    every = [fresh, *passes["new"], *passes.get("old", [])]
    print("  target: <= 30 ms per test; errors:", {p.timing.error for p in every})
    new = passes["new"][0].timing
    print(f"[2] count identity, fork server against fresh processes: {identical(new, fresh.timing)}"
          f" of {n} tests identical")  # fmt: skip
    if "old" in passes:
        same = identical(new, passes["old"][0].timing)
        print(f"    this plugin against the plugin of {baseline}: {same} of {n} tests identical")


@attrs.frozen
class Verdict:
    name: str
    ok: bool
    what: str


async def corpus(cache: Path) -> list[Verdict]:
    expected = json.loads((CORPUS / "expected.json").read_text())
    folder = cache / "corpus"
    folder.mkdir(parents=True)
    for k, n in enumerate((2_000_000, 1_000_000)):  # two tests: one fork server serves both
        (folder / f"input.{k}.txt").write_text(f"{n}\n")
        (folder / f"output.{k}.txt").write_text(f"{sum(i * i % 7 for i in range(n))}\n")
    cases = load_test_cases(folder)
    verdicts = []
    async with qemu_backend(cache, ResultCache(cache / "corpus.sqlite"), slots=1) as backend:

        async def timed(name: str) -> Timing:
            binary = build(CORPUS / f"{name}.cpp", cache / name)
            timing = await backend.measure(binary, f"corpus-{name}", cases, Limits(time_limit=5))
            assert timing is not None
            return timing

        honest = await timed("honest")
        honest_work = honest.measure("instructions_in_main")
        assert honest_work is not None
        for name, rule in sorted(expected.items()):
            got = await timed(name)
            if "refused" in rule:
                ok = got.error is not None and rule["refused"] in got.error
                verdicts.append(Verdict(name, ok, f"refused: {got.error}"))
                continue
            work = got.measure("instructions_in_main")
            ok = got.error is None and not_below_honest(got, honest)
            if rule.get("work"):
                ok = ok and work is not None and work.total >= honest_work.total
            shown = f"{got.total:,.0f} cycles; honest {honest.total:,.0f}"
            verdicts.append(Verdict(name, ok, shown))
    return verdicts


def hostile(cache: Path) -> None:
    verdicts = anyio.run(corpus, cache)
    good = sum(v.ok for v in verdicts)
    print(f"[3] hostile timing corpus: {good} of {len(verdicts)} refused or honest")
    for v in verdicts:
        print(f"  {'ok ' if v.ok else 'BAD'} {v.name}: {v.what}")


def probe(binary: Path, cache: Path, prefix: list[str], **env: str) -> dict[str, Any]:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": "/tmp",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO), site]),
        **env,
    }
    case = REPO / "src" / "pie" / "demo" / "tests" / "p02608"
    command = [*prefix, "/usr/bin/python3", *PROBE, str(binary), str(case / "input.0.txt")]
    command += [str(case / "output.0.txt"), str(cache)]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, env=environment, timeout=600
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1]) if done.stdout else {}
    return result or {"error": done.stderr[-500:]}


def independence(folder: Path) -> None:
    if os.geteuid() != 0:
        print("[4] machine independence: needs root (to run as another user); skipped")
        return
    row = json.loads((REPO / "src" / "pie" / "demo" / "problems.jsonl").read_text().split("\n")[0])
    (folder / "p02608.cpp").write_text(row["src_code"])
    binary = build(folder / "p02608.cpp", folder / "p02608")
    long = folder / ("a-much-longer-cache-path-" * 4)
    for path in (folder, long, binary):
        path.mkdir(exist_ok=True) if path != binary else None
        os.chmod(path, 0o777 if path != binary else 0o755)
    runs = {
        "root": probe(binary, folder / "root", []),
        "host CPU features masked": probe(binary, folder / "root", [], GLIBC_TUNABLES=MASKED),
        "new PID namespace": probe(binary, long / "ns", ["unshare", "--pid", "--fork"]),
        "uid 65534, other paths": probe(
            binary,
            long / "nobody",
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
            TMPDIR=str(long),
        ),
    }
    same = sum(counts == runs["root"] and "error" not in counts for counts in runs.values())
    print(f"[4] machine independence, demo p02608 src test 0: {same} of {len(runs)} identical")
    for name, counts in runs.items():
        print(f"  {name}: {counts.get('instructions', counts)} instructions")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--problem", default="p03415")
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="git revision whose plugin.c to compare with")
    parser.add_argument("--only", choices=["speed", "corpus", "independence"], action="append")
    args = parser.parse_args()
    parts = args.only or ["speed", "corpus", "independence"]
    if "speed" in parts:
        speed_and_identity(args.data, args.problem, args.slots, args.rounds, args.baseline)
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        if "corpus" in parts:
            hostile(Path(folder) / "hostile")
        if "independence" in parts:
            independence(Path(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
