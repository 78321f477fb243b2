"""qemu-user and pie's TCG plugin: finding the emulator, building the plugin once, its identity.

The plugin (``plugin.c``) is compiled at first use into the cache, keyed by its source, the
compiler and the flags, as the sandbox launcher is; the qemu version and that key are part of
the ``qemu`` timing's configuration, and so are the host libraries the guest loads, so counts
of another emulator, plugin or C/C++ runtime never mix.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import attrs

from pie._errors import SandboxError
from pie._hashing import key_of, sha256_file
from pie._locks import file_lock
from pie._toolchain import compiler_identity

QEMU = "qemu-x86_64"
# The plugin is C; the C compiler beside the configured g++ builds it.
_FLAGS = ("-std=c11", "-O2", "-Wall", "-shared", "-fPIC", "-fvisibility=hidden")
_BUILD_PREFIX = "build-"
NO_QEMU = (
    "qemu-x86_64 not found: the qemu timing backend needs qemu-user 7.2 "
    "(Debian: apt-get install qemu-user), or choose timing='none'"
)


@attrs.frozen
class Emulator:
    """The emulator binary and plugin a timing run uses, the host libraries its guest loads,
    and what identifies them."""

    qemu: Path
    qemu_version: str
    plugin: Path
    plugin_key: str
    guest_libraries: str

    def identity(self) -> str:
        return f"qemu={self.qemu_version};plugin={self.plugin_key};libs={self.guest_libraries}"


# The guest loads this host's loader and C/C++ runtime (qemu's -L /), and every instruction of
# theirs is counted: another glibc or libstdc++ gives other counts, so their hashes name the
# configuration (as the gem5 farm's host identity does). pie's fixed compile flags link these
# and no others.
GUEST_LOADER = Path("/lib64/ld-linux-x86-64.so.2")
GUEST_LIBRARIES = ("libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1")
_LIBRARY_FOLDERS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64")
# The host files besides the libraries that the plugin lets the guest read (plugin.c's system
# paths), whose contents its loader and runtime act on: a loader cache 4 KiB longer changed a
# hello world's count by 60 instructions here, and installing any library rewrites that cache.
GUEST_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime")


@functools.lru_cache(maxsize=1)
def guest_libraries() -> str:
    """A hash of the files the guest's loader and runtime libraries resolve to here, and of
    the system files they read (an absent one counts as absent: a program that needs it fails
    alike everywhere it is missing)."""
    files = [GUEST_LOADER.resolve()]
    for name in GUEST_LIBRARIES:
        found = next((Path(d) / name for d in _LIBRARY_FOLDERS if (Path(d) / name).exists()), None)
        files.append(found.resolve() if found is not None else Path(name))
    files += [Path(system).resolve() for system in GUEST_SYSTEM_FILES]
    return key_of(*(f"{f.name}={sha256_file(f) if f.is_file() else 'absent'}" for f in files))[:16]


# a guest every host has, for the check that qemu loads the plugin and the plugin reports
PROBE_GUEST = "/bin/true"


def plugin_loads(found: Emulator) -> str | None:
    """None when ``found``'s qemu loads its plugin and the plugin writes its report for a run
    of ``/bin/true``, else why not (what ``pie doctor`` shows)."""
    with tempfile.TemporaryDirectory(prefix="pie-plugin-check-") as folder:
        report = Path(folder) / "report"
        report.touch()
        plugin = f"{found.plugin},key=check,out={report}"
        command = [str(found.qemu), "-L", "/", "-plugin", plugin, PROBE_GUEST]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, check=False, timeout=60,
                stdin=subprocess.DEVNULL, env={},
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{found.qemu} did not run: {error}"
        line = report.read_text(errors="replace")
    if done.returncode != 0 or not line.startswith("pie-qemu check counts instructions="):
        said = done.stderr.strip()[-300:] or f"exit {done.returncode}, report {line[:80]!r}"
        return f"qemu did not load pie's plugin and count {PROBE_GUEST}: {said}"
    return None


def qemu_path() -> Path | None:
    found = shutil.which(QEMU)
    return Path(found) if found else None


@functools.lru_cache(maxsize=4)
def qemu_version(qemu: Path) -> str:
    """``7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)``: the first line of ``--version``."""
    done = subprocess.run(
        [str(qemu), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    first = done.stdout.splitlines()[0] if done.stdout else ""
    prefix = f"{QEMU} version "
    if done.returncode != 0 or not first.startswith(prefix):
        raise SandboxError(f"{qemu} --version did not name a version: {done.stderr[-500:]}")
    return first[len(prefix) :].strip()


def _plugin_source() -> str:
    return resources.files("pie._timing").joinpath("plugin.c").read_text()


def _c_compiler(compiler: str) -> str:
    """``gcc`` for ``g++`` (and ``cc`` when that is all there is)."""
    name = Path(compiler).name
    sibling = compiler[: -len("g++")] + "gcc" if name.endswith("g++") else compiler
    return shutil.which(sibling) or shutil.which("cc") or sibling


def emulator(cache_dir: Path, compiler: str = "g++") -> Emulator:
    """qemu and the plugin built for it (on first use); raises ``SandboxError`` without qemu."""
    qemu = qemu_path()
    if qemu is None:
        raise SandboxError(NO_QEMU)
    cc = _c_compiler(compiler)
    source = _plugin_source()
    # what decides the counts (source and flags) names the config; the build also depends on
    # this host's compiler, which must not make the numbers of two hosts incomparable
    key = key_of(source, " ".join(_FLAGS))[:16]
    build = key_of(key, compiler_identity(cc))[:20]
    target = cache_dir / "qemu-plugin" / f"pie-plugin-{build}.so"
    if not target.exists():
        with file_lock(target.with_suffix(".lock")):
            if not target.exists():
                build_plugin(source, target, cc)
    return Emulator(qemu, qemu_version(qemu), target, key, guest_libraries())


def build_plugin(source: str, target: Path, cc: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # called under the build lock: a build folder left now is a killed builder's
    for stale in target.parent.glob(f"{_BUILD_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=_BUILD_PREFIX) as tmp:
        work = Path(tmp)
        (work / "plugin.c").write_text(source)
        out = work / "plugin.so"
        command = [cc, *_FLAGS, "-o", str(out), str(work / "plugin.c")]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            raise SandboxError(
                f"could not build pie's qemu plugin with {cc}: {done.stderr[-2000:]}\n"
                "It needs a C compiler and glibc's headers (Debian: apt-get install gcc libc6-dev)."
            )
        os.chmod(out, 0o644)
        os.replace(out, target)
