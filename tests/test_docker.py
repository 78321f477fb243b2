"""The Docker files agree with each other, with the docs and with DESIGN's farm contract.

No Docker engine is needed (none exists on the development machine): the Dockerfiles are parsed
as text, the compose and farm files as YAML.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pie._farm._config import SAFETY_TIMEOUT_S, HostConfig
from tests.conftest import REPO

DOCKER = REPO / "docker"
GEM5_DOCKERFILE = DOCKER / "gem5-host" / "Dockerfile"
GEM5_STEPS = DOCKER / "gem5-host" / "gem5-steps.sh"
GEM5_JAIL = DOCKER / "gem5-host" / "gem5-jail.py"
BUILD_LOCAL = DOCKER / "gem5-host" / "build-local.sh"
PATCH = DOCKER / "gem5-host" / "skylake-config.patch"
PIE_DOCKERFILE = DOCKER / "pie" / "Dockerfile"
DESIGN = REPO.parent / "shared" / "DESIGN.md"

# DESIGN.md, "Farm YAML (contract)".
HOST_KEYS = {"address", "port", "user", "key", "known_hosts", "slots", "gem5", "config", "workdir"}
TOP_KEYS = {"hosts", "timeout", "retries"}

GEM5_BINARY = "/opt/gem5/build/X86/gem5.opt"
SKYLAKE_CONFIG = "/opt/gem5-skylake-config/gem5-configs/run-se.py"
WORKDIR = "/var/tmp/pie"
JAIL = "/usr/local/libexec/pie-gem5-jail"  # pie's farm: HostConfig.jail's default
SKYLAKE_COMMIT_PREFIX = "d92b219"
GEM5_V20_1_0_5 = "31cd81fdec46bae4b48d4f3788776936389dbdec"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    assert not pending, f"{dockerfile}: a continuation line runs off the end"
    return result


def args_of(dockerfile: Path) -> dict[str, str]:
    """Default values of every ``ARG NAME=value``."""
    found = {}
    for keyword, rest in instructions(dockerfile):
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            found[name] = value
    return found


def stages(dockerfile: Path) -> list[tuple[str, str | None]]:
    """(base image, stage name or None) for every FROM."""
    found = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append((words[0], name))
    return found


def runs(dockerfile: Path) -> str:
    return "\n".join(rest for keyword, rest in instructions(dockerfile) if keyword == "RUN")


def stage_runs(dockerfile: Path, stage: str) -> str:
    """The RUN commands of one named stage."""
    current, found = None, []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            words = rest.split()
            current = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
        elif keyword == "RUN" and current == stage:
            found.append(rest)
    return "\n".join(found)


def local_copies(dockerfile: Path) -> list[str]:
    """Sources of COPY/ADD instructions that come from the build context."""
    sources = []
    for keyword, rest in instructions(dockerfile):
        if keyword not in {"COPY", "ADD"}:
            continue
        words = rest.split()
        if any(w.startswith("--from=") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        sources.extend(paths[:-1])
    return sources


@pytest.fixture(scope="module")
def yaml() -> ModuleType:
    module: ModuleType = pytest.importorskip("yaml")
    return module


@pytest.fixture(scope="module")
def compose(yaml: ModuleType) -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def farm(yaml: ModuleType) -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "farm.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("dockerfile", [GEM5_DOCKERFILE, PIE_DOCKERFILE], ids=["gem5", "pie"])
def test_base_images_are_pinned_by_tag(dockerfile: Path) -> None:
    seen_stages: set[str] = set()
    for image, name in stages(dockerfile):
        if image not in seen_stages:
            repository, colon, tag = image.rpartition(":")
            assert colon, f"{dockerfile.name}: FROM {image} has no tag"
            assert repository, image
            assert tag != "latest", image
            assert "$" not in image, f"{image}: a variable base image is not pinned"
        if name:
            seen_stages.add(name)


def test_gem5_host_stages() -> None:
    """gem5.opt and the self-test programs are built on the very base the hosts run."""
    found = stages(GEM5_DOCKERFILE)
    bases = {name: image for image, name in found if name}
    assert bases["builder"] == bases["runtime"] == "ubuntu:20.04"
    assert bases["selftest"] == "runtime"
    final_image, final_name = found[-1]
    assert final_image == "runtime"
    assert final_name is None


def test_gem5_tag_is_pinned_and_documented(compose: dict[str, Any]) -> None:
    version = args_of(GEM5_DOCKERFILE)["GEM5_VERSION"]
    assert re.fullmatch(r"v20\.1\.0\.\d+", version), version
    readme = (DOCKER / "README.md").read_text()
    assert f"`{version}`" in readme
    documented = set(re.findall(r"v20\.1\.0\.\d+", readme))
    assert documented == {version}, f"docker/README.md names {documented}, the Dockerfile {version}"
    assert '--branch "${GEM5_VERSION}"' in runs(GEM5_DOCKERFILE)
    assert args_of(GEM5_DOCKERFILE)["GEM5_COMMIT"] == GEM5_V20_1_0_5
    assert f"GEM5_COMMIT={GEM5_V20_1_0_5}" in BUILD_LOCAL.read_text()
    assert "scons build/X86/gem5.opt" in GEM5_STEPS.read_text()
    images = {
        service["image"]
        for service in compose["services"].values()
        if service.get("build", {}).get("context") == "gem5-host"
    }
    assert images == {f"pie-gem5-host:{version}"}


def test_skylake_config_is_pinned_and_patched() -> None:
    commit = args_of(GEM5_DOCKERFILE)["SKYLAKE_CONFIG_COMMIT"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert commit.startswith(SKYLAKE_COMMIT_PREFIX)
    assert commit in (DOCKER / "README.md").read_text()
    patch = PATCH.read_text()
    assert commit in patch
    assert "gem5-steps.sh config /opt/gem5-skylake-config" in runs(GEM5_DOCKERFILE)
    assert 'git -C "$config_dir" apply --verbose "$patch"' in GEM5_STEPS.read_text()
    added = {line[1:].strip() for line in patch.splitlines() if line.startswith("+")}
    removed = {line[1:].strip() for line in patch.splitlines() if line.startswith("-")}
    assert "valid_configs = [VerbatimCPU, TunedCPU, UnconstrainedCPU]" in added
    assert "valid_configs = [VerbatimCPU, TunedCPU, UnConstrainedCPU]" in removed
    assert "system.cpu.do_statistics_insts = False" in added
    assert "system.cpu.do_checkpoint_insts = False" in added
    # gem5 v20.1 maps the 32 GiB of simulated memory; without MAP_NORESERVE, hosts with less
    # RAM + swap refuse it (issue 16, item 1)
    assert "system.mmap_using_noreserve = True" in added
    for option in ("'--max-ticks'", "'--argv0'", "'--report-fd'", "'--guest-output'"):
        assert any(line.startswith(f"parser.add_argument({option}") for line in added), option
    assert "exit_event = m5.simulate(args.max_ticks)" in added
    assert "output = args.guest_output)" in added
    assert "system.cpu.workload = Process(executable = args.binary," in added
    assert any("'Exiting @ tick {} because {}'" in line for line in added)


def test_every_build_step_of_the_image_is_a_gem5_steps_step() -> None:
    """The Dockerfile and build-local.sh share gem5-steps.sh, so their builds cannot drift."""
    steps = set(re.findall(r"^\s*([a-z]+)\(\) \{", GEM5_STEPS.read_text(), re.MULTILINE))
    assert {"deps", "build", "config", "programs", "selftest", "info", "libs"} <= steps
    used = set(re.findall(r"gem5-steps\.sh ([a-z]+)", runs(GEM5_DOCKERFILE)))
    assert used == {"deps", "build", "config", "programs", "info", "libs", "selftest"}
    local = set(re.findall(r"gem5-steps\.sh ([a-z]+)", BUILD_LOCAL.read_text()))
    assert {"deps", "build", "config", "info", "libs", "selftest"} <= local
    builder = stage_runs(GEM5_DOCKERFILE, "builder")
    assert "gem5-steps.sh build" in builder
    for command in ("scons", "apt-get install", "git apply", "g++ "):
        assert command not in builder, f"{command}: a build step outside gem5-steps.sh"


def test_the_self_test_runs_pies_hello_world_as_a_job_runs() -> None:
    text = GEM5_STEPS.read_text()
    assert "PIE_HELLO_TICKS=1004121118" in text
    assert "PIE_HELLO_ARGV0=/tmp/tmppie_gem5/basic.out" in text
    assert len("/tmp/tmppie_gem5/basic.out") == len("/tmp/tmpXXXXXXXX/basic.out")
    assert "'    std::cout << \"Hello, World!\" << std::endl;'" in text  # PIE's source
    assert "env -i PYTHONNOUSERSITE=1" in text
    assert "--report-fd=3" in text and "--std=c++17 -O3" in text


def test_patch_hunks_are_well_formed() -> None:
    """Each hunk's line counts match its header (git apply refuses a patch that lies)."""
    lines = (DOCKER / "gem5-host" / "skylake-config.patch").read_text().splitlines()
    assert "--- a/gem5-configs/run-se.py" in lines
    assert "+++ b/gem5-configs/run-se.py" in lines
    headers = [i for i, line in enumerate(lines) if line.startswith("@@ ")]
    assert headers
    for start in headers:
        match = re.match(r"@@ -\d+,(\d+) \+\d+,(\d+) @@", lines[start])
        assert match, lines[start]
        old_count, new_count = int(match[1]), int(match[2])
        old = new = 0
        for line in lines[start + 1 :]:
            if old == old_count and new == new_count:
                break
            kind = line[:1]
            old += kind in {" ", "-"}
            new += kind in {" ", "+"}
        assert (old, new) == (old_count, new_count), lines[start]


@pytest.mark.parametrize(
    ("dockerfile", "context"),
    [(GEM5_DOCKERFILE, DOCKER / "gem5-host"), (PIE_DOCKERFILE, REPO)],
    ids=["gem5", "pie"],
)
def test_copied_files_exist_in_the_build_context(dockerfile: Path, context: Path) -> None:
    sources = local_copies(dockerfile)
    assert sources
    for source in sources:
        assert (context / source).exists(), f"{dockerfile}: COPY {source} is not in {context}"


def test_gem5_host_image_facts() -> None:
    steps = instructions(GEM5_DOCKERFILE)
    run_text = runs(GEM5_DOCKERFILE)
    assert ("EXPOSE", "22") in steps
    assert steps[-1] == ("CMD", '["/usr/sbin/sshd", "-D", "-e"]')
    entrypoint = [rest for keyword, rest in steps if keyword == "ENTRYPOINT"]
    assert entrypoint == ['["/usr/local/sbin/pie-gem5-host-init"]']
    assert "> /usr/local/sbin/pie-gem5-host-init" in run_text
    copies = " ".join(rest for keyword, rest in steps if keyword == "COPY")
    assert GEM5_BINARY in copies
    assert SKYLAKE_CONFIG.rsplit("/", 1)[0] in copies
    assert "/opt/gem5/BUILD_INFO" in copies
    assert f"install -d -o pie -g pie -m 0700 {WORKDIR}" in run_text
    # a home the jobs cannot write: no Python user site, no shell start-up files of theirs
    assert "--home-dir /home/pie" in run_text
    assert "install -d -o root -g root -m 0555 /home/pie" in run_text
    for setting in ("'PasswordAuthentication no'", "'AllowUsers pie'", "'PermitRootLogin no'"):
        assert setting in run_text
    assert "rm -f /etc/ssh/ssh_host_*" in run_text, "host keys must not be baked into the image"
    assert "command -v timeout sha256sum env" in run_text
    # the jail, at the path pie's farm runs gem5 through, read-only, and the self-test uses it
    assert ("COPY", f"gem5-jail.py {JAIL}") in steps
    assert HostConfig.__attrs_attrs__.jail.default == JAIL  # where pie's farm looks for it
    assert f"chmod 0555 {JAIL}" in run_text and f"{JAIL} --probe" in run_text
    assert f"/var/tmp/pie/selftest \\\n      {JAIL} >> BUILD_INFO" in GEM5_DOCKERFILE.read_text()


def test_pie_image_facts() -> None:
    steps = instructions(PIE_DOCKERFILE)
    run_text = runs(PIE_DOCKERFILE)
    # gem5-bound binaries compiled with PIE's toolchain: the gem5 builder's base, its g++ 9
    (base, _), *_ = stages(PIE_DOCKERFILE)
    assert base == dict((name, image) for image, name in stages(GEM5_DOCKERFILE))["builder"]
    assert base == "ubuntu:20.04"
    assert "g++ --version | head -n1 | grep -q ' 9\\.'" in run_text
    assert "ldd --version | head -n1 | grep -q ' 2\\.31$'" in run_text
    assert re.search(r"apt-get install [^&]*\bg\+\+(\s|$)", run_text)
    assert "valgrind" not in run_text  # its timing was removed: a program could forge it
    assert "pip install --no-cache-dir --disable-pip-version-check ." in run_text
    assert ("ENTRYPOINT", '["pie"]') in steps
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_compose_services_match_the_farm(compose: dict[str, Any], farm: dict[str, Any]) -> None:
    services = compose["services"]
    gem5_services = {
        name for name, svc in services.items() if svc.get("build", {}).get("context") == "gem5-host"
    }
    assert len(gem5_services) >= 2
    assert {host["address"] for host in farm["hosts"]} == gem5_services
    builds = {repr(services[name]["build"]) for name in gem5_services}
    assert len(builds) == 1, "every gem5 host must run the one image"
    declared_volumes = set(compose.get("volumes") or {})
    for name in gem5_services:
        svc = services[name]
        assert svc["read_only"] is True
        assert "ALL" in svc["cap_drop"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
        assert mounts["/etc/pie/authorized_keys"].startswith("./")
        assert mounts[WORKDIR] in declared_volumes
        assert mounts["/var/lib/pie-host"] in declared_volumes
    client = services["pie"]
    context = (DOCKER / client["build"]["context"]).resolve()
    assert context == REPO.resolve()
    assert (context / client["build"]["dockerfile"]) == PIE_DOCKERFILE.resolve()
    targets = {v.split(":")[1] for v in client["volumes"]}
    for host in farm["hosts"]:
        for path in (host["key"], host["known_hosts"]):
            assert any(path.startswith(target + "/") for target in targets), path
    assert "/farm/farm.yaml" in targets
    networks = compose["networks"]
    assert all(networks[n].get("internal") for svc in services.values() for n in svc["networks"])


def test_farm_file_follows_the_contract(farm: dict[str, Any]) -> None:
    assert set(farm) == TOP_KEYS
    assert farm["timeout"] == SAFETY_TIMEOUT_S  # the safety net; max_ticks keeps its default
    assert farm["retries"] == 2
    assert farm["hosts"]
    for host in farm["hosts"]:
        assert set(host) == HOST_KEYS
        assert host["port"] == 22
        assert host["user"] == "pie"
        assert host["gem5"] == GEM5_BINARY
        assert host["config"] == SKYLAKE_CONFIG
        assert host["workdir"] == WORKDIR
        assert isinstance(host["slots"], int)
        assert host["slots"] >= 1


def test_farm_contract_matches_design(yaml: ModuleType) -> None:
    """The keys above are DESIGN.md's, where DESIGN.md is at hand (../shared)."""
    if not DESIGN.exists():
        pytest.skip(f"{DESIGN} not present")
    text = DESIGN.read_text()
    section = text.split("### Farm YAML (contract)", 1)[1]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    contract = yaml.safe_load(block)
    assert set(contract) == TOP_KEYS
    for host in contract["hosts"]:
        assert set(host) == HOST_KEYS


def test_the_self_test_passes_on_the_stand_in_and_refuses_a_forged_report(
    tmp_path: Path,
) -> None:
    """gem5-steps.sh selftest's shell code against the gem5 stand-in (no gem5 here): it passes,
    records PIE's hello world's ticks beside PIE's, and fails when the exit report and the
    stats disagree.  (m5reset is replaced by a harmless program: run natively, its m5
    pseudo-instruction would be an illegal instruction.)"""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from tests.farm.loopback import STANDIN  # noqa: PLC0415

    work = tmp_path / "selftest"
    env = {"PATH": "/usr/bin:/bin"}
    subprocess.run(["bash", str(GEM5_STEPS), "programs", str(work)], check=True, env=env)
    (work / "bin" / "m5reset").write_text("#!/bin/sh\nexit 0\n")
    (work / "bin" / "m5reset").chmod(0o755)
    gem5 = tmp_path / "gem5.opt"
    gem5.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S {STANDIN} "$@"\n')
    gem5.chmod(0o755)
    config = tmp_path / "run-se.py"
    config.write_text("# stand-in config\n")

    # the jail, widened for what the stand-in needs beyond gem5 (its Python and script)
    python = Path(sys.executable)
    jail = tmp_path / "jail"
    jail.write_text(
        f"#!/bin/sh\nexec {python} -I {GEM5_JAIL} --read {python.parents[1]} "
        f'--read {python.resolve().parents[1]} --read {STANDIN.parent} --read /usr/bin "$@"\n'
    )
    jail.chmod(0o755)

    def selftest(fault: str = "", *jailed: Path) -> subprocess.CompletedProcess[str]:
        gem5.write_text(
            f"#!/bin/sh\nexport PIE_STANDIN_FAULT={fault}\n"
            f'exec {sys.executable} -I -S {STANDIN} "$@"\n'
        )
        return subprocess.run(
            ["bash", str(GEM5_STEPS), "selftest", str(gem5), str(config), str(work), *jailed],
            capture_output=True, text=True, env=env, check=False, timeout=120,
        )  # fmt: skip

    passed = selftest()
    assert passed.returncode == 0, passed.stderr
    facts = dict(line.split("=", 1) for line in passed.stdout.splitlines())
    assert facts["selftest"] == "passed"
    assert facts["selftest_pie_hello_pie_ticks"] == "1004121118"
    assert facts["selftest_pie_hello_matches_pie"] == "no"  # the stand-in's ticks are made up
    assert int(facts["selftest_pie_hello_sim_ticks"]) > 0
    assert facts["selftest_guest_output"] == "separate"
    assert "PIE's hello world took" in passed.stderr
    # a run-se.py that drops --guest-output: the guest's line lands in gem5's stdout instead
    gem5.write_text(
        '#!/bin/sh\nfor a; do shift; case $a in --guest-output=*) ;; *) set -- "$@" "$a";; '
        f'esac; done\nexec {sys.executable} -I -S {STANDIN} "$@"\n'
    )
    ignored = subprocess.run(
        ["bash", str(GEM5_STEPS), "selftest", str(gem5), str(config), str(work)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert ignored.returncode == 1 and "not alone in --guest-output's file" in ignored.stderr
    dumped = selftest("two_dumps")  # what an honoured m5 dump-and-reset leaves
    assert dumped.returncode == 1 and "2 statistics dumps" in dumped.stderr
    unreported = selftest("no_report")
    assert unreported.returncode == 1 and "exit report ''" in unreported.stderr
    # without the jail the escape program opens its gem5's memory (recorded); in it, it cannot
    assert (facts["selftest_jail"], facts["selftest_escape"]) == ("absent", "opened")
    confined = selftest("", jail)
    assert confined.returncode == 0, confined.stderr
    facts = dict(line.split("=", 1) for line in confined.stdout.splitlines())
    assert facts["selftest_jail"].startswith("landlock ") and facts["selftest_escape"] == "refused"
    (work / "bin" / "escape").write_text("#!/bin/sh\necho escape opened\n")  # a jail that leaks
    leaked = selftest("", jail)
    assert leaked.returncode == 1 and "could open gem5's /proc/self/mem" in leaked.stderr


def test_a_stopped_build_keeps_what_scons_built(tmp_path: Path) -> None:
    """scons saves its record of built objects only on SIGINT or at its end; the build step
    turns the SIGTERM of a session's end into that SIGINT (a fake scons records which it got)."""
    import contextlib  # noqa: PLC0415
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import time  # noqa: PLC0415

    tools = tmp_path / "bin"
    tools.mkdir()
    record = tmp_path / "record"
    (tools / "scons").write_text(
        "#!/bin/bash\n"
        f"trap 'echo saved > {record}; exit 2' INT\n"
        f"echo building > {record}\n"
        "while :; do sleep 0.02; done\n"
    )
    (tools / "scons").chmod(0o755)
    env = {"PATH": f"{tools}:/usr/bin:/bin"}
    build = subprocess.Popen(
        ["bash", str(GEM5_STEPS), "build", str(tmp_path), "1"],
        env=env,
        start_new_session=True,
        # started as nohup or `build-local.sh &` from a script start it: with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 10
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(build.pid, signal.SIGTERM)  # the whole session, as when it ends
        assert build.wait(timeout=10) != 0
    finally:  # a step that ignored the signal must not outlive the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    assert record.read_text() == "saved\n"


def test_the_real_gem5_checks_without_a_build_say_how_to_make_one(tmp_path: Path) -> None:
    """``nox -s gem5_real`` (not a default session) runs bench/gem5_real.py, which, with no
    build in ``PIE_GEM5_ROOT``, names the missing gem5.opt and the build-local.sh command."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    noxfile = (REPO / "noxfile.py").read_text()
    session = noxfile[noxfile.index('@nox.session(name="gem5_real")') :]
    assert '"bench/gem5_real.py", *session.posargs' in session.split("@nox.session")[1]
    assert '"gem5_real"' not in noxfile.split("nox.options.sessions = ")[1].splitlines()[0]
    absent = tmp_path / "no-root"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gem5_real.py")],
        capture_output=True, text=True, check=False, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PIE_GEM5_ROOT": str(absent)},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert f"no gem5 build at {absent}/opt/gem5/build/X86/gem5.opt" in done.stderr
    assert f"docker/gem5-host/build-local.sh {absent} " in done.stderr
    assert not absent.exists()  # it made nothing
