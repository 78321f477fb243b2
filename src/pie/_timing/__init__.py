"""Timing backends: one interface, so that numbers of different backends never mix."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pie._cache import ResultCache
from pie._errors import InputError
from pie._model import Limits, TestCase, Timing
from pie._sandbox import Sandbox
from pie._timing._cachegrind import CachegrindBackend, CachegrindConfig
from pie._timing._wall import WallBackend, WallConfig

BACKENDS = ("none", "cachegrind", "wall")


class TimingBackend(Protocol):
    name: str
    unit: str

    async def measure(
        self, binary: Path, binary_sha256: str, tests: Sequence[TestCase], limits: Limits
    ) -> Timing | None: ...


def valgrind_available() -> bool:
    return shutil.which("valgrind.bin") is not None or shutil.which("valgrind") is not None


def make_backend(
    name: str | CachegrindConfig | WallConfig, sandbox: Sandbox, store: ResultCache
) -> TimingBackend | None:
    """The backend called ``name`` (or configured by it); ``none`` means no timing."""
    if isinstance(name, CachegrindConfig):
        return CachegrindBackend(sandbox, store, name)
    if isinstance(name, WallConfig):
        return WallBackend(sandbox, name)
    if name == "none":
        return None
    if name == "cachegrind":
        return CachegrindBackend(sandbox, store)
    if name == "wall":
        return WallBackend(sandbox)
    raise InputError(
        f"timing backend {name!r} is not available in this version; choose one of {BACKENDS}"
    )
