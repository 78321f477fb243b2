"""What a compiled binary holds, read as hostile input: its size and the loader it names.

A submission controls its binary completely (``asm`` can emit any section, ``.fill`` any size),
so these readers look only at bounded ranges of the file and never raise for what it holds.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

_ELF_HEADER_BYTES = 64
_PROGRAM_HEADER_BYTES = 56
_MAX_TABLE_BYTES = 65536  # the kernel's bound on the program header table
_PATH_MAX = 4096  # the kernel refuses a longer PT_INTERP
_PT_INTERP = 3
# The system's dynamic loader (ld-linux-x86-64.so.2, ld-2.31.so, ...) in a library folder:
# the only interpreter a run is granted, so a binary cannot make the kernel start any other
# program for it by naming it in PT_INTERP.
_LOADER_NAME = re.compile(r"ld(-[\w.+-]+)?\.so(\.\d+)*")
_LIBRARY_FOLDERS = ("/lib/", "/lib32/", "/lib64/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/")


def refusal(binary: Path, max_bytes: int) -> str | None:
    """Why ``binary`` must not be kept or run (too large, an interpreter other than the system
    loader, one the kernel would refuse), or None when it is fine."""
    size = os.stat(binary).st_size
    if size > max_bytes:
        return (
            f"the binary is {size} bytes, over the {max_bytes}-byte limit "
            "(CompileOptions.max_binary_bytes); large initialised data (.fill, big "
            "initialised arrays) makes a large binary: compute the table at run time"
        )
    raw = _raw_interpreter(binary)
    if raw is None:
        return None
    if len(raw) < 2 or len(raw) > _PATH_MAX or not raw.endswith(b"\0"):
        return "the binary's ELF interpreter (PT_INTERP) is malformed: the kernel would refuse it"
    loader = _resolved(raw)
    if not _is_system_loader(loader):
        named = os.fsdecode(raw.split(b"\0", 1)[0])
        return (
            f"the binary names {named!r} as its ELF interpreter "
            "(PT_INTERP); only the system's dynamic loader (ld-*.so in /lib or /usr/lib) is "
            "allowed"
        )
    return None


def elf_interpreter(binary: Path) -> Path | None:
    """The loader the kernel starts for ``binary`` (PT_INTERP up to its first NUL, as the kernel
    reads it), resolved; None when the binary is static or not a 64-bit little-endian ELF."""
    raw = _raw_interpreter(binary)
    return None if raw is None else _resolved(raw)


def _resolved(raw: bytes) -> Path | None:
    name = raw.split(b"\0", 1)[0]
    return Path(os.path.realpath(os.fsdecode(name))) if name else None


def _is_system_loader(path: Path | None) -> bool:
    if path is None:
        return False
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
    return (
        regular
        and str(path).startswith(_LIBRARY_FOLDERS)
        and _LOADER_NAME.fullmatch(path.name) is not None
    )


def _raw_interpreter(binary: Path) -> bytes | None:
    """The PT_INTERP bytes of a 64-bit little-endian ELF (at most PATH_MAX + 1 of them: more
    is malformed anyway); b"" when the headers are malformed; None when there is none."""
    with binary.open("rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        header = handle.read(_ELF_HEADER_BYTES)
        if len(header) < _ELF_HEADER_BYTES or header[:4] != b"\x7fELF" or header[4:6] != b"\2\1":
            return None
        table_offset = int.from_bytes(header[32:40], "little")
        entry_size = int.from_bytes(header[54:56], "little")
        count = int.from_bytes(header[56:58], "little")
        if (
            entry_size != _PROGRAM_HEADER_BYTES
            or entry_size * count > _MAX_TABLE_BYTES
            or table_offset > file_size
        ):
            return b""  # the kernel refuses such a table
        handle.seek(table_offset)
        table = handle.read(entry_size * count)
        for start in range(0, len(table) - _PROGRAM_HEADER_BYTES + 1, entry_size):
            entry = table[start : start + _PROGRAM_HEADER_BYTES]
            if int.from_bytes(entry[0:4], "little") != _PT_INTERP:
                continue
            offset = int.from_bytes(entry[8:16], "little")
            size = min(int.from_bytes(entry[32:40], "little"), _PATH_MAX + 1)
            if offset + size > file_size:
                return b""
            handle.seek(offset)
            return handle.read(size)
    return None
