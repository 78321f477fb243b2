"""A long-lived launcher (``pie-launcher --serve``): one pipe round trip per run, no spawn.

Spawning a process from Python costs about a millisecond; the server forks its small static
self instead.  Requests are tab-separated argv lines; each runner answers with one JSON line
carrying the request id, so concurrent runs share the pipe.  The server starts with the first
run: an evaluation served wholly from the cache starts no process.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs
from anyio.streams.buffered import BufferedByteReceiveStream

from pie._errors import SandboxError

_LINE_LIMIT = 1 << 16
# A runner always answers within its wall limit; past this margin the server is broken.
_ANSWER_MARGIN_SECONDS = 30.0


@attrs.define
class _Pending:
    done: anyio.Event = attrs.field(factory=anyio.Event)
    report: dict[str, Any] | None = None


class LauncherServer:
    def __init__(self, launcher: Path) -> None:
        self._launcher = launcher
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._process: anyio.abc.Process | None = None
        self._send_lock = anyio.Lock()
        self._start_lock = anyio.Lock()
        self._failure: str | None = None
        self._group: anyio.abc.TaskGroup | None = None

    def serve_in(self, group: anyio.abc.TaskGroup) -> None:
        """``group`` will host the server's reply reader, from the first run on."""
        self._group = group

    async def _started(self) -> None:
        async with self._start_lock:
            if self._process is not None:
                return
            if self._group is None:
                raise SandboxError("the sandbox launcher server has no task group: call start()")
            self._process = await anyio.open_process(
                [str(self._launcher), "--serve"], stderr=subprocess.DEVNULL
            )
            self._group.start_soon(self._read_replies)

    async def aclose(self) -> None:
        if self._process is not None:
            with anyio.CancelScope(shield=True):
                # closing stdin makes the server kill its runners and exit
                if self._process.stdin is not None:
                    await self._process.stdin.aclose()
                with anyio.move_on_after(5):
                    await self._process.wait()
                if self._process.returncode is None:
                    self._process.kill()
                # closes the reply pipe too: an open pipe keeps asyncio's transport alive past
                # the event loop ("Event loop is closed" at exit after Ctrl-C)
                await self._process.aclose()
            self._process = None

    async def run(self, args: Sequence[str], wall_seconds: float) -> dict[str, Any]:
        """Send one run request and wait for its report; cancelling kills the run."""
        if self._failure is not None:
            raise SandboxError(self._failure)
        await self._started()
        for arg in args:
            if "\t" in arg or "\n" in arg:
                raise SandboxError(f"path or argument {arg!r} contains a tab or newline")
        request_id = str(next(self._ids))
        pending = self._pending[request_id] = _Pending()
        try:
            await self._send("\t".join([request_id, *args]))
            with anyio.move_on_after(wall_seconds + _ANSWER_MARGIN_SECONDS):
                await pending.done.wait()
        except BaseException:
            if pending.report is None:
                with anyio.CancelScope(shield=True):
                    await self._send(f"kill\t{request_id}")
            raise
        finally:
            del self._pending[request_id]
        if pending.report is None:
            with anyio.CancelScope(shield=True):
                await self._send(f"kill\t{request_id}")
            raise SandboxError(self._failure or "sandbox launcher server stopped answering")
        return pending.report

    async def _send(self, line: str) -> None:
        if self._process is None or self._process.stdin is None:
            raise SandboxError("sandbox launcher server is not running")
        async with self._send_lock:
            try:
                await self._process.stdin.send(line.encode() + b"\n")
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                if not line.startswith("kill\t"):
                    raise SandboxError("sandbox launcher server has exited") from None

    async def _read_replies(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        replies = BufferedByteReceiveStream(self._process.stdout)
        try:
            while True:
                line = await replies.receive_until(b"\n", _LINE_LIMIT)
                # paths are bytes to the launcher; non-UTF-8 ones come back as Python wrote them
                report = json.loads(line.decode("utf-8", "surrogateescape"))
                pending = self._pending.get(str(report.get("id")))
                if pending is not None:
                    pending.report = report
                    pending.done.set()
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.ClosedResourceError):
            self._fail("sandbox launcher server exited")
        except (anyio.DelimiterNotFound, ValueError) as error:
            self._fail(f"sandbox launcher server sent garbage: {error}")

    def _fail(self, reason: str) -> None:
        self._failure = reason
        for pending in self._pending.values():
            pending.done.set()
