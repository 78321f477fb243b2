"""A ``qemu`` timing backend on its own sandbox, for tests that time binaries directly."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from pie._cache import ResultCache
from pie._check import CheckMode
from pie._sandbox import Sandbox
from pie._timing._qemu import QemuBackend, QemuConfig


@contextlib.asynccontextmanager
async def qemu_backend(
    cache_dir: Path, store: ResultCache, config: QemuConfig | None = None, slots: int = 2
) -> AsyncIterator[QemuBackend]:
    sandbox = Sandbox(cache_dir, slots=slots)
    async with anyio.create_task_group() as group:
        sandbox.serve_in(group)
        try:
            yield QemuBackend(sandbox, store, config, check=CheckMode.STRICT)
        finally:
            await sandbox.aclose()  # closes the slots too
            group.cancel_scope.cancel()
