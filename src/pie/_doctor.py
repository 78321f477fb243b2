"""What this host offers the sandbox, and what is weaker than asked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import attrs
import psutil

from pie._errors import PieError
from pie._paths import default_cache_dir
from pie._public import public
from pie._sandbox import HostCapabilities, Sandbox
from pie._timing import _noise
from pie._timing._plugin import emulator, plugin_loads


@public
@attrs.frozen
class HostFact:
    """One line of ``pie doctor``: a sandbox mechanism, tool or source of timing noise, and
    its state on this host (``NO ...`` where it is missing)."""

    name: str
    state: str


def doctor(cache_dir: Path | str | None = None) -> tuple[HostFact, ...]:
    """What this host offers the sandbox and the timings, in the order a reader checks them:
    the launcher's probes, what is weaker than asked and what replaces it, the load, the wall
    clock's noise, the compiler and the emulators.  Builds the launcher in ``cache_dir`` (the
    evaluators' default) when it is not built yet."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return tuple(HostFact(name, state) for name, state in _facts(folder))


def _facts(cache_dir: Path) -> list[tuple[str, str]]:
    sandbox = Sandbox(cache_dir, slots=1)
    try:
        host = sandbox.host
        rows = [
            ("launcher", str(sandbox.launcher)),
            ("pid namespace", "yes" if host.pid_namespace else "NO"),
            ("landlock", f"ABI {host.landlock_abi}" if host.landlock_abi else "NO"),
            ("seccomp", "yes" if host.seccomp else "NO"),
            ("memory cgroup", _cgroup_row(host, host.cgroup_memory)),
            ("pids cgroup", _cgroup_row(host, host.cgroup_pids)),
            ("separate uid per slot", "yes" if host.root else "NO (not root)"),
            ("tests hidden from runs", "yes" if host.hide_tests else "NO"),
            ("stdin as anonymous copy", "yes" if host.stdin_copy else "NO"),
            ("refused calls named", "yes" if host.name_syscalls else "NO"),
            ("scratch in memory", "yes (/dev/shm)" if host.scratch_in_memory else "NO"),
            ("summary", host.summary),
        ]
        rows += [("weaker", note) for note in host.weaknesses()]
    finally:
        sandbox.close()
    rows += _host_load()
    rows += [(f"wall noise: {k}", v) for k, v in _noise.facts().items()]
    rows.append(("g++", _version("g++")))
    rows += _qemu(cache_dir)
    return rows


def _qemu(cache: Path) -> list[tuple[str, str]]:
    """The qemu timing's emulator and plugin: what its numbers' config names."""
    try:
        found = emulator(cache)
    except PieError as error:
        return [("qemu timing", f"NO: {error}")]
    failure = plugin_loads(found)
    return [
        ("qemu", f"{found.qemu_version} ({found.qemu})"),
        ("qemu plugin", f"{found.plugin_key} ({found.plugin})"),
        ("qemu plugin loads", "yes" if failure is None else f"NO: {failure}"),
    ]


def _cgroup_row(host: HostCapabilities, present: bool) -> str:
    driver = host.cgroups.driver
    if not present or driver is None:
        return "NO"
    return f"v{driver.version} ({driver.where()})"


def _host_load() -> list[tuple[str, str]]:
    """What makes timings on this host noisy or runs fail for lack of memory."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    load = ", ".join(f"{value:.2f}" for value in psutil.getloadavg())
    return [
        (
            "cpus",
            f"{psutil.cpu_count(logical=True)} logical, {psutil.cpu_count(logical=False)} physical",
        ),
        ("memory", f"{memory.available / 2**30:.1f} GiB free of {memory.total / 2**30:.1f} GiB"),
        ("swap", f"{swap.total / 2**30:.1f} GiB" if swap.total else "none"),
        ("load average", load),
    ]


def _version(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        return "not found"
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = done.stdout.splitlines()[0] if done.stdout else "unknown version"
    return f"{first} ({path})"
