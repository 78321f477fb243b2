"""pie: is this edited C++ program correct, and how much faster is it?

The public API; everything else lives in private modules, one per pipeline stage.  Every name
here says ``pie.<Name>`` in reprs and tracebacks, wherever it is defined.  Every name loads on
first use, so that ``import pie`` costs nothing and a warm ``pie run`` loads only what it needs:
the evaluation's names as one group, the benchmark, report, doctor, farm, metrics and
timing-backend names one module at a time.
"""

from __future__ import annotations

import importlib

# typing.TYPE_CHECKING without importing typing (a few ms): the client of pie serve
# (pie.cli._client) imports this package and nothing it need not
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from pie._benchmark import (
        Benchmark,
        BenchmarkPlan,
        BenchmarkResult,
        RowResult,
        evaluate_benchmark,
    )
    from pie._benchmark._journal import Outcome
    from pie._benchmark._plan import Issue
    from pie._cache import Cache
    from pie._check import CheckMode
    from pie._compile import CompileOptions
    from pie._config import BenchmarkConfig, load_config
    from pie._data import DemoProblem, demo_problems
    from pie._doctor import HostFact, doctor
    from pie._errors import CompilerError, InputError, PieError, RunStopped, SandboxError
    from pie._evaluator import Evaluator, Submission, evaluate, evaluate_many, evaluate_sync
    from pie._farm import FarmConfig, FarmConfigError, HostConfig, load_farm
    from pie._farm._check import FarmCheck, HostCheck, check_farm
    from pie._farm._hosts import HostIdentity
    from pie._farm._status import farm_status
    from pie._metrics import MetricCandidate, MetricRow, aggregate_metrics, bootstrap_interval
    from pie._model import (
        CompileResult,
        Evaluation,
        Limits,
        Measure,
        Quantity,
        TestCase,
        TestResult,
        Timing,
        Verdict,
        speedup,
    )
    from pie._paths import default_cache_dir
    from pie._report import Report, report
    from pie._timing import TIMINGS, default_local_timing
    from pie._timing._cycles import Agreement, CycleModel
    from pie._timing._qemu import QemuConfig
    from pie._timing._wall import Comparison, WallConfig

# What every evaluation uses loads as one group, on first use of any of its names, so that the
# types an evaluation returns say ``pie.<Name>`` however they were reached; ``import pie``
# alone loads nothing (the ``pie`` command's client, pie.cli._client, stands on it).
_CORE = {
    "Cache": "pie._cache",
    "CheckMode": "pie._check",
    "CompileOptions": "pie._compile",
    "DemoProblem": "pie._data",
    "demo_problems": "pie._data",
    "CompilerError": "pie._errors",
    "InputError": "pie._errors",
    "PieError": "pie._errors",
    "RunStopped": "pie._errors",
    "SandboxError": "pie._errors",
    "Evaluator": "pie._evaluator",
    "Submission": "pie._evaluator",
    "evaluate": "pie._evaluator",
    "evaluate_many": "pie._evaluator",
    "evaluate_sync": "pie._evaluator",
    "CompileResult": "pie._model",
    "Evaluation": "pie._model",
    "Limits": "pie._model",
    "Measure": "pie._model",
    "Quantity": "pie._model",
    "TestCase": "pie._model",
    "TestResult": "pie._model",
    "Timing": "pie._model",
    "Verdict": "pie._model",
    "speedup": "pie._model",
    "TIMINGS": "pie._timing",
    "default_local_timing": "pie._timing",
}

# names that stand alone: they load without the group
_ALONE = {"default_cache_dir": "pie._paths"}

# the rest load one module at a time, when used (after the group, whose types they hold)
_LAZY = {
    "Benchmark": "pie._benchmark",
    "BenchmarkResult": "pie._benchmark",
    "RowResult": "pie._benchmark",
    "BenchmarkPlan": "pie._benchmark",
    "evaluate_benchmark": "pie._benchmark",
    "Outcome": "pie._benchmark._journal",
    "Issue": "pie._benchmark._plan",
    "BenchmarkConfig": "pie._config",
    "load_config": "pie._config",
    "FarmConfig": "pie._farm",
    "FarmConfigError": "pie._farm",
    "HostConfig": "pie._farm",
    "load_farm": "pie._farm",
    "HostFact": "pie._doctor",
    "doctor": "pie._doctor",
    "FarmCheck": "pie._farm._check",
    "HostCheck": "pie._farm._check",
    "check_farm": "pie._farm._check",
    "HostIdentity": "pie._farm._hosts",
    "farm_status": "pie._farm._status",
    "Report": "pie._report",
    "report": "pie._report",
    "MetricCandidate": "pie._metrics",
    "MetricRow": "pie._metrics",
    "aggregate_metrics": "pie._metrics",
    "bootstrap_interval": "pie._metrics",
    "Agreement": "pie._timing._cycles",
    "CycleModel": "pie._timing._cycles",
    "QemuConfig": "pie._timing._qemu",
    "Comparison": "pie._timing._wall",
    "WallConfig": "pie._timing._wall",
}

__version__ = "0.1.0"

__all__ = [
    "TIMINGS",
    "Agreement",
    "Benchmark",
    "BenchmarkConfig",
    "BenchmarkPlan",
    "BenchmarkResult",
    "Cache",
    "CheckMode",
    "Comparison",
    "CompileOptions",
    "CompileResult",
    "CompilerError",
    "CycleModel",
    "DemoProblem",
    "Evaluation",
    "Evaluator",
    "FarmCheck",
    "FarmConfig",
    "FarmConfigError",
    "HostCheck",
    "HostConfig",
    "HostFact",
    "HostIdentity",
    "InputError",
    "Issue",
    "Limits",
    "Measure",
    "MetricCandidate",
    "MetricRow",
    "Outcome",
    "PieError",
    "QemuConfig",
    "Quantity",
    "Report",
    "RowResult",
    "RunStopped",
    "SandboxError",
    "Submission",
    "TestCase",
    "TestResult",
    "Timing",
    "Verdict",
    "WallConfig",
    "aggregate_metrics",
    "bootstrap_interval",
    "check_farm",
    "default_cache_dir",
    "default_local_timing",
    "demo_problems",
    "doctor",
    "evaluate",
    "evaluate_benchmark",
    "evaluate_many",
    "evaluate_sync",
    "farm_status",
    "load_config",
    "load_farm",
    "report",
    "speedup",
]


def _made_public(value: Any) -> Any:
    """``pie.Evaluation`` rather than ``pie._model.Evaluation`` in reprs, tracebacks and
    pickles, as anyio, httpx and trio do."""
    if getattr(value, "__module__", "").startswith("pie._"):
        value.__module__ = __name__
    return value


def _load(names: dict[str, str]) -> None:
    for name, module in names.items():
        globals()[name] = _made_public(getattr(importlib.import_module(module), name))


def __getattr__(name: str) -> Any:
    if name in _ALONE:
        _load({name: _ALONE[name]})
    elif name in _CORE:
        _load(_CORE)
    elif name in _LAZY:
        if "Evaluation" not in globals():
            _load(_CORE)
        _load({name: _LAZY[name]})
    elif name in _removed():
        raise AttributeError(f"pie.{name} was removed: {_removed()[name]}")
    else:
        raise AttributeError(f"module 'pie' has no attribute {name!r}")
    return globals()[name]


def _removed() -> Mapping[str, str]:
    from pie._timing import REMOVED  # noqa: PLC0415 (only to explain a missing name)

    return REMOVED


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
