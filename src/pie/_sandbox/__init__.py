"""Running untrusted binaries: limits, namespaces, Landlock, seccomp, cgroups, cleanup.

``Sandbox`` is the whole seam: the compiler and the timing backends ask it to ``compile``,
``run`` or ``profile``; slots, launch requests and cgroups stay inside this package.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import attrs

from pie._binary import elf_interpreter, refusal
from pie._errors import SandboxError
from pie._files import write_atomically
from pie._hashing import key_of
from pie._model import MIB, Limits
from pie._sandbox import _host, _launcher, _policy
from pie._sandbox._host import HostCapabilities
from pie._sandbox._request import LaunchRequest, Profile
from pie._sandbox._run import (
    OutputJudge,
    RunOutcome,
    classify,
    how_it_ended,
    judge_output,
    outcome_from_report,
    read_capped,
    run_paths,
)
from pie._sandbox._server import LauncherServer
from pie._sandbox._slots import BatchFiles, EmulationFiles, Slot, SlotPool

if TYPE_CHECKING:
    from pie._timing._qemu import Emulation

__all__ = [
    "CompileSpec",
    "HostCapabilities",
    "OutputJudge",
    "RunOutcome",
    "Sandbox",
    "classify",
    "how_it_ended",
    "recorded_summary",
]

# Without a memory cgroup the resident size is watched against the limit; the address space
# is capped far above it (threads reserve RLIMIT_STACK each: a 4-thread program needs 5x),
# only as a backstop against mappings no legitimate program makes.
ADDRESS_CAP_FACTOR = 16
_PROBE_TIMEOUT = 30


@attrs.frozen
class CompileSpec:
    """One compiler run: the command (compiler, flags, include folders) and its limits."""

    compiler: Path
    flags: tuple[str, ...]
    include: tuple[Path, ...] = ()
    time_limit: float = 30.0
    memory_bytes: int = 2048 * MIB
    output_bytes: int = 256 * MIB
    processes: int = 64
    message_cap: int = 4096
    max_binary_bytes: int = 16 * MIB
    toolchain_root: Path | None = None  # CompileOptions.toolchain_root
    binutils: Path | None = None  # the root's as and ld wrappers (_toolchain.root_binutils)


class Sandbox:
    """Runs binaries under the policy; owns the launcher and the run slots."""

    def __init__(self, cache_dir: Path, slots: int, compiler: str = "g++") -> None:
        self.cache_dir = cache_dir
        self.compiler = compiler
        self.slots = slots
        self.launcher = _launcher.launcher_path(cache_dir, compiler)
        detected = _host.detect()
        self.host = self._probe(detected)
        _record_summary(self.launcher, self.host.summary)
        self._pool = SlotPool(slots, self.host, detected.cgroups.driver)
        self._server = LauncherServer(self.launcher)

    @property
    def _needs_pid_namespace(self) -> bool:
        """Tests and profiles run under a policy that forbids creating processes (seccomp
        refuses fork, vfork, clone3 and clone without CLONE_THREAD), so the program is the whole
        tree and killing it cleans up; a PID namespace and its init would only add cost.  The
        compiler, which must fork, always gets one."""
        return not self.host.seccomp

    def serve_in(self, group: anyio.abc.TaskGroup) -> None:
        """``group`` hosts the task reading the launcher server's replies; the server itself
        starts with the first run."""
        self._server.serve_in(group)

    # ---- what the launcher can do here, asked once ---------------------------------------

    def _launch_once(self, request: LaunchRequest) -> dict[str, Any]:
        done = subprocess.run(
            [str(self.launcher), *request.to_args()],
            capture_output=True,
            check=False,
            timeout=_PROBE_TIMEOUT,
        )
        try:
            report: dict[str, Any] = json.loads(done.stdout.decode("utf-8", "surrogateescape"))
        except ValueError:
            raise SandboxError(
                f"the sandbox launcher {self.launcher} failed its start-up probe (exit "
                f"{done.returncode}): {done.stderr.decode(errors='replace')[-500:]}; remove it "
                "to have it rebuilt"
            ) from None
        return report

    def _probe(self, detected: HostCapabilities) -> HostCapabilities:
        # the launcher reports which namespace it managed to create
        isolation = self._launch_once(
            _probe_request(
                Profile.COMPILE, ["/bin/true"], read=(), execute=("/bin", "/usr", "/lib")
            )
        )
        with tempfile.TemporaryDirectory(prefix="pie-probe-") as tmp:
            tests = Path(tmp) / "tests"
            tests.mkdir()
            (tests / "input.0.txt").write_text("probe\n")
            # the launcher itself, asked to make a call the run profile refuses
            refused = self._launch_once(
                _probe_request(
                    Profile.RUN,
                    [str(self.launcher), "--make-refused-call"],
                    read=_policy.RUN_READ_PATHS,
                    execute=(str(self.launcher),),
                    stdin=str(tests / "input.0.txt"),
                    hide=(str(tests),),
                )
            )
        return attrs.evolve(
            detected,
            pid_namespace=isolation.get("isolation", "none") != "none",
            hide_tests=bool(refused.get("hidden")),
            stdin_copy=bool(refused.get("stdin_copied")),
            name_syscalls=refused.get("refused_syscall", -1) >= 0,
        )

    # ---- requests ------------------------------------------------------------------------

    def _limited(
        self, profile: Profile, program: Sequence[str], slot: Slot, limits: Limits, **fields: Any
    ) -> LaunchRequest:
        """A request with the limits every test-run profile shares."""
        memory = limits.memory_bytes
        by_rss = not self.host.cgroup_memory
        return LaunchRequest(
            profile=profile,
            program=tuple(program),
            time_limit_ms=_ms(limits.time_limit),
            wall_limit_ms=_ms(limits.wall_limit),
            memory_bytes=memory,
            memory_by_rss=by_rss,
            address_bytes=memory * ADDRESS_CAP_FACTOR if by_rss else 0,
            stack_bytes=memory,
            output_bytes=limits.output_bytes,
            pid_namespace=self._needs_pid_namespace,
            **_slot_fields(slot, limits.processes),
            **fields,
        )

    async def _execute(self, request: LaunchRequest, slot: Slot, output_cap: int) -> RunOutcome:
        report = await self._server.run(request.to_args(), request.wall_limit_ms / 1000)
        return outcome_from_report(report, slot, output_cap)

    # ---- the seam ------------------------------------------------------------------------

    async def run(
        self,
        binary: Path,
        stdin: Path,
        limits: Limits,
        *,
        pin: bool = False,
        judge: OutputJudge | None = None,
    ) -> RunOutcome:
        """Run ``binary`` once with ``stdin``; returns what happened (never raises for it).

        ``pin`` keeps the program on one CPU (the last one we may use), for wall timing.
        ``judge`` scores the output (``RunOutcome.accuracy``) when the run itself decided no
        verdict; it reads the output in place, in a worker thread, while the slot is ours."""
        paths = run_paths(binary, _interpreter(binary))
        async with self._pool.acquire() as slot:
            request = self._limited(
                Profile.RUN,
                [str(binary)],
                slot,
                limits,
                stdin=str(stdin),
                cwd=str(slot.box),
                read=paths["read"],
                execute=paths["execute"],
                write=paths["write"],
                hide=_hideable(stdin.parent, [binary, slot.root, *map(Path, paths["read"])]),
                pin_cpu=max(os.sched_getaffinity(0)) if pin else None,
            )
            outcome = await self._execute(request, slot, limits.output_bytes)
            if judge is None or classify(outcome, limits) is not None:
                return outcome
            score = await anyio.to_thread.run_sync(
                judge_output, slot.stdout, limits.output_bytes, judge
            )
            return attrs.evolve(outcome, accuracy=score)

    def _emulated(
        self, emulation: Emulation, slot: Slot, limits: Limits, files: EmulationFiles, **fields: Any
    ) -> LaunchRequest:
        """A qemu run's request: the qemu profile, qemu's own stack (the guest's follows -s)
        and address space for its translation cache and the guest stack."""
        request = self._limited(
            Profile.QEMU,
            [str(emulation.qemu), *fields.pop("arguments")],
            slot,
            limits,
            cwd=str(files.program.parent),
            execute=run_paths(emulation.qemu, _interpreter(emulation.qemu))["execute"],
            **fields,
        )
        extra = QEMU_ADDRESS_EXTRA_BYTES if request.address_bytes else 0
        return attrs.evolve(
            request,
            stack_bytes=emulation.stack_bytes,
            address_bytes=request.address_bytes + extra,
        )

    async def emulate(
        self, binary: Path, stdin: Path, limits: Limits, emulation: Emulation, judge: OutputJudge
    ) -> tuple[RunOutcome, bytes | str]:
        """Run ``binary`` under qemu-user with pie's plugin; returns the outcome and the report
        (or why it could not be read).

        The binary runs as ``a.out`` from a fixed directory with an empty environment (qemu
        adds nothing), so its argv, auxv and stack layout, and therefore every count, do not
        depend on where the cache or the slot lives.  The report is read back as an untrusted
        file: regular, not a link, bounded; ``judge`` scores the output (``accuracy``).
        """
        async with self._pool.acquire() as slot:
            files = await anyio.to_thread.run_sync(slot.prepare_emulation, binary, emulation.plugin)
            request = self._emulated(
                emulation,
                slot,
                limits,
                files,
                arguments=emulation.arguments(files.plugin, files.report),
                stdin=str(stdin),
                read=[*_policy.QEMU_READ_PATHS, str(files.program), str(files.plugin)],
                write=[*_policy.RUN_WRITE_PATHS, str(files.report)],
                hide=_hideable(stdin.parent, [emulation.qemu, slot.root]),
            )
            outcome = await self._execute(request, slot, limits.output_bytes)
            report = await anyio.to_thread.run_sync(read_report, files.report)
            score = await anyio.to_thread.run_sync(
                judge_output, slot.stdout, limits.output_bytes, judge
            )
            return attrs.evolve(outcome, accuracy=score), report

    async def emulate_batch(
        self,
        binary: Path,
        inputs: Sequence[Path],
        limits: Limits,
        emulation: Emulation,
        judges: Sequence[OutputJudge],
    ) -> list[tuple[RunOutcome, bytes | str]] | str:
        """Run ``binary`` once under qemu with the plugin as a fork server: the start-up once,
        then one child per input (``emulation.secrets`` in order).  Returns per input its
        outcome and report, or why the program could not be forked (then run it per input)."""
        async with self._pool.acquire() as slot:
            batch = await anyio.to_thread.run_sync(
                slot.prepare_batch, binary, emulation.plugin, inputs
            )
            files = batch.single
            wall_limit_ms = _ms(limits.wall_limit)
            plan = [f"status\t{batch.status}"]
            for given, out, report, secret in zip(
                batch.inputs, batch.outputs, batch.reports, emulation.secrets, strict=True
            ):
                plan.append(f"{given}\t{out}\t{report}\t{secret}\t{wall_limit_ms}")
            await anyio.Path(batch.plan).write_text("\n".join(plan) + "\n")
            os.chmod(batch.plan, 0o600)
            request = self._emulated(
                emulation,
                slot,
                limits,
                files,
                arguments=emulation.batch_arguments(files.plugin),
                stdin=str(batch.plan),
                read=[
                    *_policy.QEMU_READ_PATHS,
                    str(files.program),
                    str(files.plugin),
                    *map(str, batch.inputs),
                ],
                write=[
                    *_policy.RUN_WRITE_PATHS,
                    str(batch.status),
                    *map(str, batch.outputs),
                    *map(str, batch.reports),
                ],
                hide=_hideable(inputs[0].parent, [emulation.qemu, slot.root]),
            )
            # every test's wall limit in turn, and one more for the shared start-up
            request = attrs.evolve(request, wall_limit_ms=wall_limit_ms * (len(inputs) + 1))
            whole = await self._execute(request, slot, limits.output_bytes)
            return await anyio.to_thread.run_sync(batch_outcomes, whole, batch, limits, judges)

    async def compile(
        self, source: bytes, spec: CompileSpec, output: Path
    ) -> tuple[RunOutcome, str | None]:
        """Compile ``source`` with ``spec`` in a slot of its own; when the compiler produced a
        binary it is copied to ``output`` (the slot is reused once this returns), unless it is
        refused (too large, a foreign ELF interpreter): then the reason comes back instead."""
        async with self._pool.acquire() as slot:
            build = await anyio.to_thread.run_sync(slot.reset_build)
            await anyio.Path(build / "main.cpp").write_bytes(source)
            include = [arg for folder in spec.include for arg in ("-I", str(folder))]
            tools = ["-B", f"{spec.binutils}/"] if spec.binutils else []
            program = [str(spec.compiler), *spec.flags, *tools, *include, "main.cpp", "-o", "main"]
            read, execute = [*_policy.COMPILE_READ_PATHS], [*_policy.COMPILE_EXEC_PATHS]
            if spec.toolchain_root is not None:
                root_read, root_execute = await anyio.to_thread.run_sync(
                    _policy.toolchain_root_paths, spec.toolchain_root
                )
                read, execute = [*read, *root_read], [*execute, *root_execute]
            if spec.binutils is not None:
                execute.append(str(spec.binutils))
            memory = spec.memory_bytes
            by_rss = not self.host.cgroup_memory
            request = LaunchRequest(
                profile=Profile.COMPILE,
                program=tuple(program),
                time_limit_ms=_ms(spec.time_limit),
                # the runs' formula
                wall_limit_ms=_ms(Limits(time_limit=spec.time_limit).wall_limit),
                memory_bytes=memory,
                memory_by_rss=by_rss,
                address_bytes=memory * ADDRESS_CAP_FACTOR if by_rss else 0,
                stack_bytes=memory,
                output_bytes=spec.output_bytes,
                pid_namespace=True,
                **_slot_fields(slot, spec.processes),
                cwd=str(build),
                read=[*read, *map(str, spec.include)],
                execute=execute,
                write=[str(build), *_policy.COMPILE_WRITE_PATHS],
                env=["PATH=/usr/bin:/bin", f"TMPDIR={build}", "LC_ALL=C"],
            )
            outcome = await self._execute(request, slot, spec.message_cap)
            if not await anyio.Path(build).is_dir():
                # the folder went away under the compiler (another process, a full disk): what
                # the compiler said then is about the host, not the source, so no CE is kept
                raise SandboxError(
                    f"the compile's scratch folder {build} vanished during the compile"
                )
            built = build / "main"
            refused = None
            if outcome.exit_code == 0 and await anyio.Path(built).exists():
                # read in place, before a byte of it is copied: the submission chose its content
                refused = await anyio.to_thread.run_sync(refusal, built, spec.max_binary_bytes)
                if refused is None:
                    await anyio.to_thread.run_sync(shutil.copyfile, built, output)
            return outcome, refused

    @property
    def slot_uids(self) -> frozenset[int]:
        """The uids this sandbox's programs run as (empty when not root)."""
        return self._pool.uids

    @property
    def scratch(self) -> Path:
        """The folder holding this sandbox's slots."""
        return self._pool.folder

    @property
    def cgroups(self) -> tuple[Path, ...]:
        return self._pool.cgroups

    def share(self, source: Path, name: str, *, executable: bool = False) -> Path:
        """A read-only mirror of ``source`` that the sandbox uids can read (see SlotPool)."""
        return self._pool.share(source, name, executable=executable)

    def close(self) -> None:
        self._pool.close()

    async def aclose(self) -> None:
        await self._server.aclose()
        await anyio.to_thread.run_sync(self.close)


# ---- the last probe's summary, for answers that need no sandbox ---------------------------


def _summary_record(launcher: Path) -> Path:
    return launcher.with_name(f"{launcher.name}.summary.json")


def _probe_conditions(launcher: Path) -> str:
    """What the launcher's probes depend on: the launcher itself (its name is the key of its
    sources, policy and compiler), this boot of the kernel, who we are and the mounts we
    see (cgroup and /dev/shm among them), and the user-namespace switches."""
    parts = [str(launcher), str(os.getuid()), str(os.geteuid()), str(os.getgid())]
    for name in _CONDITION_FILES:
        try:
            parts.append(Path(name).read_text())
        except OSError:
            parts.append("")
    return key_of(*parts)


_CONDITION_FILES = (
    "/proc/sys/kernel/random/boot_id",
    "/proc/self/mountinfo",
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/user/max_user_namespaces",
)


def _record_summary(launcher: Path, summary: str) -> None:
    record = {"conditions": _probe_conditions(launcher), "summary": summary}
    write_atomically(_summary_record(launcher), json.dumps(record))


def recorded_summary(cache_dir: Path, compiler: str = "g++") -> str | None:
    """``Sandbox(cache_dir, ..., compiler).host.summary`` without probing, when a sandbox
    probed it under the same conditions (``_probe_conditions``); ``None`` when none did.
    Only for describing answers served from the cache: runs always use a fresh probe."""
    launcher = _launcher.launcher_path(cache_dir, compiler)
    try:
        record = json.loads(_summary_record(launcher).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("conditions") != _probe_conditions(launcher):
        return None
    summary = record.get("summary")
    return summary if isinstance(summary, str) else None


def _ms(seconds: float) -> int:
    return -(-int(seconds * 1_000_000) // 1000)  # ceiling, without float surprises


def _slot_fields(slot: Slot, processes: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "stdout": str(slot.stdout),
        "stderr": str(slot.stderr),
        "cgroups": tuple(map(str, slot.cgroups)),
        "processes": processes,
    }
    if slot.uid is not None:
        # RLIMIT_NPROC counts every process of the uid, so it only fits a uid of our own.
        fields |= {"uid": slot.uid, "gid": slot.uid}
    return fields


# qemu-user maps a 1 GiB translation buffer and the guest stack outside the guest's heap.
QEMU_ADDRESS_EXTRA_BYTES = 2 << 30
# A timing report is one short line; anything longer is not the plugin's.
REPORT_LIMIT = 4096
_STATUS_LIMIT = 1 << 20


def read_report(path: Path, limit: int = REPORT_LIMIT) -> bytes | str:
    """At most ``limit`` + 1 bytes of a file a hostile program could have touched, or why
    not (a link, a FIFO, a directory in its place): a refusal of the run, never a hang."""
    try:
        data, _ = read_capped(path, limit + 1)
    except SandboxError as error:
        return f"the timing report is unusable ({error})"
    return data


def batch_outcomes(
    whole: RunOutcome, files: BatchFiles, limits: Limits, judges: Sequence[OutputJudge]
) -> list[tuple[RunOutcome, bytes | str]] | str:
    """Each test's outcome from the fork server's status lines (one per child, in order, after
    a ``forked at`` line), its output and its report.  Only the server writes the status file
    (each child's Landlock layer leaves it out); a line that does not parse is a failed test."""
    status = read_report(files.status, _STATUS_LIMIT)
    if isinstance(status, str):
        return status
    lines = status.decode("ascii", errors="replace").splitlines()
    children = lines[1:] if lines and lines[0].startswith("forked at") else []
    results: list[tuple[RunOutcome, bytes | str]] = []
    for k, (out, report) in enumerate(zip(files.outputs, files.reports, strict=True)):
        fields = _status_fields(children[k]) if k < len(children) else {}
        try:
            score = judge_output(out, limits.output_bytes, judges[k])
            _, size = read_capped(out, 0)
        except SandboxError:  # not a regular file any more: nothing to judge
            score, size = 0.0, 0
        exit_code, signal_number = _child_status(fields.get("status"))
        outcome = attrs.evolve(
            whole,
            exit_code=exit_code,
            signal=signal_number,
            cpu_seconds=fields.get("cpu_us", 0) / 1e6,
            max_rss_kib=fields.get("maxrss_kib", 0),
            wall_exceeded=fields.get("wall_exceeded") == 1 or "status" not in fields,
            stdout_size=size,
            stderr=b"",
            stderr_size=0,
            accuracy=score,
        )
        results.append((outcome, read_report(report)))
    return results


def _status_fields(line: str) -> dict[str, int]:
    pairs = (item.partition("=")[::2] for item in line.split())
    return {key: int(value) for key, value in pairs if value.isdigit()}


def _child_status(status: int | None) -> tuple[int | None, int | None]:
    """(exit code, signal) from a child's wait status; no status is a killed child."""
    if status is None:
        return None, int(signal.SIGKILL)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    return None, os.WTERMSIG(status)


def _hideable(folder: Path, needed: Sequence[Path]) -> tuple[str, ...]:
    """``folder`` (the test folder) unless hiding it would hide something the run needs."""
    folder = folder.resolve()
    for path in needed:
        if path.resolve().is_relative_to(folder):
            return ()
    return (str(folder),)


def _probe_request(
    profile: Profile,
    program: list[str],
    *,
    read: Sequence[str],
    execute: Sequence[str],
    stdin: str = "/dev/null",
    hide: Sequence[str] = (),
) -> LaunchRequest:
    return LaunchRequest(
        profile=profile,
        program=tuple(program),
        time_limit_ms=5000,
        wall_limit_ms=10000,
        memory_bytes=256 * MIB,
        stack_bytes=8 * MIB,
        output_bytes=MIB,
        stdin=stdin,
        read=tuple(read),
        execute=tuple(execute),
        write=_policy.RUN_WRITE_PATHS,
        hide=tuple(hide),
    )


@functools.lru_cache(maxsize=4096)
def _interpreter(binary: Path) -> Path | None:
    return elf_interpreter(binary)
