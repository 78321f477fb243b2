"""The C++ compiler as pie sees it: where it is and what exactly it is (for cache keys)."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import attrs

from pie._errors import CompilerError
from pie._hashing import key_of

# Where a toolchain root's compiler is looked up by name, as PATH=/usr/bin:/bin would find it.
ROOT_BIN_FOLDERS = ("usr/bin", "bin")
# The root's binutils run with the root's own libraries, through the root's own loader.
ROOT_LOADER = "lib64/ld-linux-x86-64.so.2"
ROOT_LIBRARY_FOLDERS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib")
ROOT_BINUTILS = ("as", "ld")


def resolve_compiler(compiler: str, root: Path | None = None) -> Path:
    """The compiler's real file: found on PATH, or inside the toolchain ``root`` when given."""
    if root is not None:
        return _compiler_in_root(compiler, root)
    found = shutil.which(compiler)
    if found is None:
        raise CompilerError(
            f"C++ compiler {compiler!r} not found on PATH; install g++ "
            "(Debian: apt-get install g++) or pass compiler=/path/to/g++"
        )
    return Path(found).resolve()


def _compiler_in_root(compiler: str, root: Path) -> Path:
    """``compiler`` (a name, or a path inside ``root``) as a file of ``root``: a symlink that
    leads out of the root (an absolute one, written for the root's own ``/``) is refused, since
    the compiler would then not be the root's."""
    if not root.is_dir():
        raise CompilerError(
            f"toolchain_root {root} is not an existing folder: give "
            "the root of a system with g++ installed (e.g. the gem5 root of "
            "docker/gem5-host/build-local.sh)"
        )
    real_root = root.resolve()
    if "/" in compiler:
        given = Path(compiler)
        candidates = [given if given.is_absolute() else root / given]
        where = str(candidates[0])
    else:
        candidates = [root / folder / compiler for folder in ROOT_BIN_FOLDERS]
        where = " or ".join(f"{root}/{folder}" for folder in ROOT_BIN_FOLDERS)
    for candidate in candidates:
        real = candidate.resolve()
        if real.is_file() and os.access(real, os.X_OK):
            if real.is_relative_to(real_root):
                return real
            raise CompilerError(
                f"the compiler {candidate} leads out of toolchain_root {root} (to {real}): "
                "name the root's compiler by its own file, e.g. compiler='g++-10'"
            )
    raise CompilerError(
        f"toolchain_root {root} has no C++ compiler {compiler!r} (looked in {where}): give the "
        "root of a system with g++ installed, and compiler='g++-10' if its g++ has only a "
        "versioned name"
    )


def compiler_identity(compiler: str, root: Path | None = None) -> str:
    """A hash that changes whenever the compiler binary or its version changes.

    The compiler is looked up again on every call and asked its version only when its file
    changed (``_file_state``), so a long-lived process (``pie serve``) sees an upgrade."""
    path = resolve_compiler(compiler, root)
    return _identity(path, FileState.of(path.stat()))


@attrs.frozen
class FileState:
    """Changes whenever the file is replaced or rewritten: a new inode, or new content (size,
    mtime, and the ctime that no user can set back)."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileState:
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@functools.lru_cache(maxsize=8)
def _identity(path: Path, state: FileState) -> str:
    version = subprocess.run(
        [str(path), "--version"], capture_output=True, check=False, timeout=30
    ).stdout
    return key_of(str(path), version, str(state.size), str(state.mtime_ns))


def _file_in_root(path: Path, root: Path, what: str) -> Path:
    real = path.resolve()
    if not real.is_file():
        raise CompilerError(
            f"toolchain_root {root} has no {what} at {path}: install binutils in the root"
        )
    if not real.is_relative_to(root.resolve()):
        raise CompilerError(
            f"the {what} {path} leads out of toolchain_root {root} (to {real}): make the link "
            "relative (docker/gem5-host/build-local.sh does so for the loader)"
        )
    return real


@functools.lru_cache(maxsize=8)
def root_binutils(root: Path) -> dict[str, str]:
    """Scripts named ``as`` and ``ld`` that run the root's assembler and linker with the root's
    libraries through the root's loader. The root's g++ finds them first (``-B``), so that a
    binary is byte for byte the one the root compiles itself; this host's binutils would lay
    it out differently (other addresses, other simulated ticks)."""
    loader = _file_in_root(root / ROOT_LOADER, root, "dynamic loader")
    folders = []
    for folder in ROOT_LIBRARY_FOLDERS:
        if (root / folder).is_dir() and (root / folder).resolve() not in folders:
            folders.append((root / folder).resolve())
    libraries = ":".join(map(str, folders))
    scripts = {}
    for tool in ROOT_BINUTILS:
        real = _file_in_root(root / "usr" / "bin" / tool, root, f"{tool} (binutils)")
        scripts[tool] = (
            f"#!/bin/sh\nexec {shlex.quote(str(loader))} --library-path "
            f'{shlex.quote(libraries)} {shlex.quote(str(real))} "$@"\n'
        )
    return scripts


def binutils_folder(root: Path, parent: Path) -> Path:
    """A folder under ``parent`` holding ``root_binutils(root)`` (made once, atomically)."""
    scripts = root_binutils(root)
    target = parent / f"binutils-{key_of(*scripts.values())[:16]}"
    if target.is_dir():
        return target
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".binutils-", dir=parent))
    for tool, text in scripts.items():
        (staging / tool).write_text(text)
        (staging / tool).chmod(0o755)
    staging.chmod(0o755)
    try:
        staging.rename(target)
    except OSError:  # made by another evaluator meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return target


@functools.lru_cache(maxsize=8)
def binutils_identity(root: Path) -> str:
    """Changes when the root's assembler, linker or loader changes."""
    parts = []
    for text in root_binutils(root).values():
        parts.append(text)
        for word in shlex.split(text.splitlines()[1])[1:]:
            if word.startswith("/") and Path(word).is_file():
                stat = Path(word).stat()
                parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return key_of(*parts)
