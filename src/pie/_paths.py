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
