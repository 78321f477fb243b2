"""pie: is this edited C++ program correct, and how much faster is it?

The public API; everything else lives in private modules, one per pipeline stage.
"""

from pie._benchmark import Benchmark, BenchmarkResult, RowResult, evaluate_benchmark
from pie._check import CheckMode
from pie._compile import CompileOptions
from pie._errors import CompilerError, InputError, PieError, RunStopped, SandboxError
from pie._evaluator import Evaluator, Submission, evaluate, evaluate_many, evaluate_sync
from pie._metrics import Candidate as MetricCandidate
from pie._metrics import Row as MetricRow
from pie._metrics import aggregate as aggregate_metrics
from pie._metrics import bootstrap_interval
from pie._model import (
    CompileResult,
    Evaluation,
    Limits,
    Quantity,
    TestCase,
    TestResult,
    Timing,
    Verdict,
    speedup,
)
from pie._timing._cachegrind import CachegrindConfig
from pie._timing._cycles import Agreement, CycleModel
from pie._timing._wall import Comparison, WallConfig

__version__ = "0.1.0"

__all__ = [
    "Agreement",
    "Benchmark",
    "BenchmarkResult",
    "CachegrindConfig",
    "CheckMode",
    "Comparison",
    "CompileOptions",
    "CompileResult",
    "CompilerError",
    "CycleModel",
    "Evaluation",
    "Evaluator",
    "InputError",
    "Limits",
    "MetricCandidate",
    "MetricRow",
    "PieError",
    "Quantity",
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
    "evaluate",
    "evaluate_benchmark",
    "evaluate_many",
    "evaluate_sync",
    "speedup",
]
