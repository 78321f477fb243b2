"""The farm YAML: what loads, and errors that name the file, the line, the key and the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import asyncssh
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pie
from pie._farm import FarmConfig, FarmConfigError, load_farm
from pie._farm._config import parse_farm
from pie._farm._hosts import HostError, HostLink

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A client key, an encrypted key and a known_hosts file for 10.0.0.5:22 and :2222."""
    folder = tmp_path_factory.mktemp("farm-keys")
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(folder / "pie_farm")
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(
        folder / "locked", "pkcs8-pem", passphrase="secret"
    )
    host = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    (folder / "known_hosts").write_text(f"10.0.0.5 {host}\n[10.0.0.5]:2222 {host}\n")
    return folder


def farm_text(keys: Path, **host: object) -> str:
    """The DESIGN contract's example, one key a line (line numbers in comments)."""
    fields = {
        "address": "10.0.0.5",  # line 2
        "port": 22,  # line 3
        "user": "pie",  # line 4
        "key": str(keys / "pie_farm"),  # line 5
        "known_hosts": str(keys / "known_hosts"),  # line 6
        "slots": 8,  # line 7
        "gem5": "/opt/gem5/build/X86/gem5.opt",  # line 8
        "config": "/opt/gem5-skylake-config/gem5-configs/run-se.py",  # line 9
        "workdir": "/var/tmp/pie",  # line 10
        **host,
    }
    lines = ["hosts:"]
    for i, (name, value) in enumerate(fields.items()):
        lines.append(f"  {'- ' if i == 0 else '  '}{name}: {json.dumps(value)}")
    lines += ["timeout: 120", "retries: 2"]
    return "\n".join(lines) + "\n"


def line_of(key: str) -> int:
    order = ["address", "port", "user", "key", "known_hosts", "slots", "gem5", "config"]
    return 2 + order.index(key) if key in order else 10


def test_the_design_example_loads(keys: Path) -> None:
    config = parse_farm(farm_text(keys), "farm.yaml")
    assert isinstance(config, FarmConfig)
    (host,) = config.hosts
    assert host.name == "pie@10.0.0.5:22" and host.slots == 8 and config.slots == 8
    assert (config.timeout, config.retries) == (120.0, 2)
    assert host.gem5_pythonpath == "/opt/gem5-skylake-config/gem5-configs/system"


def test_tilde_and_relative_key_paths(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(keys))
    text = farm_text(keys, key="~/pie_farm", known_hosts="known_hosts")
    (host,) = parse_farm(text, "farm.yaml", base=keys).hosts
    assert host.key == keys / "pie_farm" and host.known_hosts == keys / "known_hosts"


def test_load_farm_reads_a_file_and_names_it(keys: Path, tmp_path: Path) -> None:
    path = tmp_path / "farm.yaml"
    path.write_text(farm_text(keys, slots="many"))
    with pytest.raises(FarmConfigError, match=rf"^{re.escape(str(path))}:7: hosts\[0\]\.slots"):
        load_farm(path)
    with pytest.raises(FarmConfigError, match="cannot read farm config"):
        load_farm(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"slots": 0}, "slots", "integer from 1 to 1024"),
        ({"slots": True}, "slots", "integer from 1 to 1024"),
        ({"port": 70000}, "port", "integer from 1 to 65535"),
        ({"address": "two words"}, "address", "host name or IP"),
        ({"user": ""}, "user", "non-empty string"),
        ({"gem5": "build/X86/gem5.opt"}, "gem5", "absolute path on the host"),
        ({"config": "~/run-se.py"}, "config", "'~' is not expanded remotely"),
        ({"workdir": "/"}, "workdir", "must not be '/'"),
        ({"key": "/nonexistent/key"}, "key", "not a readable file"),
        ({"known_hosts": "/nonexistent/kh"}, "known_hosts", "not a readable file"),
        ({"address": "10.0.0.6"}, "known_hosts", r"no key for 10\.0\.0\.6; add it \(ssh-keyscan"),
        ({"slots": [1, 2]}, "slots", "got a list"),
    ],
)
def test_bad_host_values_name_line_key_and_fix(
    keys: Path, change: dict[str, object], key: str, message: str
) -> None:
    with pytest.raises(FarmConfigError) as raised:
        parse_farm(farm_text(keys, **change), "farm.yaml")
    text = str(raised.value)
    assert text.startswith(f"farm.yaml:{line_of(key)}: hosts[0].{key}: "), text
    assert re.search(message, text), text


def test_an_encrypted_key_is_refused_with_the_fix(keys: Path) -> None:
    with pytest.raises(FarmConfigError, match=r"farm\.yaml:5: hosts\[0\]\.key: .*ssh-keygen"):
        parse_farm(farm_text(keys, key=str(keys / "locked")), "farm.yaml")


def test_a_host_name_is_checked_by_asyncssh_at_connect_time(keys: Path) -> None:
    """Names resolve only when connecting, where asyncssh also tries the address."""
    (host,) = parse_farm(farm_text(keys, address="gem5-a"), "farm.yaml").hosts
    assert host.address == "gem5-a"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("hosts: [\n", 2, "not valid YAML"),
        ("", 1, "empty farm config"),
        ("timeout: 5\n", 1, "hosts: missing"),
        ("hosts: []\n", 1, "non-empty list"),
        ("hosts:\n  - 5\n", 2, "mapping"),
        (
            "hosts:\n  - address: a\ntimeuot: 3\n",
            3,
            "unknown key 'timeuot'; did you mean 'timeout'",
        ),
        ("hosts:\n  - address: a\n    adress: b\n", 3, "unknown key 'adress'"),
        ("hosts:\n  - address: a\n    address: b\n", 3, "given twice"),
        ("hosts:\n  - address: a\n", 2, r"hosts\[0\]\.user: missing; the SSH user"),
    ],
)
def test_structure_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(FarmConfigError) as raised:
        parse_farm(text, "f.yaml")
    assert str(raised.value).startswith(f"f.yaml:{line}: "), raised.value
    assert re.search(message, str(raised.value)), raised.value


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("timeout: 0", "timeout: must be a number of seconds"),
        ("timeout: .inf", "timeout: must be a number of seconds"),
        ("retries: -1", "retries: must be an integer from 0 to 20"),
        ("threshold_accuracy: 1.5", "threshold_accuracy: must be a fraction in"),
        ("host_failures: 0", "host_failures: must be an integer"),
        ("max_ticks: 0", "max_ticks: must be an integer from 1 to 9223372036854775807, got 0"),
        ("max_ticks: 1.5e10", "max_ticks: must be an integer from 1 to"),
        ("max_ticks: true", "max_ticks: must be an integer from 1 to"),
    ],
)
def test_farm_wide_values(keys: Path, extra: str, message: str) -> None:
    text = farm_text(keys).replace("timeout: 120\nretries: 2\n", f"{extra}\n")
    with pytest.raises(FarmConfigError, match=f"farm.yaml:11: {message}"):
        parse_farm(text, "farm.yaml")


def test_the_same_host_twice_is_refused(keys: Path) -> None:
    text = farm_text(keys)
    hosts = text[: text.index("timeout")]
    twice = hosts + hosts.replace("hosts:\n", "") + "timeout: 120\n"
    with pytest.raises(FarmConfigError, match=r"farm\.yaml:11: hosts\[1\]: .* listed twice"):
        parse_farm(twice, "farm.yaml")


def test_the_tick_budget_and_the_safety_net(keys: Path) -> None:
    """max_ticks decides "too slow" alike on every host (20 ms simulated by default); the
    host-time timeout is only a safety net, 600 s by default (PIE's 120 s was the limit)."""
    text = farm_text(keys).replace("timeout: 120\n", "")
    config = parse_farm(text, "farm.yaml")
    assert (config.max_ticks, config.timeout) == (20 * 10**9, 600.0)
    config = parse_farm(text + "max_ticks: 5000000000\n", "farm.yaml")
    assert config.max_ticks == 5 * 10**9


def test_optional_settings(keys: Path) -> None:
    text = farm_text(keys, pythonpath="/opt/extra") + "threshold_accuracy: 0.95\nbackoff: 0\n"
    config = parse_farm(text, "farm.yaml")
    assert config.threshold_accuracy == 0.95 and config.backoff == 0.0
    assert config.hosts[0].gem5_pythonpath == "/opt/extra"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(
        ["address", "port", "user", "slots", "gem5", "config", "workdir", "key", "known_hosts"]
    ),
    value=scalars,
)
def test_any_value_loads_or_is_blamed_on_its_line(keys: Path, key: str, value: object) -> None:
    try:
        parse_farm(farm_text(keys, **{key: value}), "farm.yaml")
    except FarmConfigError as error:
        # the value's own line, or the known_hosts line when an address/port has no host key
        lines = {line_of(key), line_of("known_hosts")}
        assert any(str(error).startswith(f"farm.yaml:{n}: hosts[0].") for n in lines), error


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_text_is_refused_with_a_farm_config_error(text: str) -> None:
    try:
        parse_farm(text, "f.yaml")
    except FarmConfigError as error:
        assert str(error).startswith("f.yaml")


def test_gem5_timing_needs_a_farm() -> None:
    with pytest.raises(pie.InputError, match=r"needs a farm of gem5 hosts: pass farm='FARM\.yaml'"):
        pie.Evaluator(timing="gem5")


def test_a_bad_farm_file_stops_the_evaluator_before_it_starts(tmp_path: Path) -> None:
    bad = tmp_path / "farm.yaml"
    bad.write_text("hosts:\n  - address: a\n")
    with pytest.raises(FarmConfigError, match=r"farm\.yaml:2: hosts\[0\]\.user: missing"):
        pie.Evaluator(timing="gem5", farm=bad)


def test_the_farm_threshold_decides_which_programs_are_timed(keys: Path) -> None:
    config = parse_farm(farm_text(keys) + "threshold_accuracy: 0.95\n", "farm.yaml")
    assert pie.Evaluator(timing="gem5", farm=config).threshold_accuracy == 0.95
    explicit = pie.Evaluator(timing="gem5", farm=config, threshold_accuracy=1.0)
    assert explicit.threshold_accuracy == 1.0


# ---- a job's answer: a header, then the stats file and the guest's output -----------------


def _job_answer(stdout: bytes, status: int = 0) -> asyncssh.SSHCompletedProcess:
    return asyncssh.SSHCompletedProcess(
        env={}, command="", subsystem=None, exit_status=status, exit_signal=None,
        returncode=status, stdout=stdout, stderr=b"",
    )  # fmt: skip


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stats=st.none() | st.binary(max_size=64),
    output=st.none() | st.binary(max_size=64),
    limit=st.integers(0, 80),
    cut=st.integers(-3, 3),
)
def test_a_jobs_answer_is_split_by_its_sizes_or_refused(
    keys: Path, stats: bytes | None, output: bytes | None, limit: int, cut: int
) -> None:
    """The stats and the output come back as sent; the output only within the limit (its
    size alone past it); a body of any other length than the header says is a host error."""
    config = parse_farm(farm_text(keys), "farm.yaml")
    link = HostLink(config.hosts[0], config)
    sent = output if output is not None and len(output) <= limit else b""
    header = "pie-farm-job 0 {} {} x{}\n".format(
        "-" if stats is None else len(stats),
        "-" if output is None else len(output),
        b"Exiting @ tick 5 because x\n".hex(),
    )
    whole = (stats or b"") + sent
    body = whole[: max(0, len(whole) + cut)] if cut < 0 else whole + b"\0" * cut
    answer = _job_answer(header.encode() + body)
    if len(body) != len(whole):  # cut short or overlong: a file changed as it was sent
        with pytest.raises(HostError, match="garbled"):
            link._answer(answer, 1.0, limit)
        return
    run = link._answer(answer, 1.0, limit)
    assert (run.stats, run.output, run.report) == (stats, sent, b"Exiting @ tick 5 because x\n")
    assert run.output_bytes == (None if output is None else len(output))


@pytest.mark.parametrize(
    "header", ["pie-farm-job 0 1 -", "pie-farm-job 0 -1 - x", "pie-farm-job 0 - 2a x", "x 0 - - x"]
)
def test_a_malformed_job_header_is_a_host_error(keys: Path, header: str) -> None:
    config = parse_farm(farm_text(keys), "farm.yaml")
    with pytest.raises(HostError):
        HostLink(config.hosts[0], config)._answer(_job_answer(f"{header}\n".encode()), 1.0, 9)
