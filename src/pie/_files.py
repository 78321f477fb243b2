"""Files that readers may open at any moment (run records, reports, the farm's status)."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never part of one, even after a crash (the
    text is on disk before the rename).  The temporary file's name carries the pid: several
    processes may write into one folder, e.g. batches sharing a cache directory."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
