"""Start-up cost of the ``pie`` command: a warm ``pie run`` (everything cached) against a cold
one (a program never seen, so it is compiled, run and checked), and ``import pie`` alone.

    python bench/startup.py [--rounds 7] [--baseline OTHER_CHECKOUT]

The goal (issue "One house"): a warm ``pie run`` takes at most 10% of a cold one.  Cold and warm
runs are interleaved and share one cache directory whose precompiled header and launcher are
built before the first measured round (their one-off cost is not start-up).  With
``--baseline`` the same figures are taken, in the same run, for another checkout's ``src/``
(PYTHONPATH), e.g. a worktree of the commit before the lazy imports.  Medians of every figure,
and the best (least) of the rounds, which on a loaded machine is the nearest to the cost itself;
the load average before and after is printed beside them.

Bytecode is written and used (``PYTHONDONTWRITEBYTECODE`` is dropped for the commands), as in
an installed pie: without it every start compiles pie's sources again, which measured the
compiler, not pie (about 0.3 s of a warm run on this machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return elapsed


# the floor of any warm run: the interpreter with the libraries pie's event loop stands on
FLOOR = "python+anyio"
FIGURES = (FLOOR, "import pie", "cold pie run", "warm pie run")


def measure(src: Path, rounds: int, scratch: Path) -> dict[str, tuple[float, float]]:
    """(median, least) seconds of: the interpreter with anyio and attrs (what any warm run
    pays), python -c 'import pie', a cold pie run, a warm one."""
    env = {**os.environ, "PYTHONPATH": str(src), "PIE_CACHE_DIR": str(scratch / "cache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tests = scratch / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "input.0.txt").write_text("3 4\n")
    (tests / "output.0.txt").write_text("7\n")
    pie_run = [sys.executable, "-m", "pie.cli", "run"]  # also in checkouts without -m pie
    # builds the PCH and the launcher once, outside the measured rounds
    warmup = scratch / "warmup.cpp"
    warmup.write_text("#include <bits/stdc++.h>\nint main(){}\n")
    _seconds([*pie_run, str(warmup), "--tests", str(tests)], env)
    figures: dict[str, list[float]] = {name: [] for name in FIGURES}
    for round_ in range(rounds):
        program = scratch / f"sum-{round_}.cpp"
        program.write_text(_source(round_))  # a new program each round: a cold run
        run = [*pie_run, str(program), "--tests", str(tests)]
        floor = "import anyio, attrs; anyio.run(anyio.sleep, 0)"
        figures[FLOOR].append(_seconds([sys.executable, "-c", floor], env))
        figures["import pie"].append(_seconds([sys.executable, "-c", "import pie"], env))
        figures["cold pie run"].append(_seconds(run, env))
        figures["warm pie run"].append(_seconds(run, env))
    return {name: (statistics.median(values), min(values)) for name, values in figures.items()}


def _source(round_: int) -> str:
    return (
        '#include <cstdio>\nint main(){ int a, b; if (std::scanf("%d %d", &a, &b) == 2)'
        f' std::printf("%d\\n", a + b); }}\n// round {round_}\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout, measured beside this")
    args = parser.parse_args()
    trees = {"this tree": REPO / "src"}
    if args.baseline is not None:
        trees["baseline"] = args.baseline.resolve() / "src"
    results = {}
    before = os.getloadavg()
    for name, src in trees.items():
        with tempfile.TemporaryDirectory(prefix="pie-startup-") as scratch:
            results[name] = measure(src, args.rounds, Path(scratch))
    after = os.getloadavg()
    print(f"{'':14s}" + "".join(f"{name + ' median':>20s}{'best':>8s}" for name in results))
    for figure in FIGURES:
        pairs = (r[figure] for r in results.values())
        print(f"{figure:14s}" + "".join(f"{mid:19.3f}s{low:7.3f}s" for mid, low in pairs))
    for name, r in results.items():
        mid = r["warm pie run"][0] / r["cold pie run"][0]
        low = r["warm pie run"][1] / r["cold pie run"][1]
        print(f"{name}: warm pie run = {mid:.1%} of a cold one (medians), {low:.1%} (best "
              "rounds); goal <= 10%")  # fmt: skip
        floor = r[FLOOR][1] / r["cold pie run"][1]
        print(f"{name}: python+anyio alone = {floor:.1%} of a cold pie run (best rounds)")
    load = ", ".join(f"{a:.2f} -> {b:.2f}" for a, b in zip(before, after, strict=True))
    print(f"load average (1, 5, 15 min) before -> after: {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
