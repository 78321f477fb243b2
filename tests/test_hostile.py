"""The hostile corpus (tests/hostile/*.cpp): each program's verdict, and proof nothing escaped.

Every file declares in its header what it must get and what it must not achieve; see
tests/hostile/README.md for the format.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pie
from tests.conftest import live_processes_named

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parent / "hostile"
SECRET = "SECRET-ANSWER-42"


@attrs.frozen
class Case:
    name: str
    source: str
    expect: frozenset[str]
    input: str = ""
    expected_output: str = ""
    time: float = 2.0
    memory: int = 512
    escape: frozenset[str] = frozenset()
    check: str = "strict"
    reason: str = ""


def parse_case(path: Path) -> Case:
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("//"):
            break
        key, _, value = line[2:].strip().partition(":")
        fields[key.strip()] = value.strip()
    limits = dict(item.split("=") for item in fields.get("limits", "").split())
    return Case(
        name=path.stem,
        source=path.read_text(),
        expect=frozenset(fields["expect"].split("|")),
        input=fields.get("input", ""),
        expected_output=fields.get("expected_output", ""),
        time=float(limits.get("time", 2)),
        memory=int(limits.get("memory", 512)),
        escape=frozenset(fields.get("escape", "none").split("|")) - {"none"},
        check=fields.get("check", "strict"),
        reason=fields.get("reason", ""),
    )


CASES = [parse_case(p) for p in sorted(CORPUS.glob("*.cpp"))]


@attrs.frozen
class Traps:
    """What an escape would touch: a canary path, listeners, a secret file."""

    canary: Path
    secret: Path
    unix_path: Path
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket

    @property
    def port(self) -> int:
        return int(self.tcp.getsockname()[1])

    def fill(self, text: str) -> str:
        return (
            text.replace("{PORT}", str(self.port))
            .replace("{EXPECTED}", str(self.secret))
            .replace("{CANARY}", str(self.canary))
            .replace("{SOCKET}", str(self.unix_path))
        )

    def connections(self) -> list[str]:
        seen = []
        for name, listener in (("tcp", self.tcp), ("unix", self.unix)):
            with contextlib.suppress(BlockingIOError):
                listener.accept()[0].close()
                seen.append(name)
        with contextlib.suppress(BlockingIOError):
            self.udp.recv(1024)
            seen.append("udp")
        return seen


@contextlib.contextmanager
def traps(folder: Path) -> Iterator[Traps]:
    # World-writable and world-readable: only the sandbox stands between program and trap.
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    secret = folder / "secret-output.txt"
    secret.write_text(SECRET + "\n")
    os.chmod(secret, 0o644)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", tcp.getsockname()[1]))
    unix_path = folder / "listener.sock"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(unix_path))
    os.chmod(unix_path, 0o777)
    unix.listen(8)
    for listener in (tcp, udp, unix):
        listener.setblocking(False)
    try:
        yield Traps(folder / "canary", secret, unix_path, tcp, udp, unix)
    finally:
        for listener in (tcp, udp, unix):
            listener.close()


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A folder every uid may traverse (pytest's tmp_path sits under a 0700 folder, which would
    stop a sandbox uid by itself): only the sandbox may stand between program and trap."""
    folder = Path(tempfile.mkdtemp(prefix="pie-hostile-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_program(case: Case, reachable: Path, cache_dir: Path) -> None:
    tmp_path = reachable
    with traps(tmp_path / "traps") as trap:
        tests = tmp_path / "tests"
        tests.mkdir()
        given = trap.fill(case.input).replace("{TESTS}", str(tests))
        (tests / "input.0.txt").write_text(given + "\n")
        (tests / "output.0.txt").write_text(case.expected_output + "\n")
        os.chmod(tests, 0o755)
        limits = pie.Limits(time_limit=case.time, memory_limit=case.memory, output_mib=16)
        result = await pie.evaluate(
            case.source, tests, limits=limits, cache_dir=cache_dir, concurrency=1, check=case.check
        )
        assert result.verdict.value in case.expect, (
            f"{case.name}: got {result.verdict.value}, expected {sorted(case.expect)}; "
            f"test={result.tests[0] if result.tests else result.compile.message}"
        )
        if case.reason:
            assert case.reason in (result.tests[0].reason or ""), result.tests[0]
        time.sleep(0.1 if "file" not in case.escape else 2.5)  # give a daemon time to act
        assert not trap.canary.exists(), f"{case.name} wrote {trap.canary}"
        assert trap.connections() == [], f"{case.name} reached a listener"
        assert live_processes_named(str(trap.canary)) == [], f"{case.name} left a process"
        assert list((tmp_path / "traps").iterdir()) == [trap.secret, trap.unix_path] or set(
            (tmp_path / "traps").iterdir()
        ) == {trap.secret, trap.unix_path}
