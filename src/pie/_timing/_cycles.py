"""The cycle model: the one primary quantity of the local deterministic backend.

A program's cycles on a test = Σ cost_e · count_e over the events its run counted
(instructions, L1 and last-level cache misses, branch mispredictions), in cycles of PIE's gem5
Skylake core.  ``bench/calibrate.py`` fits the costs on PIE's own recorded gem5 runtimes
(``pie_calibration.jsonl``: 653 PIE rows of 7 problems), with no per-problem term, pulled weakly
to Skylake-like costs, scaled so that PIE's hello world takes the 3,510,913 cycles gem5 gave it,
and judges them leave one problem out: fitted on six problems, scored on the rows of the
seventh.  ``agreement`` holds those figures as the script printed them, so a reader of any
speedup knows how far it follows gem5's.  Every speedup pie computes with the local
deterministic backend is a ratio of these cycles; the raw counts stay available as measures.

A refit is a new ``version``: the model's key is part of the backend's config, so numbers of
two versions never compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from pie._model import Quantity


@attrs.frozen
class Agreement:
    """How the model's speedups agreed with PIE's gem5 speedups on calibration rows of problems
    the fit never saw (leave one problem out)."""

    rows: int
    problems: int
    spearman: float
    spearman_within_problem: Mapping[str, float]  # problems of at least 5 rows
    median_abs_log: float  # median |log(ours / PIE's)|
    within_10_percent: float  # share of rows within ±10% of PIE's speedup
    mean_speedup: float
    pie_mean_speedup: float
    opt_agreement: float  # share of rows on the same side of 1.1 as PIE
    # pairs of rows of one problem, binned by how much PIE's speedups differ ("<1%", "1%-2%",
    # ">=2%"): the share our speedups order as PIE's, i.e. how large a difference between two
    # candidates of one problem (best@k) the model can be trusted to order
    pairs_ordered: Mapping[str, float]
    measured_by: str  # the command that produced these figures

    def to_json(self) -> dict[str, Any]:
        mappings = ("spearman_within_problem", "pairs_ordered")
        return {
            **attrs.asdict(self, filter=lambda a, _: a.name not in mappings),
            **{name: dict(getattr(self, name)) for name in mappings},
        }


@attrs.frozen
class CycleModel:
    """cycles = Σ ``costs[event]`` · count of ``event``; ``counts`` names what it was fitted
    on (backend and simulation key), since costs fitted on one mechanism's counts mean nothing
    for another's."""

    name: str
    version: int
    counts: str
    costs: Mapping[str, float]
    agreement: Agreement

    @property
    def key(self) -> str:
        return f"{self.name}-v{self.version}"

    def cycles(self, counts: Mapping[str, float]) -> float:
        return sum(cost * counts[event] for event, cost in self.costs.items())

    def quantity(self) -> Quantity:
        return Quantity(
            name=self.name,
            version=self.version,
            unit="cycles",
            description=(
                "cycles of PIE's gem5 Skylake core estimated from counted events ("
                + ", ".join(f"{cost:g} per {event}" for event, cost in self.costs.items())
                + f"), calibrated on PIE's gem5 runtimes; counts: {self.counts}"
            ),
            agreement=self.agreement.to_json(),
        )


# bench/calibrate.py --timing qemu, on bench/results/calibration-qemu.jsonl
QEMU_MODEL = CycleModel(
    name="pie-cycles-qemu",
    version=1,
    counts="qemu qemu-v1;cpu=29568c9b9160;plugin=0d6b5a64a5d9b614",
    costs={"instructions": 0.125, "l1_misses": 114.7, "ll_misses": 21.04, "mispredicts": 98.71},
    agreement=Agreement(
        rows=641,
        problems=7,
        spearman=0.951,
        spearman_within_problem={
            "p02687": 0.872,
            "p02753": 0.788,
            "p03041": 0.825,
            "p03048": 0.782,
            "p03343": 0.992,
        },
        median_abs_log=0.0252,
        within_10_percent=0.972,
        mean_speedup=5.447,
        pie_mean_speedup=5.543,
        opt_agreement=0.998,
        pairs_ordered={"<1%": 0.76, "1%-2%": 0.981, ">=2%": 1.0},
        measured_by="python bench/calibrate.py --timing qemu",
    ),
)

# the model each local deterministic backend's default configuration uses
MODELS: Mapping[str, CycleModel] = {"qemu": QEMU_MODEL}


def model_for(backend: str) -> CycleModel | None:
    """The cycle model that makes ``backend``'s primary quantity by default, if any."""
    return MODELS.get(backend)
