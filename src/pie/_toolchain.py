"""The C++ compiler as pie sees it: where it is and what exactly it is (for cache keys)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from pie._errors import CompilerError
from pie._hashing import key_of


@functools.lru_cache(maxsize=8)
def resolve_compiler(compiler: str) -> Path:
    found = shutil.which(compiler)
    if found is None:
        raise CompilerError(
            f"C++ compiler {compiler!r} not found on PATH; install g++ "
            "(Debian: apt-get install g++) or pass compiler=/path/to/g++"
        )
    return Path(found).resolve()


@functools.lru_cache(maxsize=8)
def compiler_identity(compiler: str) -> str:
    """A hash that changes whenever the compiler binary or its version changes."""
    path = resolve_compiler(compiler)
    version = subprocess.run(
        [str(path), "--version"], capture_output=True, check=False, timeout=30
    ).stdout
    stat = path.stat()
    return key_of(str(path), version, str(stat.st_size), str(stat.st_mtime_ns))
