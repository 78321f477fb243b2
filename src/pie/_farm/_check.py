"""Whether a gem5 farm is ready: connect to every host, check gem5, its jail and disk, and
simulate PIE's calibration program on each (``pie.check_farm``, ``pie farm check``)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio
import attrs

from pie._check import CheckMode
from pie._compile import CompileOptions
from pie._errors import CompilerError
from pie._farm._config import FarmConfig, HostConfig, load_farm
from pie._farm._hosts import (
    GUEST_DIR,
    HostError,
    HostIdentity,
    HostLink,
    LocalFileError,
    Upload,
    glibc_version,
)
from pie._farm._outcome import Failed, outcome_of
from pie._farm._output import ExpectedOutput, output_accuracy
from pie._hashing import key_of, sha256_file
from pie._public import public
from pie._toolchain import binutils_folder

MIN_FREE_BYTES = 1 << 30
_GLIBC_MACRO = re.compile(r"^#define (__GLIBC__|__GLIBC_MINOR__) (\d+)$", re.MULTILINE)
# PIE's own calibration run (LearningOpt/pie gem5/api_pytest.py, test_exec_gem5): this source,
# `g++ basic.cpp -o basic.out --std=c++17 -O3` in a tempfile folder, 0.001004121118 s in PIE's
# image on every one of 5 runs.
PIE_HELLO_SOURCE = """
#include <iostream>

int main() {
    std::cout << "Hello, World!" << std::endl;
    return 0;
}
"""
PIE_HELLO_OUTPUT = b"Hello, World!\n"
PIE_HELLO_FLAGS = ("--std=c++17", "-O3")
PIE_HELLO_ARGV0 = f"{GUEST_DIR}/basic.out"  # PIE's /tmp/tmpXXXXXXXX/basic.out
PIE_HELLO_TICKS = 1_004_121_118


@public
@attrs.frozen
class HostCheck:
    """One host's state: ``ok`` when it can simulate; ``weaker`` when it can but gem5 runs
    unconfined there (docs/SECURITY.md); ``problem`` says what is wrong or weaker."""

    host: str
    ok: bool = False
    connect_seconds: float | None = None
    identity: HostIdentity | None = None
    free_bytes: int | None = None
    glibc: tuple[int, ...] | None = None
    probe: str = "-"  # what the probe's simulation gave ("-": not run)
    problem: str = ""
    confinement: str = "-"  # the host's jail, as its probe named it
    weaker: bool = False


@public
@attrs.frozen
class FarmCheck:
    """``pie.check_farm``'s answer: one row per host, and what the probe program is."""

    hosts: tuple[HostCheck, ...]
    probe: str  # how the probe was built and what PIE's image simulated it in
    probe_error: str | None = None  # why the probe could not be built here

    @property
    def ok(self) -> bool:
        """Every host can simulate."""
        return all(row.ok for row in self.hosts)


@attrs.frozen
class Toolchain:
    """What the programs are built with: this machine's compiler or a toolchain root's, and the
    glibc they are linked against."""

    root: Path | None
    glibc: tuple[int, ...] | None

    @property
    def name(self) -> str:
        return "this machine's" if self.root is None else f"the toolchain root {self.root}'s"


async def check_farm(
    farm: FarmConfig | Path | str, compile_options: CompileOptions | None = None
) -> FarmCheck:
    """Connect to every host of ``farm`` (a farm YAML or its config), check gem5, its jail,
    glibc and disk, and simulate PIE's hello world on each, built with the compiler (and
    toolchain root) of ``compile_options`` and PIE's flags."""
    config = farm if isinstance(farm, FarmConfig) else load_farm(Path(farm))
    options = compile_options or CompileOptions()
    glibc = await anyio.to_thread.run_sync(toolchain_glibc, options)
    toolchain = Toolchain(options.toolchain_root, glibc)
    with tempfile.TemporaryDirectory(prefix="pie-farm-check-") as scratch:
        probe = await anyio.to_thread.run_sync(_build_probe, Path(scratch), options)
        rows = await _check_hosts(config, probe, toolchain)
    return FarmCheck(
        _flag_odd_identities(rows),
        probe=(
            f"PIE's hello world (LearningOpt/pie gem5/api_pytest.py) compiled with "
            f"{toolchain.name} {options.compiler} {' '.join(PIE_HELLO_FLAGS)}, run as "
            f"{PIE_HELLO_ARGV0}; PIE's image simulated it in {PIE_HELLO_TICKS:,} ticks. Equal "
            "ticks: this farm and this compiler time as PIE did."
        ),
        probe_error=probe if isinstance(probe, str) else None,
    )


@attrs.frozen
class _Probe:
    """PIE's hello world, its (empty) input and what it must print."""

    binary: Upload
    given: Upload
    expected: ExpectedOutput


def _build_probe(folder: Path, options: CompileOptions) -> _Probe | str:
    """PIE's hello world built as PIE built it, its input and expected output, or why it could
    not be built."""
    try:
        compiler = str(options.resolved_compiler())
    except CompilerError:
        return f"no {options.compiler} here to build the probe program"
    source, binary, given = folder / "basic.cpp", folder / "basic.out", folder / "input.txt"
    expected = folder / "output.txt"
    source.write_text(PIE_HELLO_SOURCE)
    given.write_bytes(b"")
    expected.write_bytes(PIE_HELLO_OUTPUT)
    root = options.toolchain_root
    sysroot = options.command_flags[len(options.flags) :]
    tools = ["-B", f"{binutils_folder(root, folder / 'toolchain')}/"] if root else []
    built = subprocess.run(
        [compiler, str(source), "-o", str(binary), *PIE_HELLO_FLAGS, *sysroot, *tools],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        return f"{compiler} could not build the probe: {built.stderr.strip()[-300:]}"
    return _Probe(
        Upload(binary, sha256_file(binary), "bin"),
        Upload(given, key_of(b""), "inputs"),
        ExpectedOutput(
            expected, key_of(b"", PIE_HELLO_OUTPUT), CheckMode.STRICT, 1.0, len(PIE_HELLO_OUTPUT)
        ),
    )


async def _check_hosts(
    config: FarmConfig, probe: _Probe | str, toolchain: Toolchain
) -> list[HostCheck]:
    rows: list[HostCheck] = [HostCheck(host.name) for host in config.hosts]

    async def check(position: int, host: HostConfig) -> None:
        rows[position] = await _check_host(host, config, probe, toolchain)

    async with anyio.create_task_group() as group:
        for position, host in enumerate(config.hosts):
            group.start_soon(check, position, host)
    return rows


async def _check_host(
    host: HostConfig, config: FarmConfig, probe: _Probe | str, toolchain: Toolchain
) -> HostCheck:
    """The host's row, each fact added as it is learnt (a failure keeps what came before)."""
    link = HostLink(host, config)
    started = time.monotonic()
    row = HostCheck(host.name)
    try:
        identity = await link.connect()
        row = attrs.evolve(
            row,
            identity=identity,
            connect_seconds=time.monotonic() - started,
            glibc=link.glibc,
            confinement=link.confinement,
        )
        row = attrs.evolve(row, free_bytes=await link.free_bytes())
        if isinstance(probe, str):
            return attrs.evolve(row, problem=f"probe not run: {probe}")
        run = await link.run(probe.binary, probe.given, probe.expected.limit, argv0=PIE_HELLO_ARGV0)
        accuracy = await output_accuracy(run, probe.expected)
    except (HostError, LocalFileError) as error:
        return attrs.evolve(row, problem=str(error))
    finally:
        await link.close()
    newer = _newer_glibc(toolchain, row.glibc)
    outcome = outcome_of(run, config, probe.expected, accuracy)
    if isinstance(outcome, Failed):
        return attrs.evolve(
            row, probe="failed", problem="; ".join(filter(None, (newer, outcome.message)))
        )
    same = "= PIE" if outcome.ticks == PIE_HELLO_TICKS else "not PIE's"
    row = attrs.evolve(row, probe=f"{outcome.ticks:,} ticks ({same}) in {run.seconds:.1f} s")
    if newer:
        return attrs.evolve(row, problem=newer)
    if row.free_bytes is not None and row.free_bytes < MIN_FREE_BYTES:
        gib = row.free_bytes / (1 << 30)
        return attrs.evolve(row, problem=f"only {gib:.1f} GiB free in {host.workdir}")
    if not link.confined:
        return attrs.evolve(row, ok=True, weaker=True, problem=_unconfined(row.confinement, host))
    return attrs.evolve(row, ok=True)


def _unconfined(confinement: str, host: HostConfig) -> str:
    """Why a ready host is weaker: its guests can reach gem5's memory and other jobs' files."""
    if confinement == "absent":
        why = f"no jail at {host.jail} (install docker/gem5-host/gem5-jail.py there)"
    elif confinement.startswith("none-"):
        why = f"the kernel gives no Landlock ({confinement.removeprefix('none-')})"
    else:
        why = f"its jail {host.jail} does not work ({confinement})"
    return (
        f"weaker: gem5 runs unconfined, {why}; a guest can open /proc/self/mem and forge "
        "gem5's results (docs/SECURITY.md)"
    )


def toolchain_glibc(options: CompileOptions) -> tuple[int, ...] | None:
    """The glibc the programs compiled with ``options`` are linked against: this machine's, or
    for a toolchain root the one its headers declare."""
    if options.toolchain_root is None:
        try:
            text = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.36"
        except (ValueError, OSError):
            return None
        return glibc_version(text.removeprefix("glibc "))
    done = subprocess.run(
        [str(options.resolved_compiler()), *options.command_flags, "-dM", "-E", "-x", "c++", "-"],
        input="#include <features.h>\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    macros = dict(_GLIBC_MACRO.findall(done.stdout))
    if "__GLIBC__" not in macros or "__GLIBC_MINOR__" not in macros:
        return None
    return int(macros["__GLIBC__"]), int(macros["__GLIBC_MINOR__"])


def _newer_glibc(toolchain: Toolchain, host: tuple[int, ...] | None) -> str:
    """Why programs built with ``toolchain`` cannot load on a host with an older glibc ("" when
    they can)."""
    here = toolchain.glibc
    if here is None or host is None or here <= host:
        return ""
    return (
        f"{toolchain.name} glibc {_dotted(here)} is newer than the host's {_dotted(host)}: "
        "programs compiled with it need glibc symbols the host lacks and cannot start under "
        "gem5; compile in the docker/pie image (Ubuntu 20.04's g++ 9 and glibc 2.31, as PIE) "
        "or with --toolchain-root set to a root of the gem5 host's system"
    )


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _flag_odd_identities(rows: list[HostCheck]) -> tuple[HostCheck, ...]:
    """Hosts whose gem5, config or libraries differ from most hosts' would give other ticks."""
    counts = Counter(row.identity for row in rows if row.identity is not None)
    if len(counts) < 2:
        return tuple(rows)
    usual = counts.most_common(1)[0][0]
    odd = "gem5, its config or the guest libraries differ from the other hosts'"
    return tuple(
        attrs.evolve(row, ok=False, problem=odd)
        if row.identity is not None and row.identity != usual
        else row
        for row in rows
    )
