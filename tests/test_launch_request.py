"""The typed launch request reaches the C++ launcher unchanged (hypothesis, the real parser)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pie._errors import SandboxError
from pie._sandbox import Sandbox, _launcher
from pie._sandbox._request import LaunchRequest, Profile

# anything argv can carry: no NUL; surrogates stand for undecodable bytes of a path
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
NUMBER = st.integers(0, 2**63 - 1)
OPTIONAL = st.none() | NUMBER
TEXTS = st.lists(TEXT, max_size=4).map(tuple)

REQUESTS = st.builds(
    LaunchRequest,
    profile=st.sampled_from(Profile),
    program=st.lists(TEXT, min_size=1, max_size=4).map(tuple),
    time_limit_ms=NUMBER,
    wall_limit_ms=NUMBER,
    memory_bytes=NUMBER,
    stack_bytes=NUMBER,
    output_bytes=NUMBER,
    memory_by_rss=st.booleans(),
    address_bytes=NUMBER,
    processes=NUMBER,
    open_files=NUMBER,
    pid_namespace=st.booleans(),
    pin_cpu=OPTIONAL,
    uid=OPTIONAL,
    gid=OPTIONAL,
    cgroups=TEXTS,
    hide=TEXTS,
    name_refused_syscalls=st.booleans(),
    stdin=TEXT,
    stdout=TEXT,
    stderr=TEXT,
    cwd=TEXT,
    read=TEXTS,
    execute=TEXTS,
    write=TEXTS,
    env=TEXTS,
)


@pytest.fixture(scope="module")
def launcher(cache_dir: Path) -> Path:
    return _launcher.launcher_path(cache_dir)


def echo(launcher: Path, request: LaunchRequest) -> LaunchRequest:
    done = subprocess.run(
        [str(launcher), "--echo-request", *request.to_args()],
        capture_output=True,
        check=True,
        timeout=10,
    )
    return LaunchRequest.from_json(json.loads(done.stdout.decode("utf-8", "surrogateescape")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=REQUESTS)
def test_every_request_survives_the_trip(launcher: Path, request: LaunchRequest) -> None:
    assert echo(launcher, request) == request


def test_undecodable_path_bytes_survive(launcher: Path) -> None:
    path = b"/tmp/caf\xe9/input.0.txt".decode("utf-8", "surrogateescape")
    request = LaunchRequest(
        profile=Profile.RUN, program=("/bin/true",), time_limit_ms=1, wall_limit_ms=2,
        memory_bytes=3, stack_bytes=4, output_bytes=5, stdin=path,
    )  # fmt: skip
    assert echo(launcher, request).stdin == path


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--time-limit-ms", "ten", "--", "/bin/true"], "bad number"),
        (["--pid-namespace", "2", "--", "/bin/true"], "a flag must be 0 or 1"),
        (["--no-such-option", "1", "--", "/bin/true"], "unknown option"),
        (["--time-limit-ms", "1"], "no program given"),
    ],
)
def test_malformed_requests_are_refused_by_name(
    launcher: Path, args: list[str], error: str
) -> None:
    done = subprocess.run(
        [str(launcher), "--echo-request", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 125
    assert error in json.loads(done.stdout)["setup_error"]


def test_a_broken_launcher_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "pie-launcher-broken"
    broken.write_text("#!/bin/sh\necho 'cannot run here' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(_launcher, "launcher_path", lambda *args: broken)
    with pytest.raises(SandboxError, match=r"failed its start-up probe \(exit 3\): cannot run"):
        Sandbox(tmp_path, slots=1)
