"""Where pie keeps its files: one cache directory, configurable."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$PIE_CACHE_DIR``, else ``$XDG_CACHE_HOME/pie``, else ``~/.cache/pie``."""
    explicit = os.environ.get("PIE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "pie"


# gem5 farm status snapshots, one file per batch process, under the cache directory
FARM_STATUS_FOLDER = "farm"


def farm_status_path(cache_dir: Path) -> Path:
    """This process's status snapshot (``pie farm status`` reads every one in the folder)."""
    return cache_dir / FARM_STATUS_FOLDER / f"status-{os.getpid()}.json"
