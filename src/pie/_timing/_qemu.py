"""The ``qemu`` backend: exact counts of an untrusted program, the same on every host.

Each test runs the program under qemu-user (``qemu-x86_64``, TCG) inside pie's sandbox, with
pie's TCG plugin (``plugin.c``) counting instructions, loads, stores, L1I/L1D and last-level
cache misses (the cache geometry of PIE's gem5 Skylake configuration), conditional branches and
their mispredictions, and the start-up instructions.  The guest sees one fixed CPU (the feature
set of gem5 v20.1's x86 model, as near as qemu offers it), an empty environment, a fixed argv,
cwd, stack size and random seed, so every count is a function of the binary and the input only.

Nothing the program does lowers its number: its memory never holds the counters, the report is
written by the plugin at exit, carries a per-run secret and replaces whatever was in the file;
a timed run whose output is wrong, that exits badly, or that reaches for exec, fork, SysV IPC
or tracing is refused with the reason.  valgrind's client requests are ordinary instructions.
"""

from __future__ import annotations

import functools
import math
import secrets
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import anyio
import attrs

from pie._cache import ResultCache
from pie._check import CheckMode, check_output
from pie._data import input_digest
from pie._errors import InputError
from pie._hashing import key_of
from pie._model import MIB, Limits, Measure, TestCase, Timing
from pie._sandbox import OutputJudge, RunOutcome, Sandbox, classify, how_it_ended
from pie._timing._counted import first_failure, scaled_limits, startup_share
from pie._timing._cycles import QEMU_MODEL, CycleModel
from pie._timing._plugin import Emulator, emulator

if TYPE_CHECKING:
    from pie._timing import BackendContext

# gem5 v20.1's x86 CPUID (src/arch/x86/cpuid.cc): max leaf 7; leaf 1 EAX 0x00020f51 (family 15,
# model 0x25, stepping 1), ECX 0x209 (SSE3, MONITOR, SSSE3), EDX 0xe7dbfbff (x87 ... SSE2, no
# HTT); leaf 7 EBX 0x01800000 (CLFLUSHOPT, CLWB): no SSE4, POPCNT, AVX, AVX2, BMI, ERMS;
# 0x80000001 ECX 1 (LAHF), EDX with SYSCALL, NX, LM; 0x80000008 48-bit addresses.  qemu64 with
# these switches gives the same leaves but for: the vendor (GenuineIntel instead of
# "M5 Simulator", which glibc >= 2.33 refuses to start on: "CPU ISA level is lower than
# required"), leaf 1 EDX bits TCG cannot offer (VME, TM, IA64, PBE, bit 20), leaf 1 EBX's brand
# index, the AMD-only bits of 0x80000001 EDX (3DNow!, MMXEXT; qemu hides them from an Intel
# vendor) and leaves 2-6 (qemu's cache descriptors where gem5 returns zeros; glibc reads them
# only for its memcpy non-temporal threshold).  README "Timing" lists the same.
CPU_MODEL = ",".join(
    [
        "qemu64",
        "vendor=GenuineIntel",
        "model-id=Fake M5 x86_64 CPU",
        "family=15",
        "model=37",
        "stepping=1",
        "level=7",
        "xlevel=0x80000008",
        "phys-bits=48",
        "-hypervisor",
        "-cx16",
        "-svm",
        "+ssse3",
        "+monitor",
        "+acpi",
        "+clflushopt",
        "+clwb",
    ]
)
# Why a program that passed natively dies of SIGILL under qemu
ILLEGAL_UNDER_MODEL = (
    "an instruction the fixed CPU model lacks: it has gem5's x86 features, up to SSSE3, no "
    "SSE4, POPCNT or AVX, which PIE's gem5 does not run faithfully either; compile without "
    "-march=native or such instructions"
)
# What the program sees of itself: argv[0] and the path qemu loads it from, relative to the
# timing folder (the folder's own path never reaches the guest).
PROGRAM = "./a.out"
# The guest stack qemu maps (without -s it would follow RLIMIT_STACK, i.e. the memory limit,
# and move everything below it).
GUEST_STACK_MIB = 256
_REPORT_TAG = "pie-qemu"
_COUNT_FIELDS = (
    "instructions",
    "loads",
    "stores",
    "l1i_misses",
    "l1d_misses",
    "ll_misses",
    "branches",
    "mispredicts",
    "startup_instructions",
)


@attrs.frozen
class Counts:
    """What one run counted (the cached, weight-free part).

    ``instructions_in_main`` is everything but the start-up: the main thread's instructions
    from the first instruction of the program's own code (its static initialisers, ``main``,
    its exit handlers); a second thread is refused.  The start-up is the
    loader, libc and the shared libraries' initialisers before that."""

    instructions: int
    loads: int
    stores: int
    l1i_misses: int
    l1d_misses: int
    ll_misses: int
    branches: int
    mispredicts: int
    instructions_in_main: int

    @property
    def l1_misses(self) -> int:
        return self.l1i_misses + self.l1d_misses

    @property
    def startup_instructions(self) -> int:
        return self.instructions - self.instructions_in_main

    def events(self) -> dict[str, float]:
        """The counts a cycle model reads, by event name."""
        return {
            "instructions": self.instructions,
            "l1_misses": self.l1_misses,
            "ll_misses": self.ll_misses,
            "mispredicts": self.mispredicts,
        }


@attrs.frozen
class QemuConfig:
    """The ``qemu`` backend's settings.  Runs get ``time_factor`` times the CPU limit (qemu
    with the plugin runs compute-bound code some 10-40 times slower than the CPU) and
    ``memory_extra_mib`` for qemu's own translation cache; the instruction budget (20 G per
    test by default, far past what gem5 simulates in PIE's 120 s) is part of the timing's
    configuration.  ``model`` turns the counts into the primary quantity, cycles; a model
    fitted on other counts (another plugin, CPU model or layout) is refused."""

    backend: ClassVar[str] = "qemu"

    model: CycleModel = QEMU_MODEL
    # simulate the start-up once per binary and fork per test (counts identical to a fresh
    # process per test: see plugin.c); off runs one qemu process per test
    fork_server: bool = True
    time_factor: float = 50.0
    memory_extra_mib: int = 512
    instruction_budget: int | None = 20_000_000_000

    def key(self) -> str:
        """This configuration's part of the timing's config (the emulator adds its own)."""
        cpu = key_of(CPU_MODEL, PROGRAM, str(GUEST_STACK_MIB))[:12]
        model = self.model.key
        return f"qemu-v1;cpu={cpu};model={model};budget={self.instruction_budget}"


def simulation_key(emulator: Emulator) -> str:
    """What decides the counts (the cache key); the cycle model only reads them."""
    return key_of("qemu-v1", emulator.identity(), CPU_MODEL, PROGRAM, str(GUEST_STACK_MIB))


def counts_key(emulator: Emulator) -> str:
    """What a cycle model's costs were fitted on: the mechanism, its CPU model and layout,
    and the plugin's source (not the host's qemu build, which must count alike)."""
    cpu = key_of(CPU_MODEL, PROGRAM, str(GUEST_STACK_MIB))[:12]
    return f"qemu qemu-v1;cpu={cpu};plugin={emulator.plugin_key}"


@attrs.frozen
class Emulation:
    """One timing run's qemu command line: the emulator, its plugin and the run's secret."""

    emulator: Emulator
    count: int = 1  # tests served by one fork server, each with its own secret
    secrets: tuple[str, ...] = attrs.field()

    @secrets.default
    def _draw(self) -> tuple[str, ...]:
        return tuple(secrets.token_hex(16) for _ in range(self.count))

    @property
    def secret(self) -> str:
        return self.secrets[0]

    @property
    def qemu(self) -> Path:
        return self.emulator.qemu

    @property
    def plugin(self) -> Path:
        return self.emulator.plugin

    @property
    def stack_bytes(self) -> int:
        return GUEST_STACK_MIB * MIB

    def arguments(self, plugin: Path, report: Path) -> list[str]:
        return [*self._common(), "-plugin", f"{plugin},key={self.secret},out={report}", PROGRAM]

    def batch_arguments(self, plugin: Path) -> list[str]:
        """The fork server: its plan (tests, files, secrets) arrives on stdin."""
        return [*self._common(), "-plugin", f"{plugin},plan=stdin", PROGRAM]

    def _common(self) -> list[str]:
        return [
            "-L", "/",  # no interpreter prefix: the guest loads the host's libraries as is
            "-cpu", CPU_MODEL,
            "-s", str(self.stack_bytes),
            "-seed", "0",  # AT_RANDOM and qemu's own randomness
            "-0", PROGRAM,
        ]  # fmt: skip


def parse_report(report: bytes, secret: str) -> Counts | str:
    """The plugin's one line, or why there is none.  A line without the run's secret, or
    anything beside the line, is the program's doing."""
    lines = report.split(b"\n")
    if len(lines) != 2 or lines[1] != b"":
        return "no timing report from the plugin (the run did not end through exit)"
    fields = lines[0].decode("ascii", errors="replace").split(" ")
    if len(fields) < 3 or fields[0] != _REPORT_TAG or fields[1] != secret:
        return "the timing report is not the plugin's (the program wrote into it)"
    if fields[2] == "refused":
        return "refused: the program called " + " ".join(fields[3:])
    values = dict(item.partition("=")[::2] for item in fields[3:])
    if fields[2] != "counts" or set(values) != set(_COUNT_FIELDS):
        return "the timing report is malformed"
    if not all(value.isdigit() for value in values.values()):
        return "the timing report is malformed"
    numbers = {name: int(value) for name, value in values.items()}
    return Counts(
        instructions=numbers["instructions"],
        loads=numbers["loads"],
        stores=numbers["stores"],
        l1i_misses=numbers["l1i_misses"],
        l1d_misses=numbers["l1d_misses"],
        ll_misses=numbers["ll_misses"],
        branches=numbers["branches"],
        mispredicts=numbers["mispredicts"],
        instructions_in_main=numbers["instructions"] - numbers["startup_instructions"],
    )


class QemuBackend:
    name = "qemu"
    unit = "cycles"

    def __init__(
        self,
        sandbox: Sandbox,
        store: ResultCache,
        config: QemuConfig | None = None,
        *,
        check: CheckMode,
    ) -> None:
        self._sandbox = sandbox
        self._store = store
        self.check = check  # the tests' checker, which judges the timed runs' output too
        self.config = config or QemuConfig()
        self.emulator = emulator(sandbox.cache_dir, sandbox.compiler)
        fitted_on = counts_key(self.emulator)
        if self.config.model.counts != fitted_on:
            raise InputError(
                f"cycle model {self.config.model.key} was fitted on counts of "
                f"{self.config.model.counts!r}, not on this emulator's {fitted_on!r}; refit it "
                "with bench/calibrate.py --timing qemu"
            )
        self._config_key = f"{self.config.key()};{self.emulator.identity()}"

    async def measure(
        self,
        binary: Path,
        binary_sha256: str,
        tests: Sequence[TestCase],
        limits: Limits,
        accuracies: Sequence[float] | None = None,
    ) -> Timing | None:
        scaled = scaled_limits(limits, self.config)
        rows: list[Counts | str] = [""] * len(tests)
        hits = [False] * len(tests)
        simulation = simulation_key(self.emulator)
        floors = list(accuracies) if accuracies is not None else [1.0] * len(tests)

        keys = [key_of(binary_sha256, input_digest(case), simulation) for case in tests]
        for position, key in enumerate(keys):
            cached = await self._store.get_json("timings", key)
            if cached is not None:
                rows[position] = Counts(**cached)
                hits[position] = True
        missing = [p for p in range(len(tests)) if not hits[p]]

        async def batch(positions: list[int]) -> None:
            cases = [tests[p] for p in positions]
            counted = await self.count_many(binary, cases, scaled, [floors[p] for p in positions])
            for position, row in zip(positions, counted, strict=True):
                rows[position] = row
                if isinstance(row, Counts):  # failures are not kept: they may be the host's
                    await self._store.put_json(
                        "timings", keys[position], binary_sha256, attrs.asdict(row)
                    )

        # one fork server per slot, each serving an interleaved share of the tests
        servers = min(self._sandbox.slots, len(missing))
        async with anyio.create_task_group() as group:
            for server in range(servers):
                group.start_soon(batch, missing[server::servers])
        failure = first_failure(tests, rows, self.config.instruction_budget)
        if failure is not None:
            return self._failed(len(tests), failure)
        return self._timing([r for r in rows if isinstance(r, Counts)], cached=all(hits))

    def _timing(self, counts: list[Counts], *, cached: bool) -> Timing:
        def measure(name: str, unit: str, values: tuple[float, ...]) -> Measure:
            return Measure(name, unit, sum(values), values)

        def events(name: str, unit: str) -> Measure:
            return measure(name, unit, tuple(float(getattr(c, name)) for c in counts))

        instructions = tuple(float(c.instructions) for c in counts)
        overall_startup, startup = startup_share(counts)
        model = self.config.model
        cycles = tuple(model.cycles(c.events()) for c in counts)
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=sum(cycles),
            per_test=cycles,
            config=self._config_key,
            cached=cached,
            quantity=model.quantity(),
            measures=(
                measure("instructions", "instructions", instructions),
                Measure("startup_share", "fraction of instructions before the program's code",
                        overall_startup, startup),
                events("instructions_in_main", "instructions"),
                events("loads", "accesses"),
                events("stores", "accesses"),
                events("l1_misses", "misses"),
                events("l1i_misses", "misses"),
                events("l1d_misses", "misses"),
                events("ll_misses", "misses"),
                events("branches", "conditional branches"),
                events("mispredicts", "branches"),
            ),
        )  # fmt: skip

    async def count_many(
        self, binary: Path, cases: Sequence[TestCase], limits: Limits, floors: Sequence[float]
    ) -> list[Counts | str]:
        """Uncached counts of ``cases`` from one fork server (the start-up simulated once), or
        one fresh process per test on a host without Landlock or with ``fork_server`` off."""
        # without Landlock the children of one server could reach each other's reports
        forkable = self._sandbox.host.landlock_abi > 0
        if self.config.fork_server and forkable and len(cases) > 1:
            emulation = Emulation(self.emulator, len(cases))
            inputs = [case.input for case in cases]
            judges = [self._output_judge(case) for case in cases]
            served = await self._sandbox.emulate_batch(binary, inputs, limits, emulation, judges)
            if not isinstance(served, str):
                return [
                    await self._judge(case, outcome, report, secret, limits=limits, floor=floor)
                    for case, (outcome, report), secret, floor in zip(
                        cases, served, emulation.secrets, floors, strict=True
                    )
                ]
        return [
            await self.count(binary, case, limits, floor)
            for case, floor in zip(cases, floors, strict=True)
        ]

    async def count(
        self, binary: Path, case: TestCase, limits: Limits, floor: float = 1.0
    ) -> Counts | str:
        """One uncached timing run of ``case`` under ``limits`` (as given) in a fresh process:
        its counts, or why there are none.  The run's output must be at least ``floor``
        accurate: the accuracy of the program's ordinary run of the test."""
        emulation = Emulation(self.emulator)
        judge = self._output_judge(case)
        outcome, report = await self._sandbox.emulate(binary, case.input, limits, emulation, judge)
        return await self._judge(
            case, outcome, report, emulation.secret, limits=limits, floor=floor
        )

    def _output_judge(self, case: TestCase) -> OutputJudge:
        """The check of a timed run's output against the test's expected output, with the
        checker the tests were judged with (their accuracy is its floor)."""
        return functools.partial(check_output, expected=case.output, mode=self.check)

    async def _judge(
        self,
        case: TestCase,
        outcome: RunOutcome,
        report: bytes | str,
        secret: str,
        *,
        limits: Limits,
        floor: float,
    ) -> Counts | str:
        """The counts of one timed run, or why it is refused (refusal, failure, wrong output)."""
        counts = report if isinstance(report, str) else parse_report(report, secret)
        if isinstance(counts, str) and counts.startswith("refused"):
            return f"test {case.index}: {counts}"
        verdict = classify(outcome, limits)
        if verdict is not None:
            reason = "over the time limit" if verdict.value == "TLE" else verdict.value
            ended = how_it_ended(outcome.exit_code, outcome.signal)
            if outcome.signal == signal.SIGILL:  # it ran natively: the CPU model lacks it
                ended += f" ({ILLEGAL_UNDER_MODEL})"
            return f"test {case.index} failed under qemu ({reason}: {ended})"
        if isinstance(counts, str):
            return f"test {case.index}: {counts}"
        score = outcome.accuracy if outcome.accuracy is not None else 0.0
        if score < floor:
            return (
                f"test {case.index}: the timed run's output is wrong (accuracy {score:.3f}, "
                f"{floor:.3f} in its test run); a program must do under timing what it does "
                "in its tests"
            )
        return counts

    def _failed(self, count: int, reason: str) -> Timing:
        return Timing(
            backend=self.name,
            unit=self.unit,
            total=math.inf,
            per_test=(math.inf,) * count,
            config=self._config_key,
            error=reason,
            quantity=self.config.model.quantity(),
        )

    async def aclose(self) -> None:
        pass  # holds nothing between measurements


def make(context: BackendContext, config: QemuConfig | None) -> QemuBackend:
    return QemuBackend(context.sandbox, context.store, config, check=context.check)
