"""Building the native launcher: once per (compiler, launcher source, policy), then cached."""

from __future__ import annotations

import os
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


def _launcher_source() -> str:
    return resources.files("pie._sandbox").joinpath("launcher.cpp").read_text()


def launcher_path(cache_dir: Path, compiler: str = "g++") -> Path:
    """The launcher binary for this host, built on first use."""
    source = _launcher_source()
    header = _policy.render_header()
    key = key_of(source, header, compiler_identity(compiler), " ".join(_FLAGS))[:20]
    target = cache_dir / "launcher" / f"pie-launcher-{key}"
    if target.exists():
        return target
    with file_lock(target.with_suffix(".lock")):
        if not target.exists():
            _build(source, header, target, compiler)
    return target


def _build(source: str, header: str, target: Path, compiler: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # called under the build lock: a build folder left now is a killed builder's
    for stale in target.parent.glob(f"{_BUILD_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=_BUILD_PREFIX) as tmp:
        work = Path(tmp)
        (work / "launcher.cpp").write_text(source)
        (work / "policy.h").write_text(header)
        out = work / "pie-launcher"
        command = [str(resolve_compiler(compiler)), *_FLAGS, "-I", str(work)]
        command += ["-o", str(out), str(work / "launcher.cpp")]
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
