"""Checking output near the cap: peak memory and CPU seconds, whole-text rule against streamed.

    python bench/check.py [--cap-mib 64] [--repeats 3]

Each output shape is written once to a file just under the output cap, then checked in a fresh
Python process (so ``ru_maxrss`` is that check's own peak) by

- ``before``: the rule on whole texts, as pie checked before it streamed: the output read up to
  the cap into memory, decoded (universal newlines), stripped, split into lines and zipped;
- ``after``: ``pie._check.check_output``, which reads the file in chunks.

An idle process (Python plus pie imported) is measured the same way; ``extra`` is the peak
above it.  Figures are medians of ``--repeats`` runs; ratios come from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pie._check import CheckMode, check_output

MIB = 1 << 20
EXPECTED = b"12\n"
SHAPES = {
    "many short lines ('12' lines)": "lines",
    "sparse: 2 pages written, the rest a hole": "sparse",
    "one line of letters": "letters",
    "one line of digits (float() must read it)": "digits",
    "answer + trailing blanks": "blanks",
}


def write_shape(path: Path, shape: str, cap: int) -> None:
    """Written in 1 MiB blocks: this process must stay small, as a child's ``ru_maxrss``
    starts from its parent's at fork."""
    size = cap - 1
    unit = {"lines": b"12\n", "letters": b"y", "digits": b"1", "blanks": b" \n"}.get(shape)
    with path.open("wb") as handle:
        if unit is None:  # sparse
            handle.write(b"12\n")
            handle.seek(size - 1)
            handle.write(b"x")
            return
        if shape == "blanks":
            handle.write(b"12")
        block = unit * (MIB // len(unit))
        while handle.tell() + len(block) <= size:
            handle.write(block)
        handle.write(unit * ((size - handle.tell()) // len(unit)))


def whole_text_accuracy(output: bytes, expected: bytes) -> float:
    """PIE's rule on whole texts, the way pie applied it before streaming."""
    try:
        got = output.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        return 0.0
    want = expected.decode("utf-8", errors="replace").strip().splitlines()
    lines = got.strip().splitlines()
    if not want:
        return 1.0 if not lines else 0.0
    correct = 0
    for mine, line in zip(lines, want, strict=False):
        if mine == line:
            correct += 1
            continue
        with contextlib.suppress(ValueError):
            correct += abs(float(mine) - float(line)) < 1e-3
    return correct / len(want)


def worker(impl: str, output: Path, expected: Path, cap: int) -> None:
    """One check in this process; prints {"score", "cpu_s", "maxrss_kib"}."""
    started = time.process_time()
    score = None
    if impl == "before":
        with output.open("rb") as handle:
            score = whole_text_accuracy(handle.read(cap), expected.read_bytes())
    elif impl == "after":
        with output.open("rb") as handle:
            size = min(output.stat().st_size, cap)
            score = check_output(handle, size, expected=expected, mode=CheckMode.PIE)
    seconds = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"score": score, "cpu_s": seconds, "maxrss_kib": peak}))


def measure(impl: str, output: Path, expected: Path, cap: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", impl, str(output), str(expected), str(cap)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mib", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, output, expected, cap = args.worker
        worker(impl, Path(output), Path(expected), int(cap))
        return 0
    cap = args.cap_mib * MIB
    with tempfile.TemporaryDirectory(prefix="pie-bench-check-") as folder:
        expected = Path(folder) / "expected"
        expected.write_bytes(EXPECTED)
        output = Path(folder) / "output"
        idle = [measure("idle", expected, expected, cap) for _ in range(args.repeats)]
        base = median_of(idle, "maxrss_kib")
        print(f"output cap {args.cap_mib} MiB; idle process {base / 1024:.0f} MiB; medians of "
              f"{args.repeats}; extra = peak RSS above idle")  # fmt: skip
        header = f"{'output':44s} {'before MiB':>10s} {'after MiB':>9s} {'ratio':>6s}"
        print(f"{header} {'before s':>8s} {'after s':>7s} {'ratio':>6s}  score")
        for title, shape in SHAPES.items():
            write_shape(output, shape, cap)
            runs = {i: [measure(i, output, expected, cap) for _ in range(args.repeats)]
                    for i in ("before", "after")}  # fmt: skip
            mib = {i: (median_of(r, "maxrss_kib") - base) / 1024 for i, r in runs.items()}
            sec = {i: median_of(r, "cpu_s") for i, r in runs.items()}
            scores = {runs[i][0]["score"] for i in runs}
            print(
                f"{title:44s} {mib['before']:10.1f} {mib['after']:9.1f} "
                f"{mib['before'] / max(mib['after'], 0.1):5.0f}x {sec['before']:8.2f} "
                f"{sec['after']:7.2f} {sec['before'] / max(sec['after'], 1e-3):5.1f}x  "
                f"{'same' if len(scores) == 1 else scores}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
