"""The farm YAML (DESIGN "Farm YAML (contract)"), checked completely before any connection.

Every error names the file, the line, the key and the fix.  Host keys are always verified:
there is no "accept any host key" setting, and a host whose address is an IP must already
be listed in its ``known_hosts`` file.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
import yaml

from pie._errors import InputError
from pie._public import public
from pie._yaml import Field, YamlReader, read_text

# The simulated-time budget per test: 20 ms simulated (70 M cycles at 3.5 GHz, 20 times PIE's
# hello world).  At the 5-30 host seconds per simulated ms estimated for gem5's O3 CPU
# (../shared/gem5/NOTES.md section 4), PIE's 120 host seconds per test (gem5_api.py) admitted
# about 4-24 ms: the budget is what PIE's limit allowed on a fast host, alike on every host.
MAX_TICKS = 20 * 10**9
# The host-time safety net: a budget-sized run at the slow end of that estimate (30 s per ms
# simulated) takes 600 s; past this, the host, not the program, is at fault.
SAFETY_TIMEOUT_S = 600.0
MAX_TICKS_LIMIT = 2**63 - 1
MAX_SLOTS = 1024


@public
class FarmConfigError(InputError):
    """The farm YAML is malformed: the message says where and how to fix it."""


JAIL = "/usr/local/libexec/pie-gem5-jail"


@public
@attrs.frozen
class HostConfig:
    """One gem5 host: how to reach it and where gem5, its config and the scratch space are."""

    address: str
    user: str
    key: Path
    known_hosts: Path
    slots: int
    gem5: str
    config: str
    workdir: str
    port: int = 22
    # SKL's run-se.py imports ``core``/``caches`` from its ``system`` folder; gem5 runs with an
    # empty environment, so this is the one variable it gets (PIE's image sets the same path).
    pythonpath: str | None = None
    # the Landlock wrapper every job runs gem5 through when it is there (docker/gem5-host)
    jail: str = JAIL

    @property
    def name(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    @property
    def gem5_pythonpath(self) -> str:
        if self.pythonpath is not None:
            return self.pythonpath
        return str(PurePosixPath(self.config).parent / "system")


@public
@attrs.frozen
class FarmConfig:
    """The whole farm.  ``max_ticks`` is the simulated-time budget per gem5 run (a program
    still running then is over budget, on every host alike); ``timeout`` is host seconds per
    run, a safety net whose expiry is the host's failure; ``retries`` counts the extra attempts
    a job gets after host failures (on other hosts first); a host is taken out after
    ``host_failures`` failures in a row."""

    hosts: tuple[HostConfig, ...]
    max_ticks: int = MAX_TICKS
    timeout: float = SAFETY_TIMEOUT_S
    retries: int = 2
    threshold_accuracy: float | None = None
    connect_timeout: float = 20.0
    keepalive_interval: float = 15.0
    host_failures: int = 3
    backoff: float = 1.0
    source: str = "<farm config>"

    @property
    def slots(self) -> int:
        return sum(host.slots for host in self.hosts)


@public
def load_farm(path: str | os.PathLike[str]) -> FarmConfig:
    """Read and validate a farm YAML file."""
    file = Path(path).expanduser()
    hint = "; pass the path of a farm YAML (docs/FARM.md shows one)"
    text = read_text(file, "farm config", hint, FarmConfigError)
    return parse_farm(text, str(file), base=file.parent)


def parse_farm(text: str, source: str = "<farm config>", base: Path | None = None) -> FarmConfig:
    """Validate farm YAML ``text``; relative key files are resolved against ``base``."""
    return _Reader(source, base or Path.cwd()).farm(text)


# ---- the reader ---------------------------------------------------------------------------

_FARM_KEYS = (
    "hosts",
    "max_ticks",
    "timeout",
    "retries",
    "threshold_accuracy",
    "connect_timeout",
    "keepalive_interval",
    "host_failures",
    "backoff",
)
_HOST_REQUIRED = ("address", "user", "key", "known_hosts", "slots", "gem5", "config", "workdir")
_HOST_KEYS = (*_HOST_REQUIRED, "port", "pythonpath", "jail")
_REMOTE_PATHS = ("gem5", "config", "workdir", "pythonpath", "jail")

_Check = Callable[[Any], bool]


class _Reader(YamlReader):
    def __init__(self, source: str, base: Path) -> None:
        super().__init__(source, FarmConfigError)
        self.base = base

    # -- structure --

    def farm(self, text: str) -> FarmConfig:
        root = self.compose(text)
        if root is None:
            raise self.error(1, "", "empty farm config; it needs a 'hosts:' list (docs/FARM.md)")
        top = self.mapping(root, "", _FARM_KEYS)
        if "hosts" not in top:
            raise self.error(1, "hosts", "missing; list at least one gem5 host")
        hosts_field = top["hosts"]
        if not isinstance(hosts_field.node, yaml.SequenceNode) or not hosts_field.node.value:
            raise self.error(hosts_field.line, "hosts", "must be a non-empty list of hosts")
        hosts = tuple(
            self.host(node, f"hosts[{i}]") for i, node in enumerate(hosts_field.node.value)
        )
        self.no_duplicate_hosts(hosts, hosts_field.node.value)
        options: dict[str, Any] = {}
        numbers: dict[str, tuple[_Check, str]] = {
            "timeout": (lambda v: 0 < v <= 86_400, "a number of seconds in (0, 86400]"),
            "connect_timeout": (lambda v: 0 < v <= 3600, "a number of seconds in (0, 3600]"),
            "keepalive_interval": (lambda v: 0 < v <= 3600, "a number of seconds in (0, 3600]"),
            "backoff": (lambda v: 0 <= v <= 600, "a number of seconds in [0, 600]"),
        }
        for key, (check, wanted) in numbers.items():
            if key in top:
                options[key] = self.number(top[key], key, check, wanted)
        if "max_ticks" in top:
            options["max_ticks"] = self.integer(top["max_ticks"], "max_ticks", 1, MAX_TICKS_LIMIT)
        if "retries" in top:
            options["retries"] = self.integer(top["retries"], "retries", 0, 20)
        if "host_failures" in top:
            options["host_failures"] = self.integer(top["host_failures"], "host_failures", 1, 100)
        if "threshold_accuracy" in top and top["threshold_accuracy"].value is not None:
            options["threshold_accuracy"] = self.number(
                top["threshold_accuracy"],
                "threshold_accuracy",
                lambda v: 0 <= v <= 1,
                "a fraction in [0, 1] (PIE's gem5_acc_threshold is 0.95)",
            )
        return FarmConfig(hosts=hosts, source=self.source, **options)

    # -- one host --

    def host(self, node: yaml.Node, where: str) -> HostConfig:
        fields = self.mapping(node, where, _HOST_KEYS)
        line = node.start_mark.line + 1
        for key in _HOST_REQUIRED:
            if key not in fields:
                raise self.error(line, f"{where}.{key}", f"missing; {_HOST_HELP[key]}")
        address = self.text(fields["address"], f"{where}.address")
        if any(c.isspace() for c in address) or address.startswith("-"):
            raise self.error(
                fields["address"].line, f"{where}.address", "must be a host name or IP address"
            )
        port = self.integer(fields["port"], f"{where}.port", 1, 65535) if "port" in fields else 22
        remote = {
            key: self.remote_path(fields[key], f"{where}.{key}")
            for key in _REMOTE_PATHS
            if key in fields
        }
        if remote["workdir"] == "/":
            raise self.error(
                fields["workdir"].line, f"{where}.workdir", "must not be '/'; use e.g. /var/tmp/pie"
            )
        known_hosts = self.local_file(fields["known_hosts"], f"{where}.known_hosts")
        self.check_known_hosts(known_hosts, address, port, fields["known_hosts"], where)
        key_file = self.local_file(fields["key"], f"{where}.key")
        self.check_private_key(key_file, fields["key"], where)
        return HostConfig(
            address=address,
            port=port,
            user=self.text(fields["user"], f"{where}.user"),
            key=key_file,
            known_hosts=known_hosts,
            slots=self.integer(fields["slots"], f"{where}.slots", 1, MAX_SLOTS),
            gem5=remote["gem5"],
            config=remote["config"],
            workdir=remote["workdir"].rstrip("/"),
            pythonpath=remote.get("pythonpath"),
            jail=remote.get("jail", JAIL),
        )

    def no_duplicate_hosts(self, hosts: tuple[HostConfig, ...], nodes: list[yaml.Node]) -> None:
        seen: set[str] = set()
        for i, (host, node) in enumerate(zip(hosts, nodes, strict=True)):
            if host.name in seen:
                raise self.error(
                    node.start_mark.line + 1,
                    f"hosts[{i}]",
                    f"{host.name} is listed twice; give one entry more slots instead",
                )
            seen.add(host.name)

    # -- values --

    def text(self, field: Field, where: str) -> str:
        if not isinstance(field.value, str) or not field.value.strip():
            raise self.error(field.line, where, f"must be a non-empty string, got {field.value!r}")
        return field.value.strip()

    def integer(self, field: Field, where: str, low: int, high: int) -> int:
        value = field.value
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(
                field.line, where, f"must be an integer from {low} to {high}, got {value!r}"
            )
        return value

    def number(self, field: Field, where: str, check: _Check, wanted: str) -> float:
        value = field.value
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not check(value):
            raise self.error(field.line, where, f"must be {wanted}, got {value!r}")
        return float(value)

    def remote_path(self, field: Field, where: str) -> str:
        value = self.text(field, where)
        if not value.startswith("/") or any(c in value for c in "\0\n\r"):
            raise self.error(
                field.line,
                where,
                f"must be an absolute path on the host (got {value!r}); '~' is not expanded "
                "remotely, write the full path",
            )
        return value

    def local_file(self, field: Field, where: str) -> Path:
        path = Path(self.text(field, where)).expanduser()
        if not path.is_absolute():
            path = self.base / path
        if not path.is_file() or not os.access(path, os.R_OK):
            raise self.error(field.line, where, f"{path} is not a readable file")
        return path

    def check_known_hosts(
        self, path: Path, address: str, port: int, field: Field, where: str
    ) -> None:
        import asyncssh  # noqa: PLC0415 (0.1 s to import: only for farm files, not import pie)

        try:
            known = asyncssh.read_known_hosts(str(path))
        except (ValueError, OSError) as error:
            raise self.error(
                field.line, f"{where}.known_hosts", f"{path} is not a known_hosts file ({error})"
            ) from None
        if not _is_ip(address):
            return  # a name: asyncssh checks the resolved address too, when it connects
        host_keys, ca_keys, *_ = known.match(address, address, port)
        if not host_keys and not ca_keys:
            entry = address if port == 22 else f"[{address}]:{port}"
            raise self.error(
                field.line,
                f"{where}.known_hosts",
                f"{path} has no key for {entry}; add it (ssh-keyscan -p {port} {address} >> "
                f"{path}) and check its fingerprint with the host's administrator",
            )

    def check_private_key(self, path: Path, field: Field, where: str) -> None:
        import asyncssh  # noqa: PLC0415 (0.1 s to import: only for farm files, not import pie)

        try:
            asyncssh.read_private_key(str(path))
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as error:
            raise self.error(
                field.line,
                f"{where}.key",
                f"{path} is not a usable private key ({error}); pie needs an unencrypted key "
                "file made for the farm (ssh-keygen -t ed25519 -N '' -f FILE)",
            ) from None


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


_HOST_HELP = {
    "address": "the host's name or IP address",
    "user": "the SSH user pie logs in as",
    "key": "the private key file for that user (e.g. ~/.ssh/pie_farm)",
    "known_hosts": "a known_hosts file holding the host's key (host keys are always verified)",
    "slots": "how many gem5 processes the host runs at once (e.g. its core count)",
    "gem5": "the path of gem5.opt on the host, e.g. /opt/gem5/build/X86/gem5.opt",
    "config": "the path of the Skylake config's run-se.py on the host",
    "workdir": "a scratch folder on the host, e.g. /var/tmp/pie",
}
