"""``pie report``: the numbers a paper reports, from a finished or partial run, with plots.

A finished run is read from PIE's own files (``aggregated_results.csv``, ``addtl_stats.jsonl``)
so folders written by PIE's ``gem5_eval.py`` can be reported too; a run still in progress or
interrupted is read from its journal, with unfinished programs counted as failed and the
report marked partial.  Plots need matplotlib (the ``plot`` extra); without it the report says
they were skipped and how to get them.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from pie._benchmark import RUN_FILE, snapshot
from pie._benchmark._outputs import ADDITIONAL, AGGREGATED
from pie._errors import InputError
from pie._files import write_atomically
from pie._public import public

REPORT = "report.md"
NO_MATPLOTLIB = (
    "plots skipped: matplotlib is not installed (pip install matplotlib; from a clone of pie: "
    "pip install '.[plot]')"
)


@attrs.frozen
class RunSummary:
    name: str
    aggregated: dict[str, float]  # PIE's aggregated_results.csv columns
    speedups: dict[int, list[float]]  # k -> per-row speedup_best@k
    info: dict[str, Any]  # run.json, when pie wrote the run
    partial: str | None = None  # "412/1000 programs", when unfinished

    @property
    def timed(self) -> bool:
        """False for a run made with ``timing: none``: it has no speedups to show."""
        return self.info.get("backend") != "none"

    @property
    def k_max(self) -> int:
        """The largest k with best@k columns (0 when the run had no candidates)."""
        found = [
            int(key.split("@")[1])
            for key in self.aggregated
            if key.startswith("mean_speedup_best@")
        ]
        return max(found, default=0)


def _number(text: str) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


def _speedups(rows: Sequence[dict[str, Any]]) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}
    for row in rows:
        for name, value in row.items():
            if name.startswith("speedup_best@"):
                speedup = math.inf if value is None else float(value)
                found.setdefault(int(name.split("@")[1]), []).append(speedup)
    return found


def _read_finished(directory: Path) -> RunSummary:
    with (directory / AGGREGATED).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if len(rows) != 1:
        raise InputError(f"{directory / AGGREGATED}: expected one row of aggregates")
    per_row: list[dict[str, Any]] = []
    extra = directory / ADDITIONAL
    if extra.is_file():
        with extra.open(encoding="utf-8") as handle:
            per_row = [json.loads(line) for line in handle if line.strip()]
    info_file = directory / RUN_FILE
    info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.is_file() else {}
    aggregated = {key: _number(value) for key, value in rows[0].items()}
    return RunSummary(directory.name, aggregated, _speedups(per_row), info)


def load_run(directory: Path) -> RunSummary:
    if not directory.is_dir():
        raise InputError(f"{directory} is not a folder; pass the output_dir of a run")
    if (directory / AGGREGATED).is_file():
        return _read_finished(directory)
    progress = snapshot(directory)
    return RunSummary(
        directory.name,
        progress.aggregated,
        _speedups(progress.rows),
        {"verdicts": progress.verdicts},
        partial=f"{progress.programs_done}/{progress.programs} programs",
    )


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def _ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _with_interval(run: RunSummary, key: str, text: str, scale: float = 1.0) -> str:
    interval = run.info.get("intervals_95", {}).get(key)
    if not interval or any(v is None for v in interval):
        return text
    low, high = (v * scale for v in interval)
    return f"{text} [{low:.3g}, {high:.3g}]"


def quantity_rows(quantity: dict[str, Any]) -> list[tuple[str, str]]:
    """The model behind the runtimes and how far it followed gem5 (leave one problem out), a
    row each, so that no cell stretches the table."""
    a = quantity.get("agreement", {})
    rows = [
        (
            "timing quantity",
            f"{quantity.get('name')} v{quantity.get('version')} ({quantity.get('unit')})",
        )
    ]
    if "spearman" in a:
        rows.append(
            (
                "quantity vs PIE's gem5",
                f"Spearman {a['spearman']:.3f}, {100 * a['within_10_percent']:.1f}% within "
                f"±10%, mean {a['mean_speedup']:.2f} vs {a['pie_mean_speedup']:.2f} "
                f"({a['rows']} rows, {a['problems']} problems, each left out of the fit)",
            )
        )
    if a.get("pairs_ordered"):
        shares = ", ".join(
            f"{100 * share:.1f}% if PIE's differ by {bin_}"
            for bin_, share in a["pairs_ordered"].items()
        )
        rows.append(("two rows ordered as PIE's", shares))
    return rows


def startup_text(marked: dict[str, Any]) -> str:
    """How many of the faster rows owe their speedup mostly to start-up, and which."""
    rows = marked.get("rows", [])
    shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
    text = f"{marked.get('mostly_startup')} of {marked.get('faster_rows')} rows >= 1.10x"
    return text + (f" (rows {shown})" if rows else "")


UNTIMED = "n/a (timing: none)"


def headline_rows(run: RunSummary) -> list[tuple[str, str]]:
    rows = _headline_rows(run)
    if run.timed:
        return rows
    speed_words = ("speedup", "%Opt", "fastest", "mostly start-up")
    return [(k, UNTIMED if any(w in k for w in speed_words) else v) for k, v in rows]


def _headline_rows(run: RunSummary) -> list[tuple[str, str]]:
    agg = run.aggregated
    rows: list[tuple[str, str]] = []
    if run.partial:
        rows.append(("PARTIAL run", run.partial + " finished; the rest count as failed"))
    if run.info.get("backend"):
        rows.append(("timing", f"{run.info['backend']} ({run.info.get('unit') or 'no unit'})"))
    if run.info.get("quantity"):
        rows += quantity_rows(run.info["quantity"])
    if "rows" in run.info:
        rows.append(("rows / programs", f"{run.info['rows']} / {run.info['programs']}"))
    for k in sorted({1, run.k_max}) if run.k_max else []:
        opt = f"percent_programs_speedup_best@{k}>=speedup_threshold_1.1"
        rows += [
            (
                f"%correct best@{k}",
                _with_interval(
                    run, f"is_correct_best@{k}", _percent(agg[f"is_correct_best@{k}"]), 100
                ),
            ),
            (
                f"mean speedup best@{k}",
                _with_interval(
                    run, f"mean_speedup_best@{k}", _ratio(agg[f"mean_speedup_best@{k}"])
                ),
            ),
            (f"%Opt best@{k} (>= 1.10x)", _with_interval(run, opt, _percent(agg[opt]), 100)),
            (f"mean accuracy best@{k}", _ratio(agg[f"mean_accuracy_best@{k}"])),
        ]
    rows += [
        ("mean speedup tgt over src", _ratio(agg["mean_speedup_tgt_over_src"])),
        (
            "%Opt tgt over src",
            _percent(agg["percent_programs_speedup_tgt_over_src>=speedup_threshold_1.1"]),
        ),
        (
            "fastest generated, all submissions",
            _ratio(agg["fastest_generated_speedup_over_all_submissions"]),
        ),
    ]
    for column, marked in run.info.get("startup_dominated", {}).items():
        if isinstance(marked, dict):
            rows.append((f"mostly start-up, {column.replace('_', ' ')}", startup_text(marked)))
    for role, counts in run.info.get("verdicts", {}).items():
        rows.append((f"verdicts {role}", " ".join(f"{v} {n}" for v, n in counts.items())))
    return rows


def table(runs: Sequence[RunSummary]) -> list[list[str]]:
    """Rows of label + one column per run (runs side by side)."""
    labels: list[str] = []
    values: list[dict[str, str]] = []
    for run in runs:
        column = dict(headline_rows(run))
        values.append(column)
        labels += [label for label in column if label not in labels]
    header = ["", *(run.name for run in runs)]
    return [header, *([label, *(v.get(label, "") for v in values)] for label in labels)]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _new_axes() -> tuple[Any, Any]:
    # optional dependency (the 'plot' extra), so imported only when plots are asked for;
    # Figure without pyplot keeps no global state and needs no display
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(6, 4))
    return figure, figure.subplots()


def _save(figure: Any, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path.name


SPEEDUP_AXIS = "speedup (x; src runtime / program runtime, floored at 1.0 as PIE)"


def _histogram(runs: Sequence[RunSummary]) -> Any:
    from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: PLC0415

    figure, axes = _new_axes()
    shares = len(runs) > 1  # runs of different sizes compare by shares, not counts
    for run in runs:
        finite = [s for s in run.speedups.get(run.k_max, []) if math.isfinite(s)]
        weights = [1.0 / len(finite)] * len(finite) if shares and finite else None
        axes.hist(finite, bins=30, alpha=0.6, weights=weights, label=_label(run))
    if shares:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
        axes.set(ylabel="share of rows (%)")
    else:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole rows only
        axes.set(ylabel="rows (count)")
    axes.set(xlabel=SPEEDUP_AXIS, title="Speedups")
    axes.legend()
    return figure


def _cdf(runs: Sequence[RunSummary]) -> Any:
    from matplotlib.ticker import NullFormatter, PercentFormatter  # noqa: PLC0415

    figure, axes = _new_axes()
    for run in runs:
        values = sorted(run.speedups.get(run.k_max, []))
        shares = [(i + 1) / len(values) for i in range(len(values))]
        axes.step(values, shares, where="post", label=_label(run))
    axes.set(xscale="log", xlabel=SPEEDUP_AXIS, ylabel="share of rows (%)", title="CDF")
    axes.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a log axis overlap
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.legend()
    return figure


def _best_at_k(runs: Sequence[RunSummary]) -> Any:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    figure, axes = _new_axes()
    highest = 1.0
    for run in runs:
        ks = list(range(1, run.k_max + 1))
        means = [run.aggregated[f"mean_speedup_best@{k}"] for k in ks]
        highest = max([highest, *(m for m in means if math.isfinite(m))])
        axes.plot(ks, means, marker="o", label=run.name)
    # speedups are floored at 1: the axis starts there, so a flat line is not blown up
    axes.set_ylim(1.0 - 0.02 * highest, highest * 1.1)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(
        xlabel="k (candidates per row)",
        ylabel="mean speedup best@k (x)",
        title="best@k",
    )
    axes.legend()
    return figure


def _label(run: RunSummary) -> str:
    return f"{run.name} best@{run.k_max}"


def plots(runs: Sequence[RunSummary], folder: Path, stem: str = "") -> list[str]:
    """PNG files: speedup histogram, CDF of speedups, best@k curve; [] without matplotlib or
    without timings (a ``timing: none`` run has no speedups)."""
    if importlib.util.find_spec("matplotlib") is None or not all(r.timed for r in runs):
        return []
    return [
        _save(_histogram(runs), folder / f"speedup_hist{stem}.png"),
        _save(_cdf(runs), folder / f"speedup_cdf{stem}.png"),
        _save(_best_at_k(runs), folder / f"best_at_k{stem}.png"),
    ]


@public
@attrs.frozen
class Report:
    """What ``pie.report`` made: the table to print, the markdown file it wrote, its plots, and
    ``note``, why there are no plots (matplotlib missing, nothing to plot) or None."""

    text: str
    path: Path
    images: tuple[str, ...]
    note: str | None  # why there are no plots


def _names(directories: Sequence[Path]) -> list[str]:
    """Column names: the folder names, or parent/name where two runs share a name."""
    names = [d.name for d in directories]
    if len(set(names)) == len(names):
        return names
    return [f"{d.resolve().parent.name}/{d.name}" for d in directories]


def report(directories: Sequence[Path | str]) -> Report:
    """Print-ready table, and ``report.md`` (with plots) written into the first folder; two
    runs side by side go to ``report-vs-<second>.md``, so a run's own report stays."""
    folders = [Path(d) for d in directories]
    runs = [
        attrs.evolve(load_run(d), name=name)
        for d, name in zip(folders, _names(folders), strict=True)
    ]
    rows = table(runs)
    target = folders[0]
    stem = "" if len(runs) == 1 else "-vs-" + "+".join(r.name for r in runs[1:]).replace("/", "_")
    images = plots(runs, target, stem)
    note = None
    if not images:
        untimed = [r.name for r in runs if not r.timed]
        note = (
            f"plots skipped: no timings in {', '.join(untimed)} (timing: none)"
            if untimed
            else NO_MATPLOTLIB
        )
    body = ["# pie report", "", markdown_table(rows), ""]
    rules = {str(run.info["startup_dominated"].get("rule")) for run in runs
             if run.info.get("startup_dominated")}  # fmt: skip
    body += [f"mostly start-up: {rule}." for rule in sorted(rules)] + ([""] if rules else [])
    body += [f"![{name}]({name})" for name in images]
    if note:
        body.append(f"({note})")
    path = target / (REPORT if not stem else f"report{stem}.md")
    write_atomically(path, "\n".join(body) + "\n")
    return Report(text_table(rows), path, tuple(images), note)
