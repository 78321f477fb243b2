"""Start-up cost of the ``pie`` command: a warm ``pie run`` (everything cached) against a cold
one (a program never seen, so it is compiled, run and checked), and ``import pie`` alone; and
the same two runs answered by a running ``pie serve`` (in trees that have it).

    python bench/startup.py [--rounds 7] [--baseline OTHER_CHECKOUT]

The goal (issue "One house"): a warm ``pie run`` takes at most 10% of a cold one.  Cold and warm
runs are interleaved and share one cache directory whose precompiled header and launcher are
built before the first measured round (their one-off cost is not start-up).  With
``--baseline`` the same figures are taken, in the same run, for another checkout's ``src/``
(PYTHONPATH), e.g. a worktree of the commit before the lazy imports; the trees take turns, round
by round, so that a change of the machine's load falls on both.  Medians of every figure,
and the best (least) of the rounds, which on a loaded machine is the nearest to the cost itself;
the load average before and after is printed beside them.

The served runs use their own cache folder, where ``python -m pie.cli serve`` listens; the
client is ``python -m pie`` (and the ``pie`` script beside the interpreter, when installed).

Bytecode is written and used (``PYTHONDONTWRITEBYTECODE`` is dropped for the commands), as in
an installed pie: without it every start compiles pie's sources again, which measured the
compiler, not pie (about 0.3 s of a warm run on this machine).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _seconds(command: list[str], env: dict[str, str], *, quiet: bool = False) -> float:
    """Wall seconds of ``command``; ``quiet``: it must say nothing on stderr (a client that
    fell back to running in its own process says why there)."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1) or (quiet and done.stderr):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    return elapsed


# the floor of any warm run: the interpreter with the libraries pie's event loop stands on
FLOOR = "python+anyio"
FIGURES = (FLOOR, "import pie", "cold pie run", "warm pie run")
SERVED = ("served cold", "served warm", "served warm, pie script")
SCRIPT = Path(sys.executable).parent / "pie"
PIE_RUN = [sys.executable, "-m", "pie.cli", "run"]  # also in checkouts without -m pie


class Tree:
    """One checkout's ``src/`` in a scratch folder of its own, measured round by round."""

    def __init__(self, src: Path, scratch: Path, stack: contextlib.ExitStack) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(src), "PIE_CACHE_DIR": str(scratch / "cache")}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.scratch = scratch
        self.tests = scratch / "tests"
        self.tests.mkdir(exist_ok=True)
        (self.tests / "input.0.txt").write_text("3 4\n")
        (self.tests / "output.0.txt").write_text("7\n")
        self.served = {**self.env, "PIE_CACHE_DIR": str(scratch / "served-cache")}
        self.can_serve = (src / "pie" / "cli" / "_serve.py").is_file()
        self.figures: dict[str, list[float]] = {name: [] for name in FIGURES + SERVED}
        # builds the PCH and the launcher once (in each cache), outside the measured rounds
        warmup = scratch / "warmup.cpp"
        warmup.write_text("#include <bits/stdc++.h>\nint main(){}\n")
        _seconds([*PIE_RUN, str(warmup), "--tests", str(self.tests)], self.env)
        if self.can_serve:
            stack.enter_context(_server(self.served))
            client = [sys.executable, "-m", "pie", "run", str(warmup), "--tests", str(self.tests)]
            _seconds(client, self.served)

    def round(self, number: int) -> None:
        program = self.scratch / f"sum-{number}.cpp"
        program.write_text(_source(number))  # a new program each round: a cold run
        arguments = [str(program), "--tests", str(self.tests)]
        run = [*PIE_RUN, *arguments]
        floor = "import anyio, attrs; anyio.run(anyio.sleep, 0)"
        self.figures[FLOOR].append(_seconds([sys.executable, "-c", floor], self.env))
        self.figures["import pie"].append(_seconds([sys.executable, "-c", "import pie"], self.env))
        self.figures["cold pie run"].append(_seconds(run, self.env))
        self.figures["warm pie run"].append(_seconds(run, self.env))
        if self.can_serve:
            client = [sys.executable, "-m", "pie", "run", *arguments]
            self.figures["served cold"].append(_seconds(client, self.served, quiet=True))
            self.figures["served warm"].append(_seconds(client, self.served, quiet=True))
            if SCRIPT.is_file():
                script = [str(SCRIPT), "run", *arguments]
                served = _seconds(script, self.served, quiet=True)
                self.figures["served warm, pie script"].append(served)

    def results(self) -> dict[str, tuple[float, float]]:
        """(median, least) seconds of each figure."""
        return {
            name: (statistics.median(values), min(values))
            for name, values in self.figures.items()
            if values
        }


@contextlib.contextmanager
def _server(env: dict[str, str]) -> Iterator[None]:
    """``pie serve`` in ``env``'s cache folder, for the duration."""
    socket = Path(env["PIE_CACHE_DIR"]) / "serve.sock"
    server = subprocess.Popen(
        [sys.executable, "-m", "pie.cli", "serve"], env=env, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"pie serve did not start: {server.communicate()[1]!r}")
            time.sleep(0.05)
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


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
    before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        measured = {
            name: Tree(src, Path(stack.enter_context(tempfile.TemporaryDirectory())), stack)
            for name, src in trees.items()
        }
        for number in range(args.rounds):  # the trees in turn, round by round
            for tree in measured.values():
                tree.round(number)
    results = {name: tree.results() for name, tree in measured.items()}
    after = os.getloadavg()
    width = 24
    print(f"{'':{width}s}" + "".join(f"{name + ' median':>20s}{'best':>8s}" for name in results))
    for figure in FIGURES + SERVED:
        cells = [r.get(figure) for r in results.values()]
        print(
            f"{figure:{width}s}"
            + "".join(f"{c[0]:19.3f}s{c[1]:7.3f}s" if c else f"{'-':>20s}{'-':>8s}" for c in cells)
        )
    for name, r in results.items():
        mid = r["warm pie run"][0] / r["cold pie run"][0]
        low = r["warm pie run"][1] / r["cold pie run"][1]
        print(f"{name}: warm pie run = {mid:.1%} of a cold one (medians), {low:.1%} (best "
              "rounds); goal <= 10%")  # fmt: skip
        floor = r[FLOOR][1] / r["cold pie run"][1]
        print(f"{name}: python+anyio alone = {floor:.1%} of a cold pie run (best rounds)")
        if "served warm" in r:
            mid = r["served warm"][0] / r["cold pie run"][0]
            low = r["served warm"][1] / r["cold pie run"][1]
            print(f"{name}: served warm pie run = {mid:.1%} of a cold pie run (medians), "
                  f"{low:.1%} (best rounds); goal <= 10%")  # fmt: skip
    load = ", ".join(f"{a:.2f} -> {b:.2f}" for a, b in zip(before, after, strict=True))
    print(f"load average (1, 5, 15 min) before -> after: {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
