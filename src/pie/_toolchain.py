"""The C++ compiler as pie sees it: where it is and what exactly it is (for cache keys)."""

from __future__ import annotations

import functools
import os
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


def elf_interpreter(binary: Path) -> Path | None:
    """The dynamic loader an ELF executable names (PT_INTERP), resolved; None if static."""
    data = binary.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only
        return None
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    for i in range(phnum):
        header = data[phoff + i * phentsize : phoff + (i + 1) * phentsize]
        if int.from_bytes(header[0:4], "little") == 3:  # PT_INTERP
            offset = int.from_bytes(header[8:16], "little")
            size = int.from_bytes(header[32:40], "little")
            raw = data[offset : offset + size].rstrip(b"\0")
            return Path(os.path.realpath(raw.decode()))
    return None
