"""Timing backends: one interface, so that numbers of different backends never mix."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pie._cache import ResultCache
from pie._errors import InputError
from pie._farm._backend import Gem5Backend
from pie._farm._config import FarmConfig
from pie._model import Limits, TestCase, Timing
from pie._sandbox import Sandbox
from pie._timing._cachegrind import CachegrindBackend, CachegrindConfig
from pie._timing._wall import WallBackend, WallConfig

BACKENDS = ("none", "cachegrind", "wall", "gem5")


NO_FARM = (
    "timing 'gem5' needs a farm of gem5 hosts: pass farm='FARM.yaml' (pie run: --farm "
    "FARM.yaml); docs/FARM.md shows how to write one"
)


class TimingBackend(Protocol):
    name: str
    unit: str

    async def measure(
        self, binary: Path, binary_sha256: str, tests: Sequence[TestCase], limits: Limits
    ) -> Timing | None: ...


def valgrind_available() -> bool:
    return shutil.which("valgrind.bin") is not None or shutil.which("valgrind") is not None


def make_backend(
    name: str | CachegrindConfig | WallConfig,
    sandbox: Sandbox,
    store: ResultCache,
    farm: FarmConfig | None = None,
) -> TimingBackend | None:
    """The backend called ``name`` (or configured by it); ``none`` means no timing.
    ``gem5`` needs the ``farm`` that runs it."""
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
    if name == "gem5":
        if farm is None:
            raise InputError(NO_FARM)
        return Gem5Backend(farm, store)
    raise InputError(
        f"timing backend {name!r} is not available in this version; choose one of {BACKENDS}"
    )


async def close_backend(backend: TimingBackend | None) -> None:
    """Release what a backend holds: the gem5 farm's connections and remote processes."""
    if isinstance(backend, Gem5Backend):
        await backend.aclose()
