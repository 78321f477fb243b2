"""pie: is this edited C++ program correct, and how much faster is it?

The public API; everything else lives in private modules, one per pipeline stage.
"""

from pie._check import CheckMode
from pie._compile import CompileOptions
from pie._errors import CompilerError, InputError, PieError, SandboxError
from pie._evaluator import Evaluator, Submission, evaluate, evaluate_many, evaluate_sync
from pie._model import (
    CompileResult,
    Evaluation,
    Limits,
    TestCase,
    TestResult,
    Timing,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "CheckMode",
    "CompileOptions",
    "CompileResult",
    "CompilerError",
    "Evaluation",
    "Evaluator",
    "InputError",
    "Limits",
    "PieError",
    "SandboxError",
    "Submission",
    "TestCase",
    "TestResult",
    "Timing",
    "Verdict",
    "evaluate",
    "evaluate_many",
    "evaluate_sync",
]
