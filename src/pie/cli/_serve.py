"""``pie serve``: the ``pie`` command kept loaded, so that a warm ``pie run`` costs milliseconds.

A cold ``python`` spends most of a warm run importing pie and its libraries.  The server
imports them once and listens on a unix socket in the cache folder (mode 0600, in a folder
only this user can write to); for each request of a client (pie.cli._client) it checks that
the client runs as this user (``SO_PEERCRED``), in the same environment as far as pie reads
it (PATH, PIE_*, ...) and with the same pie, then forks a child that runs ``pie ARGV`` in the
client's folder, with its umask, on the client's own stdin, stdout and stderr.  The exit status
goes back to the client; a signal from the client goes to the child.  Everything else (the
evaluator, the sandbox, the cache) is set up by the child exactly as a ``pie run`` in its own
process would: one code path.  Sandboxed programs cannot reach the socket: their seccomp
policy refuses ``socket`` and ``connect``, and as root they run under other uids, which the
socket's mode and the uid check refuse.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import attrs

import pie
from pie.cli import _client
from pie.cli._exit import EXIT_INTERRUPTED, EXIT_USAGE

# how long a client has to send its request once connected
REQUEST_SECONDS = 10.0
# how long the children of a stopping server have to end their runs before they are killed
STOP_SECONDS = 30.0


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser(
        "serve",
        help="keep pie loaded, so that later 'pie run' commands start in milliseconds",
        description="Listen on CACHE_DIR/serve.sock (in the foreground; Ctrl-C stops) and run "
        "each 'pie run' of this user, in this environment, in a child that already holds pie's "
        "modules. Without a server, 'pie run' works the same, only slower to start. Exit "
        "status: 130 when stopped, 2 when it could not listen (the reason on stderr).",
        parents=[common],
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from pie.cli._main import main  # noqa: PLC0415 (the command the children run)

    cache_dir = Path(args.cache_dir) if args.cache_dir is not None else pie.default_cache_dir()
    why = unsafe_sandbox(pie.doctor(cache_dir))
    if why is not None:
        raise pie.InputError(f"pie serve will not listen on this host: {why}")
    _warm_up()
    return Server(cache_dir, main).serve()


def unsafe_sandbox(facts: Sequence[pie.HostFact]) -> str | None:
    """Why the sandbox here could not keep its programs from the socket, or None.  Without
    root a program runs as this user, so the mode and uid checks do not stop it: only the
    seccomp filter, which refuses ``socket`` and ``connect``, does (Landlock does not govern
    connecting to a named socket)."""
    summary = next((f.state for f in facts if f.name == "summary"), "")
    if "seccomp" in summary.split("+"):
        return None
    return (
        f"its sandbox has no seccomp filter ({summary or 'no sandbox summary'}), so a program "
        "under test could connect to the server and run pie outside the sandbox; run "
        "'pie run' without a server here"
    )


def _warm_up() -> None:
    """Load now what every ``pie run`` loads, so that the children start with it."""
    import anyio._backends._asyncio  # noqa: F401, PLC0415 (anyio.run's backend)

    from pie.cli import _main  # noqa: PLC0415

    _main.parser()
    # the compiler's identity is remembered by the state of its file: the children ask g++
    # its version only if it changed since
    pie.CompileOptions().key()


@attrs.define
class _Child:
    pid: int
    pidfd: int
    connection: socket.socket | None


class Server:
    def __init__(self, cache_dir: Path, command: Callable[[Sequence[str]], int]) -> None:
        self.cache_dir = cache_dir
        self.command = command
        self.environment = _client.environment()
        self.code = _client.code_stamp()
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, _Child] = {}  # by pid

    # ---- the socket ----------------------------------------------------------------------

    def _listen(self) -> tuple[socket.socket, int]:
        self.cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = os.open(self.cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        why = _client.unsafe_folder(folder)
        if why is not None:
            os.close(folder)
            raise pie.InputError(
                f"pie serve cannot listen in {self.cache_dir}: {why}; use a cache folder only "
                "you can write to (chmod go-w, or --cache-dir DIR)"
            )
        path = _client.socket_path(folder)
        if os.path.lexists(path):
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
                probe.connect(path)
                os.close(folder)
                raise pie.InputError(f"a pie serve already listens in {self.cache_dir}")
            os.unlink(path)  # a server that ended without removing it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # 0600 from the start: no moment when others may connect
        try:
            listener.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        listener.listen(64)
        return listener, folder

    def serve(self) -> int:
        """Serve until SIGINT or SIGTERM; then the children's runs are stopped too."""
        listener, folder = self._listen()
        previous = signal.signal(signal.SIGTERM, _stop)
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        print(
            f"pie serve: listening in {self.cache_dir} for 'pie run' of uid {os.getuid()} "
            "with this environment (PATH, PIE_*); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        try:
            while True:
                self._step(None)
        except KeyboardInterrupt:
            pass
        finally:
            self.selector.unregister(listener)
            listener.close()
            with contextlib.suppress(OSError):
                os.unlink(_client.socket_path(folder))
            os.close(folder)
            self._stop_children()
            signal.signal(signal.SIGTERM, previous)
        print("pie serve: stopped", file=sys.stderr)
        return EXIT_INTERRUPTED

    def _step(self, timeout: float | None) -> None:
        for key, _events in self.selector.select(timeout):
            key.data(key.fileobj)

    # ---- requests ------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        connection, _ = listener.accept()
        try:
            started = self._start(connection)
        except (OSError, EOFError, ValueError, TypeError) as error:
            with contextlib.suppress(OSError):
                _client.send_message(connection, {"refused": f"bad request: {error}"})
            started = False
        if not started:
            connection.close()

    def _start(self, connection: socket.socket) -> bool:
        uid = _client.peer_uid(connection)
        if uid != os.getuid():
            _client.send_message(connection, {"refused": f"uid {uid} is not this server's"})
            return False
        connection.settimeout(REQUEST_SECONDS)
        request, fds = _receive_request(connection)
        try:
            why = self._refusal(request, fds)
            if why is not None:
                _client.send_message(connection, {"refused": why})
                return False
            connection.settimeout(None)
            pid = os.fork()
            if pid == 0:
                self._run_child(request, fds)
        finally:
            for fd in fds:
                os.close(fd)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = _Child(pid, pidfd, connection)
        self.selector.register(pidfd, selectors.EVENT_READ, lambda _: self._ended(pid))
        self.selector.register(connection, selectors.EVENT_READ, lambda _: self._signal(pid))
        return True

    def _refusal(self, request: dict[str, Any], fds: list[int]) -> str | None:
        if len(fds) != 3:
            return f"{len(fds)} file descriptors instead of stdin, stdout and stderr"
        argv = request.get("argv")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            return "no argument list"
        if _client.served_command(argv) is None:
            return f"only {', '.join(_client.SERVED_COMMANDS)} is served"
        if not isinstance(request.get("cwd"), str):
            return "no working folder"
        umask = request.get("umask")
        if not isinstance(umask, int) or not 0 <= umask <= 0o777:
            return "no umask"
        if request.get("code") != self.code:
            return "pie changed since this server started (restart pie serve)"
        theirs = request.get("environment")
        if theirs != self.environment:
            names = sorted(
                set(self.environment) ^ set(theirs or {})
                | {n for n in self.environment if (theirs or {}).get(n) != self.environment[n]}
            )
            return f"the environment differs from the server's in {', '.join(names)}"
        return None

    def _run_child(self, request: dict[str, Any], fds: list[int]) -> NoReturn:
        """In the forked child: become the client's ``pie`` process and run the command."""
        code = 1
        try:
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the server's sockets are not ours
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _own_streams()
            os.chdir(request["cwd"])
            os.umask(request["umask"])
            sys.argv = ["pie", *request["argv"]]
            code = self.command(request["argv"])
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else EXIT_USAGE
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(code)

    def _signal(self, pid: int) -> None:
        """A byte from the client is a signal for its child; the end of its connection means
        the client is gone (killed): the child's run stops as for SIGTERM."""
        child = self.children[pid]
        assert child.connection is not None
        try:
            data = child.connection.recv(64)
        except OSError:
            data = b""
        if not data:
            self._drop_connection(child)
            data = bytes([signal.SIGTERM])
        for number in data:
            if number in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, number)

    def _ended(self, pid: int) -> None:
        child = self.children.pop(pid)
        self.selector.unregister(child.pidfd)
        os.close(child.pidfd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if child.connection is not None:
            with contextlib.suppress(OSError):
                _client.send_message(child.connection, {"exit": code if code >= 0 else 128 - code})
            self._drop_connection(child)

    def _drop_connection(self, child: _Child) -> None:
        if child.connection is not None:
            self.selector.unregister(child.connection)
            child.connection.close()
            child.connection = None

    def _stop_children(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        waited = 0.0
        while self.children and waited < STOP_SECONDS:
            with contextlib.suppress(KeyboardInterrupt):
                self._step(0.5)
            waited += 0.5
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._ended(pid)


def _stop(_number: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _receive_request(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request and the descriptors sent with it (closed again if the request is bad)."""
    head, fds, _flags, _address = socket.recv_fds(connection, 1 << 16, 3)
    try:
        return _request_of(connection, head), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _request_of(connection: socket.socket, head: bytes) -> dict[str, Any]:
    if len(head) < 4:
        head += _client.receive_exactly(connection, 4 - len(head))
    size = int.from_bytes(head[:4], "big")
    if size > _client.MESSAGE_LIMIT:
        raise ValueError(f"a request of {size} bytes, over {_client.MESSAGE_LIMIT}")
    body = head[4:]
    if len(body) < size:
        body += _client.receive_exactly(connection, size - len(body))
    request = json.loads(body)
    if not isinstance(request, dict):
        raise TypeError("the request is not an object")
    return request


def _own_streams() -> None:
    """sys.stdin/stdout/stderr on the client's descriptors, buffered as the client's own
    interpreter would buffer them (a terminal line by line)."""
    encoding = sys.stdout.encoding
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False), encoding=encoding, line_buffering=os.isatty(1)
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
    )
