"""Ctrl-C and SIGTERM for the command line: a cancel scope, not a stray KeyboardInterrupt.

asyncio turns Ctrl-C into a single ``Task.cancel()`` of the main task; an inner cancel scope
that is finishing its own cancellation at that moment can absorb it, and the run then goes on
as if nothing happened (seen under load).  Here the signals cancel an anyio scope, which stays
cancelled, so every later await is cancelled too; the caller gets KeyboardInterrupt once the
cleanup has run.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def until_signalled(function: Callable[[], Awaitable[T]]) -> T:
    """``await function()``, cancelled by SIGINT or SIGTERM (then KeyboardInterrupt)."""
    outcome: list[T] = []
    failed: list[Exception] = []
    signalled = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal signalled
            with anyio.open_signal_receiver(*STOP_SIGNALS) as received:
                async for _ in received:
                    signalled = True
                    group.cancel_scope.cancel()
                    return

        async def work() -> None:
            try:
                outcome.append(await function())
            except Exception as error:  # raised below, as itself rather than in a group
                failed.append(error)
            group.cancel_scope.cancel()  # done: stop watching

        group.start_soon(watch)
        group.start_soon(work)
    if failed:
        raise failed[0]
    if signalled or not outcome:
        raise KeyboardInterrupt
    return outcome[0]
