"""Real gem5 against PIE's runtimes and pie's cycle model, on the public tests (issue 15).

    nice -n 10 python -m bench.gem5_calibration [--extra 10] [--slots 2] [--record FILE]  (root)
        [--compiler g++-9] [--problems p02687]
    python -m bench.gem5_calibration --analyse bench/results/gem5-calibration.json
        [--against bench/results/gem5-calibration-gcc9.json]

The within-problem rank goals of the calibrated ``qemu`` timing are missed, and two causes
were argued: the test set (PIE summed ~2-100 merged tests per program, ``../shared/data/tests``
has the 2-4 CodeNet public tests) and PIE's toolchain image, against the model itself.  This
script tells them apart on the rows of ``pie_calibration.jsonl`` named in issue 15 (p02687's tgt
programs s585528124, s428208574 and s390834733 with all their src programs, and one or two rows
of p03041, p03048, p02753 and p03343), plus ``--extra`` rows of p02687 spread over the range of
PIE's speedups (``--problems`` keeps only the rows of the problems it names).  Each of their
programs runs on its problem's public tests

(a) under the real gem5 v20.1 of ``docker/gem5-host/build-local.sh`` (PIE's simulator and
    Skylake config), through pie's farm (``timing="gem5"``, the root's sshd on loopback, at most
    ``--slots`` gem5 runs at once), compiled with the root's toolchain (``toolchain_root``), as
    ``bench/gem5_real.py`` does, by the root's ``--compiler`` (default ``g++``, Debian 11's
    g++ 10; ``g++-9``, Debian 11's g++ 9.3, once installed in the root: PIE's image had
    Ubuntu 20.04's g++ 9);
(b) under pie's normal local timing, ``qemu`` with the shipped cycle model ``pie-cycles-qemu``
    (compiled with this host's g++ 12, loading this host's libraries): "model";
(c) under the same plugin and model on the very binary gem5 ran (the farm's uploaded copy),
    loading the root's libraries as gem5 does (qemu's ``-L``): "model*", what the model makes
    of gem5's own input, so that model error shows apart from the toolchain.

It prints, for every calibration row whose programs every measure timed, PIE's recorded speedup
and the speedups of gem5 here and of both models; per problem the Spearman correlation and the
pairwise order agreement of each two (PIE vs gem5, gem5 vs model, PIE vs model, and model*),
with n; pairs of rows binned by how far apart PIE's speedups are; the same for the programs'
own times, and how far each pair of measures scatters a program's time.  If gem5 on the public
tests orders the rows as the model does and not as PIE, the rank misses come from the tests
(and image) PIE timed; if it orders them as PIE, from the model.  The figures go to ``--record``
(JSON with their provenance, saved after each program), which ``--analyse`` reads again
without simulating anything (with ``--against OTHER``: how each Spearman of a problem's rows
changed from OTHER's run, with a 95% interval from drawing the programs again).  pie's result
cache (``PIE_CACHE_DIR``) keeps every timing, so a rerun or an interrupted run costs only what
was not simulated yet.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import itertools
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

import pie
from bench.calibrate import CalibrationRow, load_rows, spearman
from bench.gem5_real import DATA, GEM5, HOW_TO_BUILD, ROOT, loopback_host, run_in_root
from pie._check import accuracy
from pie._files import write_atomically
from pie._paths import default_cache_dir
from pie._timing._cycles import QEMU_MODEL
from pie._timing._plugin import emulator
from pie._timing._qemu import Counts, Emulation, parse_report

REPO = Path(__file__).resolve().parent.parent
RECORD = REPO / "bench" / "results" / "gem5-calibration.json"
# The rows issue 15 named for this question: p02687's tgt programs whose PIE times differ by up
# to 1.6% while their counts here differ by a few instructions (all rows with them as tgt), and
# one or two rows of each problem whose tests PIE had many more of.
NAMED_TGTS = {"p02687": ("s585528124", "s428208574", "s390834733")}
NAMED_PAIRS = (
    ("p03041", "s750559318", "s101189891"),
    ("p03041", "s324626022", "s399970203"),
    ("p03048", "s535815357", "s524427338"),
    ("p02753", "s559818174", "s662737634"),
    ("p03343", "s121520456", "s553297150"),
)
EXTRA_PROBLEM = "p02687"  # the problem with the most rows, and PIE's test count is the public one
# gem5 here; pie's local timing as shipped; the same plugin and model on the very binary gem5
# ran, loading the root's libraries (what the model makes of gem5's own input)
BACKENDS = ("gem5", "qemu", "qemu_gem5_binary")
KEPT_MEASURES = ("instructions", "ticks", "host_seconds")
WORKDIR = "/var/tmp/pie-gem5cal"  # the loopback farm's, in the root: bin/<sha256> gem5 ran
NOBODY = 65534
# Pairs of rows binned by how far apart PIE's speedups are, as bench/calibrate.py bins them
PAIR_BINS = (0.0, 0.01, 0.02, math.inf)
# each measure's name in the tables, and the backend it comes from
MEASURE_OF = {"gem5": "gem5", "model": "qemu", "model*": "qemu_gem5_binary"}
COMPARED = (
    ("PIE", "gem5"), ("gem5", "model"), ("PIE", "model"), ("gem5", "model*"), ("PIE", "model*"),
)  # fmt: skip


def legend(gem5_compiler: str) -> str:
    return (
        "PIE: PIE's recorded gem5 runtimes (its tests); gem5: the real gem5 here on the public "
        "tests; model: pie's qemu timing (cycle model) as shipped (this host's g++ 12 and "
        "libraries); model*: the same model on the very binary gem5 ran (the root's "
        f"{gem5_compiler}) with the root's libraries"
    )


# ---- which rows and programs ----------------------------------------------------------------


def is_named(row: CalibrationRow) -> bool:
    src_id, tgt_id = row.ids
    return tgt_id in NAMED_TGTS.get(row.problem_id, ()) or (
        (row.problem_id, src_id, tgt_id) in NAMED_PAIRS
    )


def spread_rows(rows: Sequence[CalibrationRow], count: int) -> list[CalibrationRow]:
    """``count`` rows at evenly spaced ranks of PIE's speedup: the consecutive ones differ by a
    fraction of a percent, the far ones by several, so every size of difference is in their
    pairs."""
    ranked = sorted(rows, key=lambda row: (row.pie_speedup, row.ids))
    count = min(count, len(ranked))  # as many as there are: all of them
    return [ranked[int((i + 0.5) * len(ranked) / count)] for i in range(count)]


def chosen_rows(rows: Sequence[CalibrationRow], extra: int,
                problems: Collection[str] | None = None) -> list[CalibrationRow]:  # fmt: skip
    """The named rows and ``extra`` more of p02687; of ``problems`` only, if given."""
    if problems is not None:
        rows = [row for row in rows if row.problem_id in problems]
    named = [row for row in rows if is_named(row)]
    others = [row for row in rows if row.problem_id == EXTRA_PROBLEM and not is_named(row)]
    return named + spread_rows(others, extra)


def program_ids(rows: Iterable[CalibrationRow]) -> dict[str, set[str]]:
    """sha256 of each program's source -> the CodeNet submission ids it appears under."""
    ids: dict[str, set[str]] = {}
    for row in rows:
        for sha, submission in zip((row.src, row.tgt), row.ids, strict=True):
            ids.setdefault(sha, set()).add(submission)
    return ids


# ---- measuring ------------------------------------------------------------------------------


def entry_of(result: pie.Evaluation) -> dict[str, Any]:
    """What one backend said of one program: its total and per-test figures, or why not."""
    entry: dict[str, Any] = {"verdict": result.verdict.value}
    timing = result.timing
    if timing is None or timing.error:
        why = timing.error if timing else result.error
        entry["error"] = why or f"not timed (verdict {result.verdict.value})"
        return entry
    entry.update(total=timing.total, unit=timing.unit, per_test=list(timing.per_test),
                 config=timing.config, cached=timing.cached,
                 binary=result.compile.binary_sha256)  # fmt: skip
    if timing.quantity is not None:
        entry["quantity"] = f"{timing.quantity.name} v{timing.quantity.version}"
    for measure in timing.measures:
        if measure.name in KEPT_MEASURES:
            entry[measure.name] = list(measure.per_test)
    return entry


Measured = dict[str, dict[str, dict[str, Any]]]  # backend -> program sha -> entry


def progress(label: str, count: str, program: str, entry: dict[str, Any], started: float) -> None:
    said = entry.get("error") or f"{entry['total']:.6g} {entry['unit']}"
    print(f"  {label} {count} {program} {said[:120]}  ({time.monotonic() - started:.0f} s)",
          flush=True)  # fmt: skip


async def measure(
    programs: dict[str, tuple[str, str]], evaluator: pie.Evaluator, done: dict[str, Any],
    label: str, save: Callable[[], None], *,
    then: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:  # fmt: skip
    """Each program (sha -> (source, problem)) on all of its problem's tests, into ``done``;
    ``then`` on each result as it comes (in a thread), and ``save``, so that an interrupted
    run keeps what it measured."""
    submissions = [pie.Submission(source, problem_id=problem, label=sha)
                   for sha, (source, problem) in sorted(programs.items())]  # fmt: skip
    started = time.monotonic()
    async for result in evaluator.stream(submissions):
        assert result.label is not None
        done[result.label] = entry = entry_of(result)
        program = f"{programs[result.label][1]} {result.label[:12]}"
        progress(label, f"{len(done):3}/{len(submissions)}", program, entry, started)
        if then is not None:
            await anyio.to_thread.run_sync(then, result.label, entry)
        save()


async def measure_farm_and_local(
    programs: dict[str, tuple[str, str]], farm: Path, slots: int, measured: Measured,
    save: Callable[[], None], *, compiler: str,
) -> None:  # fmt: skip
    tests = DATA / "tests"
    print(f"[a] pie's local timing (qemu, the shipped cycle model): {len(programs)} programs")
    async with pie.Evaluator(tests_root=tests, timing="qemu", concurrency=slots) as local:
        await measure(programs, local, measured["qemu"], "qemu", save)
    print(f"[b] the real gem5 through pie's farm, {slots} at once, and [c] the same model on "
          f"the binary gem5 ran, with the root's libraries: {len(programs)} programs")  # fmt: skip
    plugin = emulator(default_cache_dir()).plugin

    def model_on_it(sha: str, entry: dict[str, Any]) -> None:
        counted = model_on_gem5_binary(entry, programs[sha][1], plugin)
        measured["qemu_gem5_binary"][sha] = counted
        said = counted.get("error") or f"{counted['total']:.6g} cycles"
        print(f"    model* {said}", flush=True)

    # the root's compiler (its g++ is g++ 10) and glibc 2.31; model* counts this very binary
    options = pie.CompileOptions(compiler=compiler, toolchain_root=ROOT)
    async with pie.Evaluator(tests_root=tests, timing="gem5", farm=farm,
                             compile_options=options, concurrency=slots) as farmed:  # fmt: skip
        await measure(programs, farmed, measured["gem5"], "gem5", save, then=model_on_it)


# ---- the model on gem5's own binary ----------------------------------------------------------


def problem_tests(problem: str) -> list[tuple[Path, Path]]:
    """(input, expected output) of every test of ``problem``, in index order, as pie runs them."""
    folder = DATA / "tests" / problem
    indices = sorted(int(path.name.split(".")[1]) for path in folder.glob("input.*.txt"))
    return [(folder / f"input.{i}.txt", folder / f"output.{i}.txt") for i in indices]


def counted_run(binary: Path, test: tuple[Path, Path], plugin: Path) -> Counts | str:
    """The plugin's counts of ``binary`` on one test, run as pie's timing runs it (its qemu
    command line: CPU model, stack, seed, argv[0]) but loading the gem5 root's libraries (qemu's
    ``-L``) and as the user nobody (these are PIE's accepted programs, yet still programs); or
    why there are none."""
    emulation = Emulation(emulator(default_cache_dir()))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        os.chown(folder, NOBODY, NOBODY)
        for name, data, mode in (("a.out", binary.read_bytes(), 0o555),
                                 ("plugin.so", plugin.read_bytes(), 0o444),
                                 ("report", b"", 0o600)):  # fmt: skip
            (folder / name).write_bytes(data)
            os.chown(folder / name, NOBODY, NOBODY)
            (folder / name).chmod(mode)
        argv = emulation.arguments(folder / "plugin.so", folder / "report")
        argv[argv.index("-L") + 1] = str(ROOT)
        user = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        with test[0].open("rb") as stdin:
            done = subprocess.run([*user, str(emulation.qemu), *argv], cwd=folder,
                                  stdin=stdin, capture_output=True, env={}, timeout=600,
                                  check=False)  # fmt: skip
        if done.returncode != 0:
            return f"exit {done.returncode}: {done.stderr[-200:]!r}"
        if accuracy(done.stdout, test[1].read_bytes(), "strict") < 1.0:
            return "its output under qemu with the root's libraries is wrong"
        return parse_report((folder / "report").read_bytes(), emulation.secret)


def model_on_gem5_binary(entry: dict[str, Any], problem: str, plugin: Path) -> dict[str, Any]:
    binary = ROOT / WORKDIR.lstrip("/") / "bin" / str(entry.get("binary"))
    if "error" in entry or not binary.is_file():
        return {"error": "no binary of gem5's to count: " + entry.get("error", str(binary))}
    counted = [counted_run(binary, test, plugin) for test in problem_tests(problem)]
    failed = next((c for c in counted if isinstance(c, str)), None)
    if failed is not None:
        return {"error": failed, "binary": entry["binary"]}
    counts = [c for c in counted if isinstance(c, Counts)]
    per_test = [QEMU_MODEL.cycles(c.events()) for c in counts]
    return {"total": sum(per_test), "unit": "cycles", "per_test": per_test,
            "instructions": [c.instructions for c in counts], "binary": entry["binary"],
            "quantity": f"{QEMU_MODEL.name} v{QEMU_MODEL.version}"}  # fmt: skip


def first_line(argv: Sequence[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else "unknown"


def changed() -> bool:
    """Whether the checkout differs from its commit (but for untracked files, such as the
    record being written)."""
    status = ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"]
    return bool(subprocess.run(status, capture_output=True, text=True, check=False).stdout)


def provenance(argv: Sequence[str], compiler: str) -> dict[str, Any]:
    info_file = ROOT / "opt/gem5/BUILD_INFO"
    info = dict(line.split("=", 1) for line in info_file.read_text().splitlines() if "=" in line)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "pie_commit": first_line(["git", "-C", str(REPO), "rev-parse", "HEAD"])
        + (" with uncommitted changes" if changed() else ""),
        "command": "python -m bench.gem5_calibration " + " ".join(argv),
        "host": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs",
        "gem5": {key: info.get(key, "") for key in
                 ("gem5_version", "gem5_commit", "skylake_config_commit", "run_se_sha256")},
        "gem5_opt_sha256_prefix": info.get("gem5_opt_sha256", "")[:16],
        "compiler": compiler,
        "gem5_compiler": run_in_root([compiler, "--version"]).splitlines()[0],
        "gem5_glibc": info.get("glibc", ""),
        "qemu_compiler": first_line(["g++", "--version"]),
        "tests": "the CodeNet public tests of ../shared/data/tests, all of each problem's",
    }  # fmt: skip


def run_and_record(args: argparse.Namespace, rows: list[CalibrationRow],
                   programs: dict[str, tuple[str, str]]) -> dict[str, Any]:  # fmt: skip
    chosen = chosen_rows(rows, args.extra, args.problems)
    ids = program_ids(chosen)
    todo = {sha: programs[sha] for sha in ids}
    started = time.monotonic()
    measured: Measured = {backend: {} for backend in BACKENDS}
    made = provenance(sys.argv[1:], args.compiler)

    def record() -> dict[str, Any]:
        return {
            "provenance": {**made, "wall_seconds": round(time.monotonic() - started)},
            "chosen": [[row.problem_id, *row.ids] for row in chosen],
            "programs": {
                sha: {"problem_id": todo[sha][1], "ids": sorted(ids[sha]),
                      **{b: measured[b][sha] for b in BACKENDS if sha in measured[b]}}
                for sha in sorted(todo)
            },
        }  # fmt: skip

    def save() -> None:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(args.record, json.dumps(record(), indent=1, sort_keys=True) + "\n")

    # its own /etc folder and workdir in the root: bench/gem5_real.py may serve it at once
    with (
        tempfile.TemporaryDirectory() as keys,
        loopback_host(Path(keys), name="pie-gem5cal", workdir=WORKDIR, slots=args.slots) as farm,
    ):
        if args.max_ticks is not None:  # the farm file is ours: a budget of its own
            farm.write_text(farm.read_text() + f"max_ticks: {args.max_ticks}\n")
        anyio.run(functools.partial(measure_farm_and_local, compiler=args.compiler),
                  todo, farm, args.slots, measured, save)  # fmt: skip
    print(f"recorded in {args.record}")
    return record()


# ---- analysis -------------------------------------------------------------------------------


@attrs.frozen
class RowFigures:
    problem_id: str
    ids: tuple[str, str]
    named: bool
    speedups: dict[str, float]  # PIE and each of MEASURE_OF -> src time over tgt time


@attrs.frozen
class ProgramFigures:
    problem_id: str
    ids: tuple[str, ...]
    role: str  # src or tgt (a program that is both counts as src)
    times: dict[str, float]  # PIE's seconds (over PIE's tests), gem5's here, the models' cycles


def timed(entry: dict[str, Any] | None) -> float | None:
    if entry is None or "error" in entry:
        return None
    return float(entry["total"])


def program_times(record: dict[str, Any], sha: str) -> dict[str, float] | None:
    """Each measure's time of one program, or None unless every measure has one."""
    program = record["programs"].get(sha)
    if program is None:
        return None
    times = {name: timed(program.get(backend)) for name, backend in MEASURE_OF.items()}
    return None if None in times.values() else {k: v for k, v in times.items() if v is not None}


def covered_rows(rows: Sequence[CalibrationRow], record: dict[str, Any]) -> list[RowFigures]:
    """Every calibration row whose two programs every measure timed (not only the chosen)."""
    out = []
    for row in rows:
        src, tgt = program_times(record, row.src), program_times(record, row.tgt)
        if src is None or tgt is None:
            continue
        speedups = {"PIE": row.pie_speedup, **{m: src[m] / tgt[m] for m in MEASURE_OF}}
        out.append(RowFigures(row.problem_id, row.ids, is_named(row), speedups))
    return out


def covered_programs(rows: Sequence[CalibrationRow], record: dict[str, Any]
                     ) -> list[ProgramFigures]:  # fmt: skip
    """Each timed program with PIE's runtime of it (the median over its rows: PIE recorded
    one program's runtime alike in every row, or nearly)."""
    pie_times: dict[str, list[float]] = {}
    sources = {row.src for row in rows}
    for row in rows:
        pie_times.setdefault(row.src, []).append(row.src_runtime)
        pie_times.setdefault(row.tgt, []).append(row.tgt_runtime)
    out = []
    for sha, program in sorted(record["programs"].items()):
        times = program_times(record, sha)
        if times is None or sha not in pie_times:
            continue
        times["PIE"] = sorted(pie_times[sha])[len(pie_times[sha]) // 2]
        role = "src" if sha in sources else "tgt"
        out.append(ProgramFigures(program["problem_id"], tuple(program["ids"]), role, times))
    return out


def order_agreement(first: Sequence[float], second: Sequence[float]) -> tuple[float, int]:
    """The share of pairs that both order alike, over the pairs neither ties; and their n."""
    same = total = 0
    for i, j in itertools.combinations(range(len(first)), 2):
        a, b = first[i] - first[j], second[i] - second[j]
        if a != 0 and b != 0:
            total += 1
            same += (a > 0) == (b > 0)
    return (same / total if total else math.nan), total


def ordered_as_pie(figures: Sequence[RowFigures], measure: str
                   ) -> list[tuple[float, float, int, float]]:  # fmt: skip
    """Pairs of rows of one problem binned by how far apart PIE's speedups are (PIE's ties left
    out): per bin the share that ``measure`` orders as PIE (a tie of it counts as not)."""
    out = []
    for low, high in itertools.pairwise(PAIR_BINS):
        agree = count = 0
        for one, other in itertools.combinations(figures, 2):
            if one.problem_id != other.problem_id:
                continue
            theirs = math.log(one.speedups["PIE"] / other.speedups["PIE"])
            if theirs == 0 or not low <= abs(theirs) < high:
                continue
            mine = math.log(one.speedups[measure] / other.speedups[measure])
            count += 1
            agree += mine != 0 and (mine > 0) == (theirs > 0)
        out.append((low, high, count, agree / count if count else math.nan))
    return out


def by_problem(items: Sequence[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(item.problem_id, []).append(item)
    return dict(sorted(groups.items()))


def figure(value: float, spec: str = ".3f") -> str:
    return "-" if math.isnan(value) else format(value, spec)


def print_agreements(title: str, groups: dict[str, list[Any]],
                     values: Callable[[Any], dict[str, float]]) -> None:  # fmt: skip
    print(title)
    print(f"  {'problem':8} {'n':>4}  {'compared':16} {'Spearman':>8} {'order':>6} {'pairs':>6}")
    for problem, items in groups.items():
        for a, b in COMPARED:
            xs, ys = [values(i)[a] for i in items], [values(i)[b] for i in items]
            rho = spearman(xs, ys) if len(set(xs)) > 1 and len(set(ys)) > 1 else math.nan
            share, pairs = order_agreement(xs, ys)
            print(f"  {problem:8} {len(items):4}  {a + ' vs ' + b:16} {figure(rho):>8} "
                  f"{figure(share):>6} {pairs:6}")  # fmt: skip


def print_rows(figures: Sequence[RowFigures]) -> None:
    print("[1] rows: speedups (src time / tgt time; * = named in issue 15)")
    print(f"  {'problem':8} {'src':>11} {'tgt':>11} {'PIE':>6} {'gem5':>6} {'model':>6} "
          f"{'model*':>6}  {'gem5/PIE':>8} {'model/gem5':>10} {'model*/gem5':>11}")  # fmt: skip
    for row in sorted(figures, key=lambda r: (r.problem_id, r.speedups["PIE"], r.ids)):
        s = row.speedups
        print(f"  {row.problem_id:8} {row.ids[0]:>11} {row.ids[1]:>11} {s['PIE']:6.3f} "
              f"{s['gem5']:6.3f} {s['model']:6.3f} {s['model*']:6.3f}  "
              f"{s['gem5'] / s['PIE']:8.3f} {s['model'] / s['gem5']:10.3f} "
              f"{s['model*'] / s['gem5']:11.3f}{' *' if row.named else ''}")  # fmt: skip


def print_pair_bins(figures: Sequence[RowFigures]) -> None:
    print("[3] pairs of rows of one problem, by how far apart PIE's speedups are: "
          "the share each measure orders as PIE does")  # fmt: skip
    binned = {measure: ordered_as_pie(figures, measure) for measure in MEASURE_OF}
    for k, (low, high) in enumerate(itertools.pairwise(PAIR_BINS)):
        span = f">= {low:.0%}" if math.isinf(high) else f"{low:.0%}-{high:.0%}"
        shares = ", ".join(f"{m} {figure(binned[m][k][3], '.1%')}" for m in MEASURE_OF)
        print(f"  PIE {span:>7}: {binned['gem5'][k][2]:5} pairs: {shares}")


# each measure's spread over itself first (the differences there are to rank), then the noise
# of one measure against another
SCATTERED = (("PIE", None), ("gem5", None), ("gem5", "PIE"), ("model", "gem5"), ("model", "PIE"),
             ("model*", "gem5"), ("model*", "PIE"))  # fmt: skip


def log_ratio(item: ProgramFigures, a: str, b: str | None) -> float:
    return math.log(item.times[a] / (item.times[b] if b else 1.0))


def spread(logs: Sequence[float]) -> float:
    """The standard deviation of ``logs`` (their mean, a problem's scale, taken out)."""
    if len(logs) < 2:
        return math.nan
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))


def print_scatter(groups: dict[str, list[ProgramFigures]]) -> None:
    """How far one measure's time of a program strays from another's among the src (or tgt)
    programs of a problem, which are what a row compares: the noise each would add."""
    print("[5] programs: the spread of log(time by one / time by the other) among a problem's "
          "src (tgt) programs (its mean removed), and gem5 here / PIE in seconds")  # fmt: skip
    names = "".join(f" {a + '/' + b if b else a:>11}" for a, b in SCATTERED)
    print(f"  {'problem':12} {'n':>4} {names}  {'gem5/PIE s':>10}")
    for problem, items in groups.items():
        for role in ("src", "tgt"):
            these = [i for i in items if i.role == role]
            if not these:
                continue
            cells = "".join(
                f" {figure(spread([log_ratio(i, a, b) for i in these]), '.2%'):>11}"
                for a, b in SCATTERED
            )
            absolute = sum(i.times["gem5"] / i.times["PIE"] for i in these) / len(these)
            print(f"  {problem + ' ' + role:12} {len(these):4} {cells}  {absolute:10.3f}")


def analyse(rows: Sequence[CalibrationRow], record: dict[str, Any]) -> None:
    print(legend(record["provenance"].get("gem5_compiler", "g++")))
    for program in record["programs"].values():
        for backend in BACKENDS:
            error = program.get(backend, {"error": "not measured"}).get("error")
            if error:
                print(f"  not timed by {backend}: {program['problem_id']} "
                      f"{'/'.join(program['ids'])}: {error[:160]}")  # fmt: skip
    figures = covered_rows(rows, record)
    print_rows(figures)
    print_agreements("[2] rows, per problem: Spearman and pairwise order agreement, with n",
                     by_problem(figures), lambda r: r.speedups)  # fmt: skip
    print_pair_bins(figures)
    programs = by_problem(covered_programs(rows, record))
    print_agreements("[4] programs' own times, per problem (PIE: its seconds over its tests; "
                     "gem5: seconds here; the models: cycles)",
                     programs, lambda p: p.times)  # fmt: skip
    print_scatter(programs)


# draws of programs (with replacement) for the interval of a change of Spearman between two runs
BOOTSTRAP_DRAWS = 1000


def rank_change(before: dict[tuple[str, str], RowFigures], after: dict[tuple[str, str], RowFigures],
                a: str, b: str, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0,
                ) -> tuple[float, float, float, int]:  # fmt: skip
    """Spearman of ``a`` and ``b`` over the rows both runs cover, ``after``'s minus ``before``'s,
    and its 95% interval over draws of the programs (a row counts as often as both of its
    programs were drawn: rows share programs, so drawing rows would narrow it); and the n."""
    rows = sorted(set(before) & set(after))
    programs = sorted({program for ids in rows for program in ids})
    rng = random.Random(seed)

    def rho(run: dict[tuple[str, str], RowFigures], chosen: Sequence[tuple[str, str]]) -> float:
        return spearman([run[r].speedups[a] for r in chosen], [run[r].speedups[b] for r in chosen])

    def change(chosen: Sequence[tuple[str, str]]) -> float:
        return rho(after, chosen) - rho(before, chosen)

    changes = []
    for _ in range(draws):
        drawn: dict[str, int] = {}
        for program in rng.choices(programs, k=len(programs)):
            drawn[program] = drawn.get(program, 0) + 1
        chosen = [r for r in rows for _ in range(drawn.get(r[0], 0) * drawn.get(r[1], 0))]
        if len(set(chosen)) > 2:  # a draw of too few rows (or of all ties) has no rank
            changes.append(change(chosen))
    changes = [c for c in changes if not math.isnan(c)]
    changes.sort()
    low, high = changes[int(0.025 * len(changes))], changes[int(0.975 * len(changes)) - 1]
    return change(rows), low, high, len(rows)


def print_changes(rows: Sequence[CalibrationRow], record: dict[str, Any],
                  other: dict[str, Any]) -> None:  # fmt: skip
    print(
        "[6] rows, per problem: Spearman of this run minus that of --against's, on the rows "
        f"both timed, with its 95% interval over {BOOTSTRAP_DRAWS} draws of the programs"
    )
    after, before = by_problem(covered_rows(rows, record)), by_problem(covered_rows(rows, other))
    for problem in sorted(set(after) & set(before)):
        now = {r.ids: r for r in after[problem]}
        then = {r.ids: r for r in before[problem]}
        if len(set(now) & set(then)) < 10:  # too few rows for a rank
            continue
        for a, b in COMPARED:
            change, low, high, n = rank_change(then, now, a, b)
            print(
                f"  {problem:8} {n:4}  {a + ' vs ' + b:16} {change:+.3f} [{low:+.3f}, {high:+.3f}]"
            )


# ---- entry point ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--extra", type=int, default=10,
                        help=f"rows of {EXTRA_PROBLEM} added to the named ones, spread over "
                        "PIE's speedups (default 10; more than it has: all)")  # fmt: skip
    parser.add_argument("--slots", type=int, default=2, help="gem5 runs at once (default 2)")
    parser.add_argument("--compiler", default="g++",
                        help="the gem5 root's compiler of gem5's (and model*'s) binaries: "
                        "g++ (default, g++ 10) or g++-9 (PIE's g++ 9.3; apt-get install g++-9 "
                        "in the root)")  # fmt: skip
    parser.add_argument("--problems", type=lambda text: set(text.split(",")),
                        metavar="P1,P2", help="only the rows of these problems (default all "
                        "the named ones and p02687's)")  # fmt: skip
    parser.add_argument("--max-ticks", type=int, metavar="TICKS",
                        help="the simulated-time budget per test (default the farm's, 20 ms: "
                        "p03048's src s535815357 needs more on its public input.2)")  # fmt: skip
    parser.add_argument(
        "--record",
        type=Path,
        default=RECORD,
        help=f"where the figures go (default {RECORD.relative_to(REPO)})",
    )
    parser.add_argument(
        "--analyse",
        type=Path,
        metavar="FILE",
        help="print the analysis of a recorded run; simulate nothing",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="OTHER",
        help="with --analyse: each Spearman's change from OTHER's run",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows, programs = load_rows(args.data)
    if args.analyse:
        record = json.loads(args.analyse.read_text())
        analyse(rows, record)
        if args.against:
            print_changes(rows, record, json.loads(args.against.read_text()))
        return 0
    if not (ROOT / GEM5.lstrip("/")).exists():
        print(HOW_TO_BUILD, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("bench.gem5_calibration needs root (it chroots into the gem5 root); "
              "--analyse FILE needs not", file=sys.stderr)  # fmt: skip
        return 2
    analyse(rows, run_and_record(args, rows, programs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
