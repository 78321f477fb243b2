"""Timing backends: one Protocol and one registry, so numbers of different backends never mix.

The registry below is the one vocabulary of backend names: the CLI's ``--timing`` choices, the
YAML's ``timing`` key, ``Evaluator(timing=...)`` and the simulator all read it.  A backend is a
module of this package with a ``make(context, config)`` function; adding one touches that module
and one ``REGISTRY`` entry.  Modules are imported only when their backend is made, so ``import
pie`` does not load what a backend needs (asyncssh for ``gem5``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import attrs

from pie._check import CheckMode
from pie._errors import InputError
from pie._model import Limits, TestCase, Timing
from pie._timing._plugin import qemu_path

if TYPE_CHECKING:
    from pie._cache import ResultCache
    from pie._farm._config import FarmConfig
    from pie._sandbox import Sandbox

NONE = "none"  # no timing: a name of the vocabulary, not a backend

NO_FARM = (
    "timing 'gem5' needs a farm of gem5 hosts: pass farm='FARM.yaml' (pie run: --farm "
    "FARM.yaml); docs/FARM.md shows how to write one"
)


class TimingBackend(Protocol):
    name: str
    unit: str

    async def measure(
        self,
        binary: Path,
        binary_sha256: str,
        tests: Sequence[TestCase],
        limits: Limits,
        accuracies: Sequence[float] | None = None,
    ) -> Timing | None:
        """Time ``binary`` on ``tests``; ``accuracies`` are its tests' accuracies in the
        ordinary runs, which a backend that checks its own runs' output holds them to (all
        1.0 when not given)."""

    async def aclose(self) -> None:
        """Release what the backend holds (the gem5 farm's connections and remote processes)."""


class BackendConfig(Protocol):
    """A backend's settings object (``pie.QemuConfig``, ``pie.WallConfig``)."""

    backend: ClassVar[str]

    def key(self) -> str: ...


@attrs.frozen
class BackendContext:
    """What a backend may use: the evaluator's sandbox, result store and tests' checker, and
    the farm."""

    sandbox: Sandbox
    store: ResultCache
    check: CheckMode
    farm: FarmConfig | None = None


@attrs.frozen
class Registered:
    """One backend: the module that makes it, what it is (for help texts), and whether it
    measures on this host (the simulator's ``binary`` half) or elsewhere."""

    module: str
    summary: str
    local: bool = True


REGISTRY: Mapping[str, Registered] = {
    "qemu": Registered(
        "pie._timing._qemu",
        "exact counts (instructions, cache misses, mispredicts) under qemu-user, any host alike",
    ),
    "wall": Registered("pie._timing._wall", "wall-clock seconds, median of repeated runs"),
    "gem5": Registered(
        "pie._timing._gem5", "simulated seconds on a farm of gem5 hosts (--farm)", local=False
    ),
}

# the vocabulary, each name with what it gives (for help texts): pie.TIMINGS
TIMINGS: Mapping[str, str] = {
    NONE: "no timing",
    **{name: entry.summary for name, entry in REGISTRY.items()},
}

# Removed backends (and their config types) and why: naming one is an error that says what
# replaces it, not an unknown name.
REMOVED: Mapping[str, str] = dict.fromkeys(
    ("cachegrind", "callgrind", "CachegrindConfig"),
    "a program could forge valgrind's counts (client requests, its own report file) and they "
    "changed with the host's CPU; use 'qemu' (pie.QemuConfig), forgery-proof and the same on "
    "every host (docs/SECURITY.md)",
)


def removed(name: str) -> str:
    return f"{name!r} was removed: {REMOVED[name]}"


def unknown_backend(name: str) -> str:
    """Why ``name`` is no timing backend: removed (and what replaces it), or never one."""
    if name in REMOVED:
        return f"timing backend {removed(name)}"
    return (
        f"timing backend {name!r} is not available in this version; choose one of {tuple(TIMINGS)}"
    )


def default_local_timing(fallback: str) -> str:
    """``qemu`` where qemu-user exists (forgery-proof, the same count on every host), else
    ``fallback``."""
    return "qemu" if qemu_path() is not None else fallback


def make_backend(
    name: str | BackendConfig,
    sandbox: Sandbox,
    store: ResultCache,
    check: CheckMode,
    farm: FarmConfig | None = None,
) -> TimingBackend | None:
    """The backend called ``name`` (or configured by it); ``none`` means no timing.  ``check``
    is the tests' checker; ``gem5`` needs the ``farm`` that runs it."""
    config = None if isinstance(name, str) else name
    chosen = name if isinstance(name, str) else name.backend
    if chosen == NONE:
        return None
    entry = REGISTRY.get(chosen)
    if entry is None:
        raise InputError(unknown_backend(chosen))
    module = importlib.import_module(entry.module)
    backend: TimingBackend = module.make(BackendContext(sandbox, store, check, farm), config)
    return backend
