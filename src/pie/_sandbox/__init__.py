"""Running untrusted binaries: limits, namespaces, Landlock, seccomp, cgroups, cleanup."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs

from pie._errors import SandboxError
from pie._model import Limits
from pie._sandbox import _host, _launcher, _policy
from pie._sandbox._host import HostCapabilities
from pie._sandbox._run import (
    RunOutcome,
    classify,
    launcher_args,
    outcome_from_report,
    run_paths,
)
from pie._sandbox._server import LauncherServer
from pie._sandbox._slots import Slot, SlotPool
from pie._toolchain import elf_interpreter

__all__ = ["HostCapabilities", "RunOutcome", "Sandbox", "Slot", "classify"]


class Sandbox:
    """Runs binaries under the policy; owns the launcher and the run slots."""

    def __init__(self, cache_dir: Path, slots: int, compiler: str = "g++") -> None:
        self.launcher = _launcher.launcher_path(cache_dir, compiler)
        detected = _host.detect()
        self.host = self._probe_isolation(detected)
        self.pool = SlotPool(slots, self.host)
        self._server = LauncherServer(self.launcher)

    @property
    def _needs_pid_namespace(self) -> bool:
        """Tests and profiles run under a policy that forbids creating processes (seccomp
        refuses fork, vfork, clone3 and clone without CLONE_THREAD), so the program is the whole
        tree and killing it cleans up; a PID namespace and its init would only add cost.  The
        compiler, which must fork, always gets one."""
        return not self.host.seccomp

    async def start(self, group: anyio.abc.TaskGroup) -> None:
        """Start the launcher server; ``group`` hosts the task reading its replies."""
        await self._server.start(group)

    async def execute(
        self, args: list[str], slot: Slot, output_cap: int, wall_seconds: float
    ) -> RunOutcome:
        """Run one launcher request in ``slot`` and collect the outcome."""
        report = await self._server.run(args, wall_seconds)
        return outcome_from_report(report, slot, output_cap)

    def _probe_isolation(self, detected: HostCapabilities) -> HostCapabilities:
        # The launcher reports which namespace it managed to create; ask it once.
        done = subprocess.run(
            [str(self.launcher), "--profile", "compile", "--", "/bin/true"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        isolation = json.loads(done.stdout).get("isolation", "none")
        return attrs.evolve(detected, pid_namespace=isolation != "none")

    def _limit_args(self, limits: Limits) -> dict[str, Any]:
        """The launcher options every test-run profile shares."""
        return {
            "cpu_seconds": limits.time,
            "wall_seconds": limits.wall,
            "memory_bytes": limits.memory_bytes,
            "output_bytes": limits.output_bytes,
            "processes": limits.processes,
            "use_address_limit": self.host.cgroup_memory is None,
            "pid_namespace": self._needs_pid_namespace,
        }

    async def run(
        self, binary: Path, stdin: Path, limits: Limits, *, pin: bool = False
    ) -> RunOutcome:
        """Run ``binary`` once with ``stdin``; returns what happened (never raises for it).

        ``pin`` keeps the program on one CPU (the last one we may use), for wall timing."""
        paths = run_paths(binary, _interpreter(binary))
        async with self.pool.acquire() as slot:
            args = launcher_args(
                profile="run",
                program=[str(binary)],
                slot=slot,
                **self._limit_args(limits),
                stdin=stdin,
                cwd=slot.box,
                read=paths["read"],
                execute=paths["execute"],
                write=paths["write"],
                pin_cpu=max(os.sched_getaffinity(0)) if pin else None,
            )
            return await self.execute(args, slot, limits.output_bytes, limits.wall)

    async def profile(
        self, binary: Path, stdin: Path, limits: Limits, tool_args: list[str]
    ) -> tuple[RunOutcome, str]:
        """Run ``binary`` under valgrind (``tool_args`` choose the tool); returns its profile.

        The binary runs as ``./a.out`` from a fixed directory with an empty environment, so
        its argv, auxv and stack layout, and therefore every count, do not depend on where the
        cache lives.
        """
        valgrind = shutil.which("valgrind.bin") or shutil.which("valgrind")
        if valgrind is None:
            raise SandboxError(
                "valgrind not found: the cachegrind timing backend needs it "
                "(Debian: apt-get install valgrind), or choose timing='none'"
            )
        async with self.pool.acquire() as slot:
            work, program, report = await anyio.to_thread.run_sync(slot.prepare_profile, binary)
            paths = run_paths(program, _interpreter(binary))
            args = launcher_args(
                profile="valgrind",
                program=[valgrind, *tool_args, f"--callgrind-out-file={report}", "./a.out"],
                slot=slot,
                **self._limit_args(limits),
                stdin=stdin,
                cwd=program.parent,
                read=[*_policy.VALGRIND_READ_PATHS],
                execute=[*paths["execute"], valgrind, *_policy.VALGRIND_EXEC_PATHS],
                write=[*paths["write"], str(work), str(report)],
                env=[f"TMPDIR={work}"],
            )
            outcome = await self.execute(args, slot, limits.output_bytes, limits.wall)
            return outcome, await anyio.Path(report).read_text(errors="replace")

    def close(self) -> None:
        self.pool.close()

    async def aclose(self) -> None:
        await self._server.aclose()
        await anyio.to_thread.run_sync(self.close)


@functools.lru_cache(maxsize=4096)
def _interpreter(binary: Path) -> Path | None:
    return elf_interpreter(binary)
