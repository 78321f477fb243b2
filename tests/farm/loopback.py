"""Loopback gem5 hosts for tests and the farm benchmark: real SSH servers on 127.0.0.1.

Each host is an asyncssh server on an ephemeral port with its own host key, accepting one
user with one client key (generated here), running every command as a real local process
(``/bin/sh -c``) in a session of its own, with an SFTP server confined to the host's folder.
Its ``gem5.opt`` is a wrapper that ``exec``s the gem5 STAND-IN (``gem5_standin.py``) with the
variables of ``standin.env`` beside it: pie runs gem5 under ``env -i``, and the wrapper is
byte-identical on every host, so all hosts report the same gem5 identity.

The servers run on their own event loop in a thread, so a test on any event loop (or none)
can use them; ``kill`` makes a host vanish (listener closed, connections cut, every process
it started killed), ``drop_connections`` cuts connections but keeps the host up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.from_thread
import asyncssh
import yaml

STANDIN = Path(__file__).resolve().parent / "gem5_standin.py"
JAIL = Path(__file__).resolve().parents[2] / "docker" / "gem5-host" / "gem5-jail.py"
USER = "pie"
# A stand-in for pie's patched run-se.py: gem5_standin.py only checks that it exists, and pie's
# connection checks that it declares the options of pie's patch (the stand-in implements them).
CONFIG_SCRIPT = (
    '"""A stand-in for pie\'s patched SKL run-se.py (gem5_standin.py implements it)."""\n'
    + "".join(
        f"parser.add_argument('{option}')\n"
        for option in ("--max-ticks", "--argv0", "--report-fd", "--guest-output")
    )
)


class _SFTP(asyncssh.SFTPServer):
    """SFTP confined to the host's folder; counts the files opened for writing."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], host: LoopbackHost) -> None:
        super().__init__(chan)
        self._host = host

    def map_path(self, path: bytes) -> bytes:
        root = str(self._host.root).encode()
        real = os.path.realpath(path)
        if real != root and not real.startswith(root + b"/"):
            raise asyncssh.SFTPPermissionDenied("outside this host's folder")
        return path

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & asyncssh.FXF_WRITE:
            # counted by content hash: uploads go to ".<hash>.<token>.part" first
            self._host.sftp_writes[Path(os.fsdecode(path)).name.lstrip(".").split(".")[0]] += 1
            if self._host.drops_on_upload > 0:  # the connection dies as an upload begins
                self._host.drops_on_upload -= 1
                self._host.drop_connections()
                raise asyncssh.SFTPConnectionLost("dropped by the test during an upload")
        return super().open(path, pflags, attrs)


class _Server(asyncssh.SSHServer):
    def __init__(self, host: LoopbackHost) -> None:
        self._host = host
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._host.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._host.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        assert self._conn is not None
        keys = self._host.authorized_keys if username == USER else asyncssh.SSHAuthorizedKeys()
        self._conn.set_authorized_keys(keys)
        return True


class LoopbackHost:
    """One SSH server on 127.0.0.1 whose folder holds gem5.opt, the config and the workdir."""

    def __init__(self, root: Path, host_key: asyncssh.SSHKey, authorized: str) -> None:
        self.root = root
        self.host_key = host_key
        self.authorized_keys = asyncssh.import_authorized_keys(authorized)
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.sessions: set[int] = set()
        self.sftp_writes: Counter[str] = Counter()
        self.drops_on_upload = 0
        self.commands = 0
        self.port = 0
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.gem5 = root / "gem5" / "build" / "X86" / "gem5.opt"
        # first on the PATH of the host's commands: a test puts host tools here (getconf...)
        self.tools = root / "tools"
        self.config = root / "gem5-configs" / "run-se.py"
        # the farm's Landlock jail, installed with ``install(jail=True)`` (absent otherwise)
        self.jail = root / "jail" / "pie-gem5-jail"
        self.workdir = root / "work"

    def install(self, python: str, farm: str, *, jail: bool = False) -> None:
        self.gem5.parent.mkdir(parents=True)
        if jail:
            self._install_jail(python)
        self.gem5.write_text(
            "#!/bin/sh\n# wrapper around the gem5 STAND-IN (tests only)\n"
            '. "${0%/*}/standin.env"\n'
            f'exec {python} -I -S {STANDIN} "$@"\n'
        )
        self.gem5.chmod(0o755)
        self.set_env({})
        self.config.parent.mkdir(parents=True)
        # the config is part of the farm's identity, hence of cache keys: one per farm
        self.config.write_text(f"{CONFIG_SCRIPT}# farm {farm}\n")

    def _install_jail(self, python: str) -> None:
        """docker/gem5-host/gem5-jail.py, allowing beyond what real gem5 needs only what the
        STAND-IN needs: its Python and script, the folder of its wrapper (standin.env), the
        host tools a test guest (a shell script) runs natively, and the shared log."""
        here, installed = Path(python).parents[1], Path(python).resolve().parents[1]
        reads = [here, installed, STANDIN.parent, "/usr/bin"]
        self.jail.parent.mkdir(parents=True)
        self.jail.write_text(
            "#!/bin/sh\n# the farm's jail, widened for the gem5 STAND-IN (tests only)\n"
            f". {self.gem5.parent}/standin.env\n"
            ': >> "$PIE_STANDIN_LOG"\n'
            f"exec {python} -I {JAIL} {' '.join(f'--read {p}' for p in reads)} "
            f'--read {self.gem5.parent} --write "$PIE_STANDIN_LOG" "$@"\n'
        )
        self.jail.chmod(0o755)

    def pretend_glibc(self, version: str) -> None:
        """The host reports glibc ``version`` (``getconf``), and the stand-in's loader fails
        binaries that need a newer one, as on such a host."""
        self.tools.mkdir(exist_ok=True)
        getconf = self.tools / "getconf"
        getconf.write_text(f'#!/bin/sh\n[ "$1" = GNU_LIBC_VERSION ] && echo "glibc {version}"\n')
        getconf.chmod(0o755)

    def set_env(self, variables: dict[str, str]) -> None:
        lines = [f"export {name}={value}\n" for name, value in variables.items()]
        (self.gem5.parent / "standin.env").write_text("".join(lines))

    async def start(self) -> None:
        self._acceptor = await asyncssh.create_server(
            lambda: _Server(self),
            "127.0.0.1",
            self.port,
            server_host_keys=[self.host_key],
            process_factory=self._run,
            sftp_factory=lambda chan: _SFTP(chan, self),
            allow_scp=False,
            encoding=None,
        )
        self.port = self._acceptor.get_port()

    async def _run(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """The command as a real process in its own session, piped to the SSH channel."""
        self.commands += 1
        local = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            process.command or "",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            cwd=self.root,
            env={
                "PATH": f"{self.tools}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "HOME": str(self.root),
            },
        )
        self.sessions.add(local.pid)
        try:
            async with anyio.create_task_group() as feeding:
                feeding.start_soon(_feed, process, local)
                async with anyio.create_task_group() as output:
                    output.start_soon(_pump, local.stdout, process.stdout)
                    output.start_soon(_pump, local.stderr, process.stderr)
                status = await local.wait()
                feeding.cancel_scope.cancel()  # like sshd: the exit is sent, stdin or not
            with contextlib.suppress(OSError, asyncssh.Error):
                process.exit(status if status >= 0 else 128 - status)
        finally:
            self.sessions.discard(local.pid)

    async def kill(self) -> None:
        """The host vanishes: no listener, no connections, none of its processes."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        self.drop_connections()
        for session in list(self.sessions):
            kill_session(session)

    def drop_connections(self) -> None:
        for conn in list(self.connections):
            conn.abort()


async def _feed(
    process: asyncssh.SSHServerProcess[bytes], local: asyncio.subprocess.Process
) -> None:
    """SSH stdin to the process; its end (EOF or a closed channel) closes the process's stdin,
    as sshd does."""
    assert local.stdin is not None
    try:
        while data := await process.stdin.read(1 << 16):
            local.stdin.write(data)
            await local.stdin.drain()
    except (OSError, asyncssh.Error):
        pass
    finally:
        local.stdin.close()


async def _pump(source: asyncio.StreamReader | None, target: asyncssh.SSHWriter[bytes]) -> None:
    """Process output to the channel; once the channel is gone the rest is discarded."""
    assert source is not None
    open_ = True
    while data := await source.read(1 << 16):
        if open_:
            try:
                target.write(data)
            except (OSError, asyncssh.Error):
                open_ = False


def kill_session(session: int) -> None:
    """SIGKILL every process of a session (gem5's `timeout` makes a process group of its own)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) == session:
                    os.kill(int(entry.name), signal.SIGKILL)


class LoopbackFarm:
    """``count`` loopback hosts, keys, a known_hosts file and a farm YAML writer.

    ``with LoopbackFarm(tmp_path, 2) as farm: config = farm.write_config(slots=2)``
    """

    def __init__(
        self, folder: Path, count: int, *, python: str = sys.executable, jail: bool = False
    ) -> None:
        self.folder = folder
        self.jail = jail
        self.count = count
        self.python = python
        self.hosts: list[LoopbackHost] = []
        self.log = folder / "standin.log"
        self.client_key = folder / "client_key"
        self.known_hosts = folder / "known_hosts"
        self.name = secrets.token_hex(8)
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def __enter__(self) -> LoopbackFarm:
        self.folder.mkdir(parents=True, exist_ok=True)
        client = asyncssh.generate_private_key("ssh-ed25519")
        client.write_private_key(self.client_key)
        authorized = client.export_public_key().decode()
        for index in range(self.count):
            host = LoopbackHost(
                self.folder / f"host{index}",
                asyncssh.generate_private_key("ssh-ed25519"),
                authorized,
            )
            host.install(self.python, self.name, jail=self.jail)
            self.hosts.append(host)
        self._portal_cm = anyio.from_thread.start_blocking_portal("asyncio")
        self._portal = self._portal_cm.__enter__()
        for host in self.hosts:
            self._portal.call(host.start)
        self.write_known_hosts()
        for index in range(self.count):
            self.set_env(index)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for index in range(self.count):
            self.kill(index)
        self._portal_cm.__exit__(exc_type, exc, tb)

    def write_known_hosts(self, keys: dict[int, asyncssh.SSHKey] | None = None) -> None:
        """known_hosts with each host's key (or the ``keys`` given for some, to test refusals)."""
        lines = []
        for index, host in enumerate(self.hosts):
            key = (keys or {}).get(index, host.host_key)
            lines.append(f"[127.0.0.1]:{host.port} {key.export_public_key().decode().strip()}\n")
        self.known_hosts.write_text("".join(lines))

    def set_env(self, index: int, **variables: str) -> None:
        """The stand-in's variables on host ``index`` (every host logs to the shared log)."""
        self.hosts[index].set_env({"PIE_STANDIN_LOG": str(self.log), **variables})

    def kill(self, index: int) -> None:
        assert self._portal is not None
        self._portal.call(self.hosts[index].kill)

    def drop_connections(self, index: int) -> None:
        assert self._portal is not None
        self._portal.call(self.hosts[index].drop_connections)

    def settings(self, slots: int = 2, **farm: Any) -> dict[str, Any]:
        hosts = [
            {
                "address": "127.0.0.1",
                "port": host.port,
                "user": USER,
                "key": str(self.client_key),
                "known_hosts": str(self.known_hosts),
                "slots": slots,
                "gem5": str(host.gem5),
                "config": str(host.config),
                "workdir": str(host.workdir),
                "jail": str(host.jail),
            }
            for host in self.hosts
        ]
        return {"hosts": hosts, "timeout": 20, "retries": 2, "backoff": 0.05, **farm}

    def write_config(self, slots: int = 2, name: str = "farm.yaml", **farm: Any) -> Path:
        path = self.folder / name
        path.write_text(yaml.safe_dump(self.settings(slots, **farm), sort_keys=False))
        return path

    def events(self) -> list[tuple[str, str, str]]:
        """The stand-in's log: (event, tag, detail); tag is "<binary>:<input>" (hash
        prefixes), detail the working directory of a start, the exit status and working
        directory of an end."""
        if not self.log.exists():
            return []
        return [
            (fields[0], fields[1], fields[2])
            for fields in (line.split(maxsplit=2) for line in self.log.read_text().splitlines())
        ]

    def counts(self, event: str) -> Counter[str]:
        """How many times each tag had ``event`` ("start" or "end")."""
        return Counter(tag for kind, tag, _ in self.events() if kind == event)

    def live_standins(self) -> list[int]:
        """Stand-in processes of these hosts still running (there must be none after a batch):
        the ones whose working directory lies in a host's folder."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    command = (entry / "cmdline").read_bytes()
                    where = os.readlink(entry / "cwd")
                    if str(STANDIN).encode() in command and where.startswith(str(self.folder)):
                        found.append(int(entry.name))
        return found


def jobs_folders(farm: LoopbackFarm) -> Iterator[Path]:
    """Remote job folders left on any host (cleanup leaves none)."""
    for host in farm.hosts:
        jobs = host.workdir / "jobs"
        if jobs.is_dir():
            yield from jobs.iterdir()
