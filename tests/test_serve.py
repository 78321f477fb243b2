"""``pie serve`` and its client: served runs answer as runs here do, a client that differs runs
here and says why, Ctrl-C reaches the served run, and neither a sandboxed program nor another
user reaches the server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie.cli._serve import unsafe_sandbox
from tests.conftest import SUM_OK, make_tests

# the client must stay light: none of these may load before it knows whether a server answers
HEAVY = ("pie.cli._main", "pie._evaluator", "anyio", "attrs", "argparse", "sqlite3")


def _environment(cache: Path) -> dict[str, str]:
    env = {**os.environ, "PIE_CACHE_DIR": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def start_server(cache: Path) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "pie.cli", "serve"],
        env=_environment(cache),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (cache / "serve.sock").exists():
        assert server.poll() is None, server.communicate()[1]
        assert time.monotonic() < deadline, "pie serve did not listen within 60 s"
        time.sleep(0.05)
    return server


def stop_server(server: subprocess.Popen[str]) -> str:
    server.send_signal(signal.SIGTERM)
    _, stderr = server.communicate(timeout=60)
    return stderr


@pytest.fixture(scope="module")
def server(cache_dir: Path) -> Iterator[tuple[Path, int]]:
    """A server in the shared cache folder (its launcher and PCH are built), for this module's
    tests only: it stops before the next module's commands could be served."""
    cache = cache_dir
    process = start_server(cache)
    try:
        yield cache, process.pid
    finally:
        stderr = stop_server(process)
        assert "stopped" in stderr, stderr
        assert not (cache / "serve.sock").exists()


def client(cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pie", *args],
        env={**_environment(cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


SERVED_PROBE = """
import sys
from pie.cli import _client
code = _client.served(sys.argv[1:])
print(code, [m for m in {heavy!r} if m in sys.modules], file=sys.stderr)
"""


def test_a_served_run_answers_as_a_run_here_and_the_client_loads_nothing_heavy(
    server: tuple[Path, int], tmp_path: Path
) -> None:
    cache, _ = server
    tests = make_tests(tmp_path / "tests", [("3 4\n", "7\n"), ("1 1\n", "2\n")])
    source = tmp_path / "sum.cpp"
    source.write_text(SUM_OK)
    args = ["run", str(source), "--tests", str(tests), "--json"]
    probe = SERVED_PROBE.format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        env=_environment(cache),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stderr.strip() == "0 []", done.stderr
    served = json.loads(done.stdout)
    assert served["verdict"] == "AC" and len(served["tests"]) == 2
    # the same command run here (pie.cli.main never asks a server) says the same
    here = subprocess.run(
        [sys.executable, "-c", "import sys; from pie.cli import main; sys.exit(main())", *args],
        env=_environment(cache),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert here.returncode == 0, here.stderr
    ran_here = json.loads(here.stdout)
    verdicts = [(t["index"], t["verdict"], t["accuracy"]) for t in served["tests"]]
    assert [(t["index"], t["verdict"], t["accuracy"]) for t in ran_here["tests"]] == verdicts
    assert ran_here["sandbox"] == served["sandbox"] and ran_here["verdict"] == "AC"
    # a wrong program: the exit status comes back too, and relative paths are the client's
    (tmp_path / "wrong.cpp").write_text("int main() { return 0; }\n")
    wrong = subprocess.run(
        [sys.executable, "-m", "pie", "run", "wrong.cpp", "--tests", "tests"],
        cwd=tmp_path,
        env=_environment(cache),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert wrong.returncode == 1 and wrong.stdout.startswith("WA"), wrong
    assert wrong.stderr == ""


def test_a_client_in_another_environment_runs_here_and_says_why(
    server: tuple[Path, int], tmp_path: Path
) -> None:
    cache, _ = server
    tests = make_tests(tmp_path / "tests", [("3 4\n", "7\n")])
    source = tmp_path / "sum.cpp"
    source.write_text(SUM_OK)
    done = client(cache, "run", str(source), "--tests", str(tests), PIE_OTHER="1")
    assert "environment differs from the server's in PIE_OTHER" in done.stderr
    assert "running here instead" in done.stderr
    assert done.returncode == 0 and done.stdout.startswith("AC")


def test_ctrl_c_in_the_client_stops_the_served_run(
    server: tuple[Path, int], tmp_path: Path
) -> None:
    cache, pid = server
    tests = make_tests(tmp_path / "tests", [("1\n", "1\n")])
    source = tmp_path / "spin.cpp"
    source.write_text("int main() { volatile unsigned long x = 0; for (;;) ++x; }\n")
    running = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pie",
            "run",
            str(source),
            "--tests",
            str(tests),
            "--time-limit",
            "60",
        ],
        env=_environment(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = psutil.Process(pid)
    deadline = time.monotonic() + 120
    # the run is on once the child has a launcher (the compile's or the run's) under it
    while len(served.children(recursive=True)) < 2:
        assert running.poll() is None, running.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    started = time.monotonic()
    running.send_signal(signal.SIGINT)
    _, stderr = running.communicate(timeout=30)
    assert running.returncode == 130, stderr
    assert "interrupted" in stderr
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 15
    while served.children(recursive=True):
        assert time.monotonic() < deadline, served.children(recursive=True)
        time.sleep(0.05)


CONNECT = r"""
#include <cstdio>
#include <cstring>
#include <cerrno>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main() {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) { std::printf("socket failed: %s\n", std::strerror(errno)); return 0; }
  sockaddr_un where{};
  where.sun_family = AF_UNIX;
  std::strncpy(where.sun_path, "PATH", sizeof where.sun_path - 1);
  if (connect(fd, (sockaddr*)&where, sizeof where) != 0) {
    std::printf("connect failed: %s\n", std::strerror(errno));
    return 0;
  }
  std::printf("connected\n");
}
"""


def test_a_sandboxed_program_cannot_reach_the_servers_socket(
    server: tuple[Path, int], tmp_path: Path
) -> None:
    cache, _ = server
    # a short path: sun_path holds 108 bytes; the link leads to the server's socket
    link = Path("/tmp") / f"pie-serve-{os.getpid()}.sock"
    link.unlink(missing_ok=True)
    link.symlink_to(cache / "serve.sock")
    try:
        source = tmp_path / "connect.cpp"
        source.write_text(CONNECT.replace("PATH", str(link)))
        # outside the sandbox the same program reaches it: the socket is there to reach
        binary = tmp_path / "connect"
        subprocess.run(["g++", "-O1", str(source), "-o", str(binary)], check=True, timeout=120)
        outside = subprocess.run([str(binary)], capture_output=True, text=True, check=False)
        assert outside.stdout == "connected\n"
        tests = make_tests(tmp_path / "tests", [("\n", "connected\n")])
        done = client(cache, "run", str(source), "--tests", str(tests), "--json")
        assert done.stderr == ""
        result = json.loads(done.stdout)
        assert result["verdict"] == "WA", result  # it ran, and printed why it could not
    finally:
        link.unlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: setpriv to another uid")
def test_another_user_is_refused() -> None:
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed"
    # a folder others may enter but not write to (the server accepts it), on a path they can
    # walk (pytest's own folders are 0700): only the socket's mode and the uid check are left
    cache = Path(tempfile.mkdtemp(prefix="pie-serve-uid-", dir="/tmp"))
    cache.chmod(0o755)
    server = start_server(cache)
    socket_file = cache / "serve.sock"
    attempt = (
        "import socket, struct, json, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({str(socket_file)!r})\n"
        "except PermissionError:\n"
        "    print('connect refused'); sys.exit()\n"
        # the server answers before reading a byte: nothing of ours is read
        "size = struct.unpack('!I', s.recv(4))[0]\n"
        "print(json.loads(s.recv(size)))\n"
    )
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"]
    try:
        assert oct(socket_file.stat().st_mode & 0o777) == "0o600"
        done = subprocess.run([*nobody, "-c", attempt], capture_output=True, text=True, check=False)
        assert done.stdout == "connect refused\n", done
        # with the mode opened by mistake, the server still refuses: it checks the peer's uid
        socket_file.chmod(0o666)
        done = subprocess.run([*nobody, "-c", attempt], capture_output=True, text=True, check=False)
        assert "uid 65534 is not this server's" in done.stdout, done
    finally:
        stop_server(server)
        shutil.rmtree(cache)


words = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)


@given(directory=words, rest=st.lists(words, max_size=4))
def test_the_command_word_is_found_after_the_top_level_cache_dir(
    directory: str, rest: list[str]
) -> None:
    from pie.cli._client import served_command  # noqa: PLC0415

    expected = "run" if rest[:1] == ["run"] else None
    assert served_command(rest) == expected
    assert served_command(["--cache-dir", directory, *rest]) == expected
    assert served_command([f"--cache-dir={directory}", *rest]) == expected


@given(data=st.binary(max_size=64) | st.builds(lambda n, b: n.to_bytes(4, "big") + b,
       st.integers(0, 2**32 - 1), st.binary(max_size=32)))  # fmt: skip
def test_a_request_of_any_bytes_is_a_request_or_a_clear_refusal(data: bytes) -> None:
    from pie.cli._serve import _request_of  # noqa: PLC0415

    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(data[4:])
        theirs.close()
        try:
            request = _request_of(ours, data[:4])
        except (ValueError, TypeError, EOFError):
            return
        assert isinstance(request, dict)


def test_no_server_listens_where_the_sandbox_has_no_seccomp() -> None:
    """Without seccomp a program (this user's, when pie is not root) could connect()."""
    here = pie.doctor()
    assert unsafe_sandbox(here) is None  # this host has seccomp (pie doctor says so)
    weaker = [pie.HostFact("summary", "pidns+landlock7+no-seccomp+no-cgroup+same-uid")]
    why = unsafe_sandbox(weaker)
    assert why is not None and "seccomp" in why and "without a server" in why
