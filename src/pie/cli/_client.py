"""The ``pie`` command as a client of a running ``pie serve`` (pie.cli._serve).

It loads the standard library's socket and json only, so that a warm ``pie run`` costs the
interpreter's start and one round trip: the server forks a child that already holds pie's
modules, hands it this process's stdin, stdout and stderr (``SCM_RIGHTS``), and sends back
its exit status.  Ctrl-C and SIGTERM here are forwarded to that child, which stops its run
as ``pie run`` does.

Nothing is sent unless the socket is this user's own, in a cache folder only this user can
write to, and the process listening on it runs as this user (``SO_PEERCRED``): a planted
socket would otherwise receive our terminal.  When no server listens, ``served`` returns
``None`` and the command runs in this process, as it would without a server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import struct
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from types import FrameType

import pie

SOCKET_NAME = "serve.sock"
# the commands a server runs; any other runs here (the rest gain nothing from a warm server)
SERVED_COMMANDS = ("run",)
# what pie reads from the environment: the server runs a request only when its own is equal
READ_ENVIRONMENT = (
    "PATH",
    "HOME",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONPATH",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "SSH_AUTH_SOCK",
)
_HEADER = struct.Struct("!I")
MESSAGE_LIMIT = 1 << 20
# the server went away before it said how the run ended: nothing says whether it finished
EXIT_LOST = 75


def environment() -> dict[str, str]:
    """The part of ``os.environ`` that decides what pie does."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in READ_ENVIRONMENT or name.startswith("PIE_")
    }


def code_stamp() -> list[object]:
    """Which pie this is: the interpreter and its environment (``sys.prefix``: a venv), and
    the name, size and time of each of pie's modules.  A server started before pie changed
    runs old code: it must not serve."""
    package = os.path.dirname(pie.__file__)
    files = []
    for folder, subfolders, names in os.walk(package):
        subfolders[:] = sorted(s for s in subfolders if s != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                info = os.stat(path)
                files.append([os.path.relpath(path, package), info.st_size, info.st_mtime_ns])
    return [os.path.realpath(sys.executable), sys.prefix, package, files]


def served_command(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (after the top-level ``--cache-dir DIR``), or None."""
    words = list(argv)
    while words and words[0].startswith("--cache-dir"):
        words = words[1:] if "=" in words[0] else words[2:]
    return words[0] if words and words[0] in SERVED_COMMANDS else None


def send_message(connection: socket.socket, message: object, fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
    sent = connection.sendmsg([payload], rights if fds else [])
    if sent < len(payload):
        connection.sendall(payload[sent:])


def receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError("the connection closed")
        data += chunk
    return data


def receive_message(connection: socket.socket) -> object:
    (size,) = _HEADER.unpack(receive_exactly(connection, _HEADER.size))
    if size > MESSAGE_LIMIT:
        raise ValueError(f"a message of {size} bytes, over the {MESSAGE_LIMIT}-byte limit")
    return json.loads(receive_exactly(connection, size))


def peer_uid(connection: socket.socket) -> int:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def unsafe_folder(folder_fd: int) -> str | None:
    """Why a socket in this folder may not be ours (another user owns the folder or may write
    to it), or None."""
    info = os.fstat(folder_fd)
    if info.st_uid != os.getuid():
        return f"it is owned by uid {info.st_uid}"
    if info.st_mode & 0o022:
        return f"others may write to it (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def socket_path(folder_fd: int) -> str:
    """The socket's name through the folder's descriptor: short (a unix socket's path has
    108 bytes at most; cache folders can be longer) and bound to the folder we checked."""
    return f"/proc/self/fd/{folder_fd}/{SOCKET_NAME}"


def _standard_streams_open() -> bool:
    """stdin, stdout and stderr can be handed over (a closed one is this process's business)."""
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def _note(text: str) -> None:
    print(f"pie: {text}; running here instead", file=sys.stderr)


def _connect(cache_dir: str) -> socket.socket | None:
    """A connection to this user's own server in ``cache_dir``, or None (with a note when a
    socket is there but is not to be trusted or did not answer as ours)."""
    try:
        folder = os.open(cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            info = os.stat(SOCKET_NAME, dir_fd=folder, follow_symlinks=False)
        except OSError:
            return None
        why = unsafe_folder(folder)
        if why is None and (not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.getuid()):
            why = f"{SOCKET_NAME} is not a socket of uid {os.getuid()}"
        if why is not None:
            _note(f"not using the pie server in {cache_dir}: {why}")
            return None
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(socket_path(folder))
        except OSError:  # a server that ended and left its socket: nothing to say
            connection.close()
            return None
        if peer_uid(connection) != os.getuid():
            connection.close()
            _note(f"the pie server in {cache_dir} runs as another user")
            return None
        return connection
    finally:
        os.close(folder)


@contextmanager
def _forwarding(connection: socket.socket) -> Iterator[None]:
    """Ctrl-C and SIGTERM go to the server's child (one byte: the signal's number)."""

    def forward(number: int, _frame: FrameType | None) -> None:
        with suppress(OSError):
            connection.send(bytes([number]))

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def served(argv: Sequence[str]) -> int | None:
    """The exit status of ``pie ARGV`` run by a server, or None: run it here."""
    if served_command(argv) is None or not _standard_streams_open():
        return None
    cache_dir = str(pie.default_cache_dir())
    connection = _connect(cache_dir)
    if connection is None:
        return None
    with connection:
        umask = os.umask(0o077)
        os.umask(umask)
        request = {
            "argv": list(argv),
            "cwd": os.getcwd(),
            "umask": umask,
            "environment": environment(),
            "code": code_stamp(),
        }
        try:
            send_message(connection, request, fds=(0, 1, 2))
            with _forwarding(connection):
                reply = receive_message(connection)
        except (OSError, EOFError, ValueError) as error:
            print(f"pie: the pie server in {cache_dir} went away: {error}", file=sys.stderr)
            return EXIT_LOST
    if isinstance(reply, dict) and isinstance(reply.get("exit"), int):
        return int(reply["exit"])
    refused = reply.get("refused") if isinstance(reply, dict) else None
    _note(f"the pie server in {cache_dir} did not run this: {refused or reply!r}")
    return None
