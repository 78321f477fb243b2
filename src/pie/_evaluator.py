"""The pipeline: compile, run each test in the sandbox, check, time; one program or a stream."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import attrs

from pie._cache import FILE_NAME as CACHE_FILE
from pie._cache import ResultCache
from pie._check import CheckMode, check_output
from pie._compile import CompileOptions, Compiler
from pie._data import load_test_cases, test_digest
from pie._errors import CompilerError, InputError, SandboxError
from pie._hashing import key_of, sha256_bytes
from pie._model import (
    CompileResult,
    Evaluation,
    Limits,
    TestCase,
    TestResult,
    Verdict,
    overall_verdict,
)
from pie._paths import default_cache_dir
from pie._sandbox import Sandbox, classify, recorded_summary
from pie._timing import NO_FARM, NONE, TIMINGS, TimingBackend, make_backend, unknown_backend

if TYPE_CHECKING:
    from pie._farm import FarmConfig
    from pie._timing._qemu import QemuConfig
    from pie._timing._wall import Comparison, WallConfig

Source = str | bytes | os.PathLike[str]
Tests = str | os.PathLike[str] | Sequence[TestCase]


@attrs.frozen
class Submission:
    """One program to evaluate; ``tests`` or ``problem_id`` (under the evaluator's root)."""

    source: Source
    tests: Tests | None = None
    problem_id: str | None = None
    label: str | None = None
    indices: Sequence[int] | None = None


def _as_submission(item: Submission | tuple[Source, str]) -> Submission:
    """A ``(source, problem_id)`` pair is shorthand for a Submission."""
    return item if isinstance(item, Submission) else Submission(item[0], problem_id=item[1])


def _source_bytes(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str):
        return source.encode("utf-8")
    path = Path(source)
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read source file {path}: {error.strerror}") from None


def _load_farm(path: str | os.PathLike[str]) -> FarmConfig:
    from pie._farm import load_farm  # noqa: PLC0415 (the farm's modules load only for a farm)

    return load_farm(path)


def _outside_context() -> RuntimeError:
    return RuntimeError("use the Evaluator inside 'async with Evaluator() as ev:'")


def _depends_on_load(wall_exceeded: bool, result: TestResult) -> bool:
    """A TLE by the wall clock alone may be the host's load, not the program: run it again
    next time rather than serve it from the cache (as the timing backends do with failures)."""
    return result.verdict is Verdict.TLE and wall_exceeded


def _default_concurrency() -> int:
    return len(os.sched_getaffinity(0))


class Evaluator:
    """Long-lived evaluation context: owns the sandbox slots, compiler cache and timing backend.

    ``async with Evaluator() as ev: result = await ev.evaluate(source, tests="tests/p02547")``
    """

    def __init__(
        self,
        *,
        tests_root: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        concurrency: int | None = None,
        limits: Limits | None = None,
        check: str | CheckMode = CheckMode.STRICT,
        compile_options: CompileOptions | None = None,
        timing: str | QemuConfig | WallConfig = "none",
        cache_file: str | os.PathLike[str] | None = None,
        threshold_accuracy: float | None = None,
        farm: str | os.PathLike[str] | FarmConfig | None = None,
    ) -> None:
        self.tests_root = Path(tests_root) if tests_root is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.concurrency = concurrency or _default_concurrency()
        if self.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {concurrency}")
        self.limits = limits or Limits()
        self.check = CheckMode(check)
        self.compile_options = compile_options or CompileOptions()
        if isinstance(timing, str) and timing not in TIMINGS:
            raise InputError(unknown_backend(timing))
        self._timing_name = timing
        # the farm YAML is checked here, before any process starts or host is contacted
        self.farm = _load_farm(farm) if isinstance(farm, (str, os.PathLike)) else farm
        if timing == "gem5" and self.farm is None:
            raise InputError(NO_FARM)
        if timing == "gem5" and threshold_accuracy is None and self.farm is not None:
            threshold_accuracy = self.farm.threshold_accuracy
        if threshold_accuracy is not None and not 0.0 <= threshold_accuracy <= 1.0:
            raise InputError(f"threshold_accuracy must lie in [0, 1], got {threshold_accuracy}")
        self.threshold_accuracy = threshold_accuracy
        self.cache_file = (
            Path(cache_file) if cache_file is not None else self.cache_dir / CACHE_FILE
        )
        self._store: ResultCache | None = None
        self._sandbox: Sandbox | None = None
        self._sandbox_lock: threading.Lock | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._compiler: Compiler | None = None
        self._timing: TimingBackend | None = None

    async def __aenter__(self) -> Evaluator:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # first, so that a broken cache file stops us before any process starts
        self._store = await anyio.to_thread.run_sync(ResultCache, self.cache_file)
        # hosts the task that reads the launcher server's replies, for the evaluator's lifetime
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._sandbox_lock = threading.Lock()
        self._compiler = Compiler(
            self.cache_dir, self._ready_sandbox, self.compile_options, self._store
        )
        try:
            if self._timing_name != NONE:
                # a backend checks its set-up (qemu installed, the farm's hosts) up front
                sandbox = await self._ready_sandbox()
                self._timing = make_backend(
                    self._timing_name, sandbox, self._store, self.check, self.farm
                )
        except BaseException:
            await self._close()
            raise
        return self

    def _new_sandbox(self) -> Sandbox:
        """The sandbox, made on first need: an answer served wholly from the cache probes
        nothing, makes no slot and starts no process."""
        assert self._group is not None and self._sandbox_lock is not None
        with self._sandbox_lock:
            if self._sandbox is None:
                sandbox = Sandbox(
                    self.cache_dir, self.concurrency, self.compile_options.host_compiler
                )
                sandbox.serve_in(self._group)
                self._sandbox = sandbox
            return self._sandbox

    async def _ready_sandbox(self) -> Sandbox:
        if self._sandbox is not None:
            return self._sandbox
        if self._group is None:
            raise _outside_context()
        return await anyio.to_thread.run_sync(self._new_sandbox)

    async def _summary(self) -> str:
        """The sandbox's summary; without a sandbox, the one its last probe recorded here."""
        if self._sandbox is None:
            recorded = await anyio.to_thread.run_sync(
                recorded_summary, self.cache_dir, self.compile_options.host_compiler
            )
            if recorded is not None:
                return recorded
        return (await self._ready_sandbox()).host.summary

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        timing, self._timing = self._timing, None
        try:
            if timing is not None:
                with anyio.CancelScope(shield=True):
                    await timing.aclose()
        finally:
            await self._close_sandbox()

    async def _close_sandbox(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        try:
            if sandbox is not None:
                with anyio.CancelScope(shield=True):
                    await sandbox.aclose()
        finally:
            if self._group is not None:
                self._group.cancel_scope.cancel()
                await self._group.__aexit__(None, None, None)
                self._group = None
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def _live_sandbox(self) -> Sandbox:
        """The sandbox, while the evaluator is open (private: its type is not pie's API); made
        now if nothing needed it yet."""
        if self._sandbox is not None:
            return self._sandbox
        if self._group is None:
            raise _outside_context()
        return self._new_sandbox()

    def _resolve_tests(
        self, tests: Tests | None, problem_id: str | None, indices: Sequence[int] | None
    ) -> tuple[TestCase, ...]:
        if tests is not None and not isinstance(tests, (str, os.PathLike)):
            return tuple(tests)
        root = Path(tests) if tests is not None else self.tests_root
        if root is None:
            raise InputError("no tests given: pass tests=DIR, or tests_root= and problem_id=")
        folder = root / problem_id if problem_id else root
        return load_test_cases(folder, indices)

    @staticmethod
    def _some_tests(cases: tuple[TestCase, ...]) -> tuple[TestCase, ...]:
        if not cases:
            raise InputError(
                "no tests selected (an empty tests= list or indices=[]): "
                "pass at least one test, or indices=None for every test"
            )
        return cases

    async def compile(self, source: Source) -> CompileResult:
        if self._compiler is None:
            raise _outside_context()
        return await self._compiler.compile(_source_bytes(source))

    async def evaluate(
        self,
        source: Source,
        tests: Tests | None = None,
        *,
        problem_id: str | None = None,
        indices: Sequence[int] | None = None,
        limits: Limits | None = None,
        label: str | None = None,
    ) -> Evaluation:
        """Compile ``source``, run it on every test, check outputs, time it if all pass."""
        code = _source_bytes(source)
        cases = self._some_tests(self._resolve_tests(tests, problem_id, indices))
        limits = limits or self.limits
        compiled = await self.compile(code)
        digest = sha256_bytes(code)
        summary = await self._summary()
        if not compiled.ok or compiled.binary is None:
            return Evaluation(Verdict.CE, 0.0, digest, compiled, (), None, summary, label)
        results: list[TestResult | None] = [None] * len(cases)

        async def run_one(position: int, case: TestCase) -> None:
            results[position] = await self.run_test(compiled, case, limits)

        async with anyio.create_task_group() as group:
            for position, case in enumerate(cases):
                group.start_soon(run_one, position, case)
        tests_done = tuple(r for r in results if r is not None)
        verdict = overall_verdict([r.verdict for r in tests_done])
        mean_accuracy = sum(r.accuracy for r in tests_done) / len(tests_done)
        timing = None
        if self._should_time(verdict, mean_accuracy) and self._timing is not None:
            assert compiled.binary_sha256 is not None
            timing = await self._timing.measure(
                compiled.binary,
                compiled.binary_sha256,
                cases,
                limits,
                accuracies=[r.accuracy for r in tests_done],
            )
        return Evaluation(
            verdict, mean_accuracy, digest, compiled, tests_done, timing, summary, label
        )

    def _should_time(self, verdict: Verdict, mean_accuracy: float) -> bool:
        """PIE times a program only when it is correct enough: every test AC by default, or a
        mean accuracy at the threshold (PIE's ``gem5_acc_threshold``, 0.95 in its driver)."""
        if self.threshold_accuracy is None:
            return verdict is Verdict.AC
        return mean_accuracy >= self.threshold_accuracy

    async def compare_wall(
        self,
        baseline: Source,
        candidate: Source,
        tests: Tests | None = None,
        *,
        problem_id: str | None = None,
        indices: Sequence[int] | None = None,
        limits: Limits | None = None,
        config: WallConfig | None = None,
    ) -> Comparison:
        """Is ``candidate`` faster than ``baseline`` by the wall clock?  Runs are interleaved
        and judged with a Mann-Whitney U test (``Comparison.p_value``)."""
        # the wall backend (and psutil) load when first used, not with ``import pie``
        from pie._timing._wall import WallBackend  # noqa: PLC0415

        cases = self._some_tests(self._resolve_tests(tests, problem_id, indices))
        binaries = []
        for role, source in (("baseline", baseline), ("candidate", candidate)):
            built = await self.compile(source)
            if not built.ok or built.binary is None:
                raise InputError(f"the {role} does not compile: {built.message[:500]}")
            binaries.append(built.binary)
        backend = (
            self._timing
            if isinstance(self._timing, WallBackend) and config is None
            else WallBackend(await self._ready_sandbox(), config)
        )
        return await backend.compare(binaries[0], binaries[1], cases, limits or self.limits)

    async def run_test(self, compiled: CompileResult, case: TestCase, limits: Limits) -> TestResult:
        """One test of a compiled program: from the cache when this binary already ran it."""
        assert compiled.binary is not None and compiled.binary_sha256 is not None
        assert self._store is not None
        key = key_of(compiled.binary_sha256, test_digest(case), limits.key(), self.check.value)
        hit = await self._store.get_json("runs", key)
        if hit is not None:
            return attrs.evolve(TestResult.from_json(hit), index=case.index, cached=True)
        judge = functools.partial(check_output, expected=case.output, mode=self.check)
        sandbox = await self._ready_sandbox()
        outcome = await sandbox.run(compiled.binary, case.input, limits, judge=judge)
        verdict = classify(outcome, limits)
        score = 0.0
        if verdict is None:
            assert outcome.accuracy is not None
            score = outcome.accuracy
            verdict = Verdict.AC if score == 1.0 else Verdict.WA
        result = TestResult(
            index=case.index,
            verdict=verdict,
            accuracy=score,
            cpu_seconds=outcome.cpu_seconds,
            wall_seconds=outcome.wall_seconds,
            max_rss_kib=outcome.max_rss_kib,
            exit_code=outcome.exit_code,
            signal=outcome.signal,
            stderr=outcome.stderr.decode("utf-8", errors="replace"),
            reason=outcome.reason,
        )
        if not _depends_on_load(outcome.wall_exceeded, result):
            await self._store.put_json(
                "runs", key, compiled.binary_sha256, result.to_json(full=True)
            )
        return result

    async def stream(
        self, submissions: Iterable[Submission | tuple[Source, str]]
    ) -> AsyncIterator[Evaluation]:
        """Evaluate many submissions; yields each result as soon as it is ready.

        At most ``2 * concurrency`` programs are in flight, so memory stays bounded however long
        the input.  Whatever goes wrong with one submission is its own result and the rest of
        the batch goes on: bad input (unreadable source, missing tests) and a failure of the
        host (sandbox, disk; ``Evaluation.infrastructure``) yield an ``IE`` evaluation whose
        ``error`` says what happened, and so does any other error raised while handling it.
        """
        send, receive = anyio.create_memory_object_stream[Evaluation](self.concurrency)
        in_flight = anyio.Semaphore(2 * self.concurrency)

        async def one(item: Submission) -> None:
            try:
                result = await self.evaluate(
                    item.source,
                    item.tests,
                    problem_id=item.problem_id,
                    indices=item.indices,
                    label=item.label,
                )
            except Exception as error:  # one submission's failure is its own result
                result = failure_of(error, item.label)
            finally:
                in_flight.release()
            await send.send(result)

        async def feed() -> None:
            async with send, anyio.create_task_group() as group:
                for raw in submissions:
                    item = _as_submission(raw)
                    await in_flight.acquire()
                    group.start_soon(one, item)

        async with anyio.create_task_group() as group:
            group.start_soon(feed)
            async with receive:
                async for result in receive:
                    yield result


def failure_of(error: Exception, label: str | None) -> Evaluation:
    """The IE result of a submission whose evaluation raised ``error``."""
    if isinstance(error, InputError):
        return Evaluation.failed(str(error), label)
    if isinstance(error, (SandboxError, CompilerError, OSError)):
        reason = f"infrastructure failure: {type(error).__name__}: {error}"
        return Evaluation.failed(reason, label, infrastructure=True)
    return Evaluation.failed(
        f"internal error while evaluating this submission: {type(error).__name__}: {error}", label
    )


async def evaluate(source: Source, tests: Tests | None = None, **options: Any) -> Evaluation:
    """Evaluate one program.  ``options`` are ``Evaluator``'s keyword arguments."""
    per_call = {k: options.pop(k) for k in ("problem_id", "indices", "label") if k in options}
    async with Evaluator(**options) as evaluator:
        return await evaluator.evaluate(source, tests, **per_call)


async def evaluate_many(
    submissions: Iterable[Submission | tuple[Source, str]],
    tests: str | os.PathLike[str] | None = None,
    **options: Any,
) -> list[Evaluation]:
    """Evaluate a batch with bounded concurrency; results in the order of ``submissions``."""
    items = [_as_submission(s) for s in submissions]
    # results come back in completion order: key them by position, whatever the labels are
    by_position = [attrs.evolve(s, label=str(i)) for i, s in enumerate(items)]
    results: dict[str, Evaluation] = {}
    async with Evaluator(tests_root=tests, **options) as evaluator:
        async for result in evaluator.stream(by_position):
            assert result.label is not None
            results[result.label] = result
    return [attrs.evolve(results[str(i)], label=s.label) for i, s in enumerate(items)]


def evaluate_sync(source: Source, tests: Tests | None = None, **options: Any) -> Evaluation:
    """Blocking ``evaluate`` for scripts and notebooks.

    Inside a running event loop (a Jupyter cell) the evaluation runs on a loop of its own in a
    worker thread, since a thread cannot start a second loop beside the one it runs."""
    if not _loop_running():
        return anyio.run(lambda: evaluate(source, tests, **options))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pie-sync") as pool:
        return pool.submit(anyio.run, lambda: evaluate(source, tests, **options)).result()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        return trio is not None and bool(trio.lowlevel.in_trio_run())
    return True
