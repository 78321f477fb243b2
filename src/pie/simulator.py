"""PIE's gym-like simulator API (``gem5/simulator.py`` in LearningOpt/pie), drop-in.

An existing PIE script changes one import and keeps its calls and the fields it reads::

    from pie import simulator                     # was: from gem5 import simulator
    env = simulator.make(arch="X86-skylake", optimization_flag="-O3", testcases_dir="tests")
    result = env.submit_single_submission(code, [0, 1], "p02549", timing_env="binary")
    result.compilation, result.mean_acc, result.agg_runtime, result.tc2time
    env.teardown()

There is no Docker container and no server: the calls run pie's pipeline (sandboxed g++, PIE's
output check, the result cache) in-process, synchronously like PIE's, on one private event-loop
thread that keeps one ``pie.Evaluator`` per timing role open between calls.

``timing_env`` selects what PIE selected: ``"gem5"`` the gem5 farm (``make(farm=...)`` or
``$PIE_FARM``), ``"binary"`` the native binary (pie's ``wall`` backend by default, PIE's hyperfine
statistics: ``tc2stats`` holds the per-run seconds), ``"both"`` both, the binary numbers in the
``*_binary`` fields as in PIE.  What differs from PIE (units with a non-gem5 backend, which
fields are approximations, stricter input checks) is listed in ``docs/SIMULATOR.md``; in short:

- with ``make(timing="qemu")`` the ``binary`` numbers are in that backend's unit
  (cycles), ``runtime_unit`` says which; ``timing="none"`` gives ``nan`` runtimes;
- programs whose mean accuracy is below ``gem5_acc_threshold`` are not timed, in pairs too
  (PIE times pairs regardless), and their runtime is ``inf`` instead of a crash;
- ``accs`` is keyed by the test number as text (``"0"``), the ``tc2*`` fields by ``int``, as PIE's
  results arrive; missing test numbers are an error instead of being skipped.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import functools
import inspect
import os
import shlex
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import anyio
import anyio.from_thread
import attrs

from pie._check import CheckMode
from pie._compile import CompileOptions
from pie._data import load_test_cases
from pie._errors import InputError
from pie._evaluator import Evaluator
from pie._model import Evaluation, Limits, TestCase
from pie._simulator_results import (
    BINARY_SKIPPED,
    UNMEASURED,
    PiePairResult,
    PieSingleResult,
    Timed,
    from_local_timing,
    from_samples,
    gem5_half,
    single_result,
)
from pie._timing import NONE, REGISTRY, REMOVED, removed
from pie._timing._qemu import QemuConfig
from pie._timing._wall import WallBackend, WallConfig

__all__ = ["PieEnvironment", "PiePairResult", "PieSingleResult", "make"]
for _result in (PieSingleResult, PiePairResult):
    _result.__module__ = __name__  # pie.simulator.PieSingleResult, where users import it

TimingEnv = Literal["gem5", "binary", "both"]
TIMING_ENVS: tuple[str, ...] = ("gem5", "binary", "both")
# what PIE's server runs hyperfine with: --min-runs 10 --warmup 5
PIE_BINARY_TIMING = WallConfig(repetitions=10, warmup=5)
TESTCASES_ENV = "PIE_TESTCASES_DIR"
FARM_ENV = "PIE_FARM"

LocalTiming = str | WallConfig | QemuConfig
T = TypeVar("T")


@attrs.frozen
class _Plan:
    """Which evaluators one call uses: ``checker`` compiles, checks and (gem5 or a non-wall
    local backend) times; ``local`` is a second evaluator for the binary half of ``both`` when
    that half is not ``wall`` (wall runs are taken on the checker's own sandbox)."""

    mode: str
    checker: Evaluator
    local: Evaluator | None


def _accepted_arguments() -> list[str]:
    parameters = inspect.signature(PieEnvironment.__init__).parameters
    return [n for n, p in parameters.items() if n != "self" and p.kind is not p.VAR_KEYWORD]


def _reject_unknown(unknown: dict[str, object]) -> None:
    if not unknown:
        return
    accepted = _accepted_arguments()
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, accepted, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise TypeError(
        f"simulator.make() got unknown argument(s) {', '.join(hints)}; "
        f"it accepts {', '.join(accepted)}"
    )


def _compile_flags(cstd: str, optimization_flag: str) -> tuple[str, ...]:
    # '--std=' and '-std=' mean the same to g++; spelling them alike keeps the binaries (and the
    # result cache) shared with the rest of pie, whose default is ('-std=c++17', '-O3')
    flags = [*shlex.split(cstd), *shlex.split(optimization_flag)]
    return tuple(f[1:] if f.startswith("--std=") else f for f in flags)


def _local_timing(timing: LocalTiming) -> WallConfig | QemuConfig | str:
    if isinstance(timing, (WallConfig, QemuConfig)):
        return timing
    if timing == "wall":
        return PIE_BINARY_TIMING
    if timing == NONE or (timing in REGISTRY and REGISTRY[timing].local):
        return timing
    local = [NONE, *(name for name, entry in REGISTRY.items() if entry.local)]
    gone = f"{removed(timing)}; " if timing in REMOVED else ""
    raise ValueError(
        f"timing={timing!r}: {gone}choose the backend that stands in for PIE's binary timing, "
        "one of "
        f"{', '.join(repr(n) for n in local)} ('wall' is the default), or a pie.WallConfig / "
        "pie.QemuConfig; gem5 is chosen per call with timing_env='gem5' and needs "
        "make(farm=...)"
    )


def _test_numbers(testcases: Sequence[int | str] | None) -> list[int] | None:
    """PIE takes test numbers as ints or digit strings; order kept, repeats dropped."""
    if testcases is None:
        return None
    if isinstance(testcases, (str, bytes)) or len(testcases) == 0:
        raise ValueError(
            f"testcases={testcases!r}: pass a non-empty list of test numbers such as [0, 1], "
            "or None for every test of the problem"
        )
    numbers = []
    for item in testcases:
        if isinstance(item, bool) or not (
            isinstance(item, int) or (isinstance(item, str) and item.isdigit())
        ):
            raise ValueError(f"test number {item!r} in testcases is not an integer >= 0")
        numbers.append(int(item))
    if any(n < 0 for n in numbers):
        raise ValueError(f"testcases={list(testcases)!r} holds a negative test number")
    return list(dict.fromkeys(numbers))


def _same_length(**lists: Sequence[Any]) -> int:
    lengths = {name: len(values) for name, values in lists.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the lists must have the same length, got {lengths}")
    return next(iter(lengths.values()))


class PieEnvironment:
    """PIE's ``PieEnvironment``: submit programs, get ``PieSingleResult``/``PiePairResult``.

    Accepted and ignored (they configured PIE's Docker server): ``cpuset_cpus``,
    ``working_dir``, ``use_logical_cpus``, ``threaded``, ``port``, ``timeout_seconds_gem5``
    (the farm file's ``timeout`` applies), ``api_key``, ``verbose``,
    ``do_run_without_container``, ``exit_early_on_fail``.  Used: ``arch`` (only
    ``X86-skylake``, as PIE), ``workers`` (concurrency; -1 = every usable CPU),
    ``gem5_acc_threshold`` (programs below it are not timed), ``cstd`` and
    ``optimization_flag`` (compile flags), ``cpu_type`` (only ``Verbatim``, what the farm
    runs), ``timeout_seconds_binary`` (CPU seconds per test).  pie's own, keyword only:
    ``testcases_dir`` (alias ``tests_root``; default ``$PIE_TESTCASES_DIR``), the folder of
    ``<problem_id>/input.N.txt|output.N.txt``; ``timing``, the backend behind ``"binary"``;
    ``farm`` (default ``$PIE_FARM``), the gem5 farm, needed by ``"gem5"`` and ``"both"``;
    ``cache_dir``, ``cache_file``, ``limits``, ``check``.
    """

    supported_modes = TIMING_ENVS

    # PIE's signature, positional order included: its callers may pass these positionally
    def __init__(  # noqa: PLR0917
        self,
        arch: str = "X86-skylake",
        cpuset_cpus: str | None = None,
        working_dir: str | None = None,
        use_logical_cpus: bool = False,
        workers: int = -1,
        threaded: bool = False,
        gem5_acc_threshold: float = 0.95,
        port: int = 4000,
        cstd: str = "--std=c++17",
        optimization_flag: str = "-O3",
        cpu_type: str = "Verbatim",
        timeout_seconds_binary: float | None = None,
        timeout_seconds_gem5: float | None = None,
        api_key: str | None = None,
        verbose: bool = False,
        do_run_without_container: bool = False,
        exit_early_on_fail: bool = True,
        *,
        testcases_dir: str | os.PathLike[str] | None = None,
        tests_root: str | os.PathLike[str] | None = None,
        timing: LocalTiming = "wall",
        farm: Any = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_file: str | os.PathLike[str] | None = None,
        limits: Limits | None = None,
        check: str | CheckMode = CheckMode.PIE,
        **unknown: object,
    ) -> None:
        _reject_unknown(unknown)
        if arch != "X86-skylake":
            raise NotImplementedError(f"architecture {arch!r} not supported, only X86-skylake")
        if cpu_type != "Verbatim":
            raise NotImplementedError(
                f"cpu_type {cpu_type!r} not supported: the gem5 farm runs run-se.py Verbatim"
            )
        if not 0.0 <= gem5_acc_threshold <= 1.0:
            raise ValueError(f"gem5_acc_threshold must lie in [0, 1], got {gem5_acc_threshold}")
        if workers == 0 or workers < -1:
            raise ValueError(f"workers must be -1 (every usable CPU) or >= 1, got {workers}")
        self.arch = arch
        self.cstd = cstd
        self.optimization_flag = optimization_flag
        self.gem5_acc_threshold = gem5_acc_threshold
        self.workers = workers
        self.tests_root = self._tests_root(testcases_dir, tests_root)
        self.timing = _local_timing(timing)
        self.farm = farm if farm is not None else os.environ.get(FARM_ENV) or None
        self._flags = _compile_flags(cstd, optimization_flag)
        self._options: dict[str, Any] = {
            "cache_dir": cache_dir,
            "cache_file": cache_file,
            "concurrency": None if workers == -1 else workers,
            "limits": self._limits(limits, timeout_seconds_binary),
            "check": CheckMode(check),
            "threshold_accuracy": gem5_acc_threshold,
        }
        if farm is not None:  # given explicitly: say at once if it cannot be used
            self._check_farm_support()
        self._lock = threading.Lock()
        self._evaluators: dict[tuple[str, tuple[str, ...]], Evaluator] = {}
        self._wall_lock: anyio.Lock | None = None
        self._stack: contextlib.ExitStack | None = contextlib.ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        # a script that forgets teardown() still leaves no sandbox process behind
        atexit.register(self.teardown)

    # --- configuration -------------------------------------------------------------------

    @staticmethod
    def _tests_root(
        testcases_dir: str | os.PathLike[str] | None, tests_root: str | os.PathLike[str] | None
    ) -> Path | None:
        if testcases_dir is not None and tests_root is not None:
            raise TypeError("pass testcases_dir= or its alias tests_root=, not both")
        given = testcases_dir if testcases_dir is not None else tests_root
        if given is None:
            given = os.environ.get(TESTCASES_ENV) or None
        if given is None:
            return None  # an error at the first submission, which needs it
        root = Path(given).expanduser()
        if not root.is_dir():
            raise InputError(f"testcases_dir {root} is not a directory")
        return root

    @staticmethod
    def _limits(limits: Limits | None, timeout_seconds_binary: float | None) -> Limits | None:
        if timeout_seconds_binary is None:
            return limits
        if limits is not None:
            raise TypeError("pass limits= or timeout_seconds_binary=, not both")
        return Limits(time_limit=timeout_seconds_binary)

    def _check_farm_support(self, timing_env: str = "gem5") -> None:
        if self.farm is None:
            raise InputError(
                f"timing_env={timing_env!r} needs a gem5 farm: pass simulator.make(farm="
                f"'farm.yaml') or set ${FARM_ENV}; without one use timing_env='binary' "
                "(pie's wall or qemu backend)"
            )

    # --- lifecycle -----------------------------------------------------------------------

    def teardown(self, remove_container: bool = True) -> None:
        """Close every evaluator (its sandbox processes and scratch files) and the loop thread.
        Safe to call twice; ``remove_container`` is accepted for PIE's signature."""
        with self._lock:
            stack, self._stack = self._stack, None
        if stack is None:
            return
        atexit.unregister(self.teardown)
        stack.close()

    def __enter__(self) -> PieEnvironment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()

    def _evaluator(self, role: str, flags: tuple[str, ...]) -> Evaluator:
        """The open evaluator for a role ('gem5' or 'binary') and compile flags, started on
        first use; its async context lives in a task of the private event loop."""
        with self._lock:
            if self._stack is None:
                raise RuntimeError("this environment was torn down; make a new one")
            key = (role, flags)
            if key not in self._evaluators:
                evaluator = Evaluator(
                    **self._options,
                    compile_options=CompileOptions(flags=flags),
                    **self._role_options(role),
                )
                wrapped = self._portal.wrap_async_context_manager(evaluator)
                self._evaluators[key] = self._stack.enter_context(wrapped)
            return self._evaluators[key]

    def _role_options(self, role: str) -> dict[str, Any]:
        if role == "gem5":
            return {"timing": "gem5", "farm": self.farm}
        # wall runs are taken here (PIE's per-run statistics), not by the evaluator
        return {"timing": "none" if isinstance(self.timing, WallConfig) else self.timing}

    def _plan(self, timing_env: str, override_flags: str | None) -> _Plan:
        if timing_env not in TIMING_ENVS:
            raise ValueError(f"timing_env={timing_env!r}: choose one of {TIMING_ENVS}")
        if timing_env != "binary":
            self._check_farm_support(timing_env)
        flags = self._flags + tuple(shlex.split(override_flags or ""))
        if timing_env == "binary":
            return _Plan(timing_env, self._evaluator("binary", flags), None)
        local = None
        if timing_env == "both" and not isinstance(self.timing, WallConfig):
            local = self._evaluator("binary", flags)
        return _Plan(timing_env, self._evaluator("gem5", flags), local)

    def _cases(
        self, problem_id: str, testcases: Sequence[int | str] | None
    ) -> tuple[TestCase, ...]:
        if self.tests_root is None:
            raise InputError(
                "no test folder: pass simulator.make(testcases_dir=...) or set "
                f"${TESTCASES_ENV} to the folder holding <problem_id>/input.N.txt "
                "(PIE's image had it at /home/pie-perf/data/codenet/merged_test_cases)"
            )
        if not problem_id or Path(problem_id).name != problem_id:
            raise InputError(f"problem_id {problem_id!r} is not a folder name")
        return load_test_cases(self.tests_root / problem_id, _test_numbers(testcases))

    def _call(self, function: Callable[[], Awaitable[T]]) -> T:
        if self._stack is None:
            raise RuntimeError("this environment was torn down; make a new one")
        future = self._portal.start_task_soon(function)
        try:
            return future.result()
        except BaseException:
            # Ctrl-C in the caller: cancel the work, which kills the runs it started
            future.cancel()
            raise

    # --- PIE's submission calls ----------------------------------------------------------

    def submit_single_submission(
        self,
        code: str,
        testcases: Sequence[int | str] | None,
        problem_id: str,
        timing_env: TimingEnv,
        override_flags: str | None = None,
    ) -> PieSingleResult:
        """Compile, check and time one program on ``testcases`` of ``problem_id``."""
        cases = self._cases(problem_id, testcases)  # bad input fails before anything starts
        plan = self._plan(timing_env, override_flags)
        return self._call(lambda: self._program(plan, code, cases))

    def submit_multiple_single_submissions(
        self,
        code_list: Sequence[str],
        testcases_list: Sequence[Sequence[int | str] | None],
        problem_id_list: Sequence[str],
        timing_env: TimingEnv,
        override_flags_list: Sequence[str | None] | None = None,
    ) -> list[PieSingleResult]:
        """Many programs, evaluated concurrently; results in the order given."""
        flags = override_flags_list or [None] * len(code_list)
        _same_length(
            code_list=code_list,
            testcases_list=testcases_list,
            problem_id_list=problem_id_list,
            override_flags_list=flags,
        )
        cases = [self._cases(p, t) for p, t in zip(problem_id_list, testcases_list, strict=True)]
        plans = [self._plan(timing_env, f) for f in flags]
        jobs = [
            functools.partial(self._program, p, c, k)
            for p, c, k in zip(plans, code_list, cases, strict=True)
        ]
        return self._call(lambda: self._gather(jobs))

    def submit_single_submission_pair(  # noqa: PLR0917 (PIE's signature)
        self,
        code_v0: str,
        code_v1: str,
        testcases: Sequence[int | str] | None,
        problem_id: str,
        timing_env: TimingEnv,
        override_flags: str | None = None,
    ) -> PiePairResult:
        """Two versions of a program (v0, v1) on the same tests."""
        cases = self._cases(problem_id, testcases)  # bad input fails before anything starts
        plan = self._plan(timing_env, override_flags)
        return self._call(lambda: self._pair(plan, plan, code_v0, code_v1, cases))

    def submit_multiple_dual_submissions(  # noqa: PLR0917 (PIE's signature)
        self,
        code_list_v0: Sequence[str],
        code_list_v1: Sequence[str],
        testcases_list: Sequence[Sequence[int | str] | None],
        problem_id_list: Sequence[str],
        timing_env: TimingEnv,
        override_flags_list_v0: Sequence[str | None] | None = None,
        override_flags_list_v1: Sequence[str | None] | None = None,
    ) -> list[PiePairResult]:
        """Many pairs, evaluated concurrently; results in the order given."""
        flags_v0 = override_flags_list_v0 or [None] * len(code_list_v0)
        flags_v1 = override_flags_list_v1 or [None] * len(code_list_v1)
        _same_length(
            code_list_v0=code_list_v0,
            code_list_v1=code_list_v1,
            testcases_list=testcases_list,
            problem_id_list=problem_id_list,
            override_flags_list_v0=flags_v0,
            override_flags_list_v1=flags_v1,
        )
        cases = [self._cases(p, t) for p, t in zip(problem_id_list, testcases_list, strict=True)]
        plans = [
            (self._plan(timing_env, a), self._plan(timing_env, b))
            for a, b in zip(flags_v0, flags_v1, strict=True)
        ]
        jobs = [
            functools.partial(self._pair, p[0], p[1], a, b, k)
            for p, a, b, k in zip(plans, code_list_v0, code_list_v1, cases, strict=True)
        ]
        return self._call(lambda: self._gather(jobs))

    # --- the async work, on the private event loop ---------------------------------------

    async def _gather(self, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """Run jobs concurrently, results in input order.  The evaluators bound the sandboxed
        runs; this bounds how many programs are in memory at once."""
        results: list[T | None] = [None] * len(jobs)
        limiter = anyio.CapacityLimiter(
            2 * (self._options["concurrency"] or len(os.sched_getaffinity(0)))
        )

        async def run(position: int, job: Callable[[], Awaitable[T]]) -> None:
            async with limiter:
                results[position] = await job()

        async with anyio.create_task_group() as group:
            for position, job in enumerate(jobs):
                group.start_soon(run, position, job)
        return [r for r in results if r is not None]

    async def _pair(
        self, plan_v0: _Plan, plan_v1: _Plan, code_v0: str, code_v1: str, cases: Sequence[TestCase]
    ) -> PiePairResult:
        both = await self._gather(
            [
                functools.partial(self._program, plan_v0, code_v0, cases),
                functools.partial(self._program, plan_v1, code_v1, cases),
            ]
        )
        return PiePairResult.of(both[0], both[1])

    async def _program(self, plan: _Plan, code: str, cases: Sequence[TestCase]) -> PieSingleResult:
        evaluation = await plan.checker.evaluate(code, cases)
        # PIE times a program only when its mean accuracy reaches the threshold
        timed = evaluation.compile.ok and evaluation.accuracy >= self.gem5_acc_threshold
        binary = None
        if plan.mode in ("binary", "both"):
            binary = await self._binary(plan, code, cases, evaluation, timed)
        if plan.mode == "binary":
            assert binary is not None
            return single_result(evaluation, cases, binary, None)  # PIE: unsuffixed fields
        return single_result(evaluation, cases, gem5_half(evaluation, cases, timed), binary)

    async def _binary(
        self,
        plan: _Plan,
        code: str,
        cases: Sequence[TestCase],
        evaluation: Evaluation,
        timed: bool,
    ) -> Timed:
        """The binary half: pie's stand-in for PIE's hyperfine timing of the native binary."""
        if not timed:
            return BINARY_SKIPPED
        if isinstance(self.timing, WallConfig):
            samples = await self._wall_samples(plan.checker, evaluation, cases, self.timing)
            return from_samples(samples, WallBackend.unit)
        if plan.local is not None:  # 'both': the checker timed with gem5, time locally too
            evaluation = await plan.local.evaluate(code, cases)
        if evaluation.timing is None:
            return UNMEASURED
        return from_local_timing(evaluation.timing, cases)

    async def _wall_samples(
        self,
        evaluator: Evaluator,
        evaluation: Evaluation,
        cases: Sequence[TestCase],
        config: WallConfig,
    ) -> dict[int, list[float]]:
        binary = evaluation.compile.binary
        assert binary is not None  # timed programs compiled
        if self._wall_lock is None:  # made here: it belongs to the private event loop
            self._wall_lock = anyio.Lock()
        backend = WallBackend(evaluator._live_sandbox, config)
        # one program timed at a time across every evaluator: concurrent runs disturb timings
        async with self._wall_lock:
            return {c.index: await backend.samples(binary, c, evaluator.limits) for c in cases}


def make(*args: Any, **kwargs: Any) -> PieEnvironment:
    """PIE's ``simulator.make``: ``make(arch='X86-skylake', optimization_flag='-O3', ...)``.

    Takes ``PieEnvironment``'s arguments; an unknown one is a ``TypeError`` naming the accepted
    ones.  Nothing is pulled or started but a private event-loop thread; each evaluator starts
    on first use.
    """
    return PieEnvironment(*args, **kwargs)
