"""Building the native launcher: once per (compiler, launcher sources, policy), then cached."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from pie._errors import SandboxError
from pie._hashing import key_of
from pie._locks import file_lock
from pie._sandbox import _policy
from pie._toolchain import compiler_identity, resolve_compiler

_FLAGS = ("-std=c++17", "-O2", "-Wall", "-static")
_BUILD_PREFIX = "build-"
_SYSCALL_DEFINE = re.compile(r"#define __NR_(\w+) (\d+)$")


def _launcher_sources() -> dict[str, str]:
    """The launcher's files (``launcher/*.cpp|*.h``), by name."""
    folder = resources.files("pie._sandbox").joinpath("launcher")
    return {
        entry.name: entry.read_text()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith((".cpp", ".h"))
    }


def launcher_path(cache_dir: Path, compiler: str = "g++") -> Path:
    """The launcher binary for this host, built on first use."""
    sources = _launcher_sources()
    header = _policy.render_header()
    parts = [f"{name}\0{text}" for name, text in sources.items()]
    key = key_of(*parts, header, compiler_identity(compiler), " ".join(_FLAGS))[:20]
    target = cache_dir / "launcher" / f"pie-launcher-{key}"
    if target.exists():
        return target
    with file_lock(target.with_suffix(".lock")):
        if not target.exists():
            _build(sources, header, target, compiler)
    return target


def syscall_names_header(compiler: Path) -> str:
    """``syscall_names.h``: number and name of every x86-64 system call the C library knows,
    so that a refused call can be named in the result."""
    done = subprocess.run(
        [str(compiler), "-dM", "-E", "-x", "c++", "-"],
        input="#include <sys/syscall.h>\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    names = sorted(
        (int(m[2]), m[1])
        for line in done.stdout.splitlines()
        if (m := _SYSCALL_DEFINE.match(line.strip()))
    )
    rows = "\n".join(f'  {{{number}, "{name}"}},' for number, name in names)
    return (
        "// Generated from <sys/syscall.h> by pie/_sandbox/_launcher.py; do not edit.\n"
        "#pragma once\n"
        "struct SyscallName { long nr; const char* name; };\n"
        f'static const SyscallName SYSCALL_NAMES[] = {{\n{rows}\n  {{-1, ""}},\n}};\n'
    )


def _build(sources: dict[str, str], header: str, target: Path, compiler: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # called under the build lock: a build folder left now is a killed builder's
    for stale in target.parent.glob(f"{_BUILD_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    resolved = resolve_compiler(compiler)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=_BUILD_PREFIX) as tmp:
        work = Path(tmp)
        for name, text in sources.items():
            (work / name).write_text(text)
        (work / "policy.h").write_text(header)
        (work / "syscall_names.h").write_text(syscall_names_header(resolved))
        out = work / "pie-launcher"
        units = [str(work / name) for name in sources if name.endswith(".cpp")]
        command = [str(resolved), *_FLAGS, "-I", str(work), "-o", str(out), *units]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            raise SandboxError(
                "could not build pie's sandbox launcher with "
                f"{compiler}: {done.stderr[-2000:]}\n"
                "A static C++ build needs libstdc++'s static library and glibc's libc.a "
                "(Debian: apt-get install g++ libc6-dev)."
            )
        os.chmod(out, 0o755)
        os.replace(out, target)
