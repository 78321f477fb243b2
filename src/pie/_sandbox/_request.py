"""One launch request, typed: what the launcher is asked to run and under which limits.

The launcher's parser (``launcher/request.cpp``) reads exactly these fields under the same
names; ``pie-launcher --echo-request`` prints what it parsed, and a test checks that every
request survives the trip unchanged.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs


class Profile(str, enum.Enum):
    """Which seccomp policy applies (see ``_policy.py``)."""

    RUN = "run"  # a test run: allow-list, refused calls named in the result
    COMPILE = "compile"  # the compiler: forks, execs its tools
    QEMU = "qemu"  # an emulated, counted run: qemu-user needs a deny-list


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value)


@attrs.frozen
class LaunchRequest:
    profile: Profile
    program: tuple[str, ...] = attrs.field(converter=_strings)
    time_limit_ms: int
    wall_limit_ms: int
    memory_bytes: int
    stack_bytes: int
    output_bytes: int
    # no memory cgroup: the launcher watches the resident size against ``memory_bytes``
    memory_by_rss: bool = False
    address_bytes: int = 0  # RLIMIT_AS, 0 for none
    processes: int = 0  # RLIMIT_NPROC (only with a uid of our own) and pids.max
    open_files: int = 64
    pid_namespace: bool = True
    pin_cpu: int | None = None
    uid: int | None = None
    gid: int | None = None
    cgroups: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # directories overmounted with an empty one in a private mount namespace, where possible
    hide: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    name_refused_syscalls: bool = True
    stdin: str = "/dev/null"
    stdout: str = "/dev/null"
    stderr: str = "/dev/null"
    cwd: str = "/"
    read: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    execute: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    write: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    env: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def to_args(self) -> list[str]:
        """The launcher's command-line form."""
        args = ["--profile", self.profile.value]
        numbers = {
            "--time-limit-ms": self.time_limit_ms,
            "--wall-limit-ms": self.wall_limit_ms,
            "--memory-bytes": self.memory_bytes,
            "--memory-by-rss": int(self.memory_by_rss),
            "--address-bytes": self.address_bytes,
            "--stack-bytes": self.stack_bytes,
            "--output-bytes": self.output_bytes,
            "--processes": self.processes,
            "--open-files": self.open_files,
            "--pid-namespace": int(self.pid_namespace),
            "--name-refused-syscalls": int(self.name_refused_syscalls),
        }
        for option, value in numbers.items():
            args += [option, str(value)]
        for option, maybe in (
            ("--pin-cpu", self.pin_cpu),
            ("--uid", self.uid),
            ("--gid", self.gid),
        ):
            if maybe is not None:
                args += [option, str(maybe)]
        args += ["--stdin", self.stdin, "--stdout", self.stdout, "--stderr", self.stderr]
        args += ["--cwd", self.cwd]
        lists = (
            ("--cgroup", self.cgroups),
            ("--hide", self.hide),
            ("--read", self.read),
            ("--exec", self.execute),
            ("--write", self.write),
            ("--env", self.env),
        )
        for option, items in lists:
            for item in items:
                args += [option, item]
        return [*args, "--", *self.program]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LaunchRequest:
        """What ``pie-launcher --echo-request`` printed."""
        return cls(**{**data, "profile": Profile(data["profile"])})
