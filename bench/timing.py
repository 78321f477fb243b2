"""The deterministic local timing (the ``qemu`` backend), its two paths side by side in one run.

    python -m bench.timing [--data ../shared/data] [--problem p03415] [--slots 2]

1. milliseconds per test, amortised, timing one real program on its ~100 PIE tests (cold
   cache, ``--slots`` tests at a time): the ``qemu`` backend (sandboxed) with one fresh qemu
   process per test and with its fork server (the default);
2. count identity: the fork server's counts of every test against one fresh qemu process per
   test (independent caches): N of N identical, every event;
3. the hostile timing corpus (``tests/hostile/timing``): N of N refused or honest;
4. machine independence: one binary on one input, counts as root, with the host's CPU
   features masked from glibc, in a new PID namespace, and as another user (needs root).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import attrs

from pie._cache import ResultCache
from pie._data import load_test_cases
from pie._model import Limits, Timing
from pie._timing._qemu import QemuConfig
from tests.test_timing_hostile import not_below_honest
from tests.timing_support import qemu_backend  # run from the checkout: -m bench.timing

REPO = Path(__file__).resolve().parent.parent

DEFAULT_DATA = Path(os.environ.get("PIE_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPUS = REPO / "tests" / "hostile" / "timing"
PROBE = REPO / "tests" / "timing_probe.py"
MASKED = "glibc.cpu.hwcaps=-AVX2_Usable,-AVX_Fast_Unaligned_Load,-ERMS,-AVX512F_Usable,-EVEX"


def build(source: Path, target: Path) -> Path:
    command = ["g++", "-std=c++17", "-O3", "-pthread", "-o", str(target), str(source)]
    subprocess.run(command, check=True, timeout=300)
    return target


async def qemu_timing(
    binary: Path, tests: Path, cache: Path, slots: int, *, fork_server: bool = True
) -> tuple[Timing, float]:
    cases = load_test_cases(tests)
    config = QemuConfig(fork_server=fork_server)
    store = ResultCache(cache / "bench.sqlite")
    async with qemu_backend(cache, store, config, slots=slots) as backend:
        started = time.perf_counter()
        timing = await backend.measure(binary, f"bench-{time.time()}", cases, Limits())
        seconds = time.perf_counter() - started
    assert timing is not None
    return timing, seconds


def speed_and_identity(data: Path, problem: str, slots: int) -> None:
    row = next(
        json.loads(line)
        for line in (data / "problems_src_only.jsonl").read_text().splitlines()
        if json.loads(line)["problem_id"] == problem
    )
    tests = data / "tests" / problem
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        source = Path(a) / "src.cpp"
        source.write_text(row["src_code"])
        binary = build(source, Path(a) / "src")
        n = len(load_test_cases(tests))
        print(f"[1] {problem} src on its {n} tests, {slots} at a time, cold cache")
        first, new = anyio.run(qemu_timing, binary, tests, Path(a) / "cache", slots)
        second, fresh = anyio.run(
            functools.partial(qemu_timing, fork_server=False),
            binary,
            tests,
            Path(b) / "cache",
            slots,
        )
    print(f"  qemu, one fresh process per test:         {1000 * fresh / n:.1f} ms per test")
    print(f"  qemu, fork server (the default):          {1000 * new / n:.1f} ms per test")
    print(f"  target: <= 30 ms per test; errors: {first.error}, {second.error}")
    pairs = list(zip(first.measures, second.measures, strict=True))
    same = sum(
        x == y and all(m.per_test[i] == o.per_test[i] for m, o in pairs)
        for i, (x, y) in enumerate(zip(first.per_test, second.per_test, strict=True))
    )
    print(f"[2] count identity, fork server against fresh processes: {same} of {n} tests identical")


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
    command = [*prefix, "/usr/bin/python3", str(PROBE), str(binary), str(case / "input.0.txt")]
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
    args = parser.parse_args()
    speed_and_identity(args.data, args.problem, args.slots)
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        hostile(Path(folder) / "hostile")
        independence(Path(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
