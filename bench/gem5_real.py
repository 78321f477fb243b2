"""Real gem5 checks: the local gem5 v20.1.0.5 build of ``docker/gem5-host/build-local.sh``.

    nox -s gem5_real            (or: python bench/gem5_real.py [--rows 5] [--tests 2]
                                 [--record DIR] [--only hello|check|rows|provoke])

Needs root (chroot) and the finished build in ``$PIE_GEM5_ROOT`` (default
``/var/tmp/pie-gem5/root``). It prints the build's ``BUILD_INFO`` (the image's self-test), then:

1. PIE's hello world, compiled and simulated as PIE's ``gem5/api_pytest.py`` does it, with pie's
   ticks beside PIE's 1,004,121,118, twice (the ticks must be identical);
2. ``pie farm check --toolchain-root ROOT`` against the root served by sshd on loopback;
3. pie's farm on the src and tgt of ``--rows`` rows of ``problems.jsonl`` on their first
   ``--tests`` tests, compiled with the root's toolchain: pie's simulated seconds beside PIE's
   recorded ``src_agg_runtime``/``tgt_agg_runtime``, both speedups, host seconds per test;
4. programs that pass natively but that gem5 v20.1 cannot run, through pie's farm: what pie says;
5. with ``--record DIR``: gem5's raw output for each of them and PIE's hello world under the
   farm's command line (stdout, stderr, status, exit report, stats file, the guest's own
   output), for the tests.

It exits non-zero when a check fails, and with the build instructions when there is no build.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import anyio

import pie
from pie._farm._stats import parse_stats  # the farm's own parser, on real files

ROOT = Path(os.environ.get("PIE_GEM5_ROOT", "/var/tmp/pie-gem5/root"))
DATA = Path(os.environ.get("PIE_SHARED_DATA", "../shared/data"))
GEM5 = "/opt/gem5/build/X86/gem5.opt"
CONFIG = "/opt/gem5-skylake-config/gem5-configs/run-se.py"
PIE_HELLO_TICKS = 1_004_121_118  # LearningOpt/pie gem5/api_pytest.py: 0.001004121118 s
HELLO = (
    "#include <iostream>\n\nint main() {\n"
    '    std::cout << "Hello, World!" << std::endl;\n    return 0;\n}\n'
)
GEM5_UID = 10000
JAIL = "/usr/local/libexec/pie-gem5-jail"
MAX_TICKS = 20_000_000_000  # the farm's default budget, 20 ms simulated
GUEST = "/tmp/tmppie_gem5/code.out"  # the farm's argv[0]
# Programs that pass natively but that gem5 v20.1's syscall emulation cannot run (and one that
# fails natively too): what the real gem5 says about each is what pie must recognise.
PROVOKE = {
    "newfstatat": (  # in gem5 v20.1's x86-64 table, with no implementation
        "#include <cstdio>\n#include <fcntl.h>\n#include <sys/stat.h>\n"
        "#include <sys/syscall.h>\n#include <unistd.h>\nint main() {\n  struct stat st;\n"
        '  long r = syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0);\n'
        '  std::printf("newfstatat returned %ld\\n", r);\n}\n'
    ),
    "getrandom": (  # #318, past the end of gem5 v20.1's x86-64 table
        "#include <cstdio>\n#include <sys/syscall.h>\n#include <unistd.h>\nint main() {\n"
        "  unsigned char buf[8];\n  long r = syscall(SYS_getrandom, buf, sizeof buf, 0);\n"
        '  std::printf("getrandom returned %ld\\n", r);\n}\n'
    ),
    # 256-bit AVX with three operands. gem5 v20.1's decoder parses VEX prefixes but its decode
    # tree never reads VEX.L or VEX.vvvv (src/arch/x86/decoder.cc, isa/decoder/): this may run
    # as the 128-bit two-operand SSE form, silently giving other numbers, rather than fail.
    "avx": (
        "#include <cstdio>\nint main() {\n  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};\n"
        "  float b[8] = {10, 20, 30, 40, 50, 60, 70, 80}, c[8] = {0};\n"
        '  __asm__ volatile("vmovups %1, %%ymm1\\n\\tvmovups %2, %%ymm2\\n\\t"\n'
        '                   "vaddps %%ymm2, %%ymm1, %%ymm0\\n\\tvmovups %%ymm0, %0"\n'
        '                   : "=m"(c) : "m"(a), "m"(b) : "xmm0", "xmm1", "xmm2");\n'
        '  std::printf("%g %g\\n", c[0], c[7]);\n}\n'
    ),
    # the idiom of competitive programmers: AVX2 by pragma, vectorised by g++ -O3; gem5 v20.1
    # decodes some of it as SSE and none of its VEX-only instructions (here vinserti128)
    "avx2": (
        '#pragma GCC target("avx2")\n#include <cstdio>\nint a[1024], b[1024];\nint main() {\n'
        "  for (int i = 0; i < 1024; i++) { a[i] = i; b[i] = 2 * i; }\n"
        "  for (int i = 0; i < 1024; i++) a[i] += 3 * b[i];\n  long s = 0;\n"
        "  for (int i = 0; i < 1024; i++) s += a[i];\n"
        '  std::printf("%ld\\n", s);\n}\n'
    ),
    # 200 MiB touched a page at a time: past the ~100 MiB the Skylake config backs (slow: gem5
    # stops fetching and spins to the 20 ms budget, ~3 min of host time)
    "memory": (
        "#include <cstdio>\n#include <cstdlib>\nint main() {\n  const long n = 200L << 20;\n"
        "  char *p = static_cast<char *>(std::malloc(n));\n"
        "  for (long i = 0; i < n; i += 4096) p[i] = static_cast<char>(i >> 12);\n"
        "  long s = 0;\n  for (long i = 0; i < n; i += 4096) s += p[i];\n"
        '  std::printf("%ld\\n", s);\n}\n'
    ),
    "stack": (  # 16 MiB of stack (4 KiB frames); gem5 v20.1 allows 8 MiB, pie's sandbox more
        "#include <cstdio>\nstatic int down(int n) {\n  volatile char frame[4096];\n"
        "  frame[0] = static_cast<char>(n);\n  return n == 0 ? 0 : down(n - 1) + frame[0];\n}\n"
        'int main() { std::printf("%d\\n", down(4096)); }\n'
    ),
    "exit3": "int main() { return 3; }\n",  # fails natively as well: gem5's words for it
}

HOW_TO_BUILD = f"""no gem5 build at {ROOT}{GEM5}.
Build it (a few hours on 2 cores; resumable; as root):
    git clone https://github.com/gem5/gem5 /var/tmp/gem5-src
    git clone https://github.com/darchr/gem5-skylake-config /var/tmp/skylake-src
    nice -n 19 docker/gem5-host/build-local.sh {ROOT} /var/tmp/gem5-src /var/tmp/skylake-src
or point PIE_GEM5_ROOT at an existing build root."""


def in_root(argv: Sequence[str], *, uid: int | None = None, **kwargs: object) -> list[str]:
    """The command line that runs ``argv`` inside the build root, as build-local.sh does."""
    user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid else []
    script = (
        'root=$1; shift; mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" && '
        'exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"'
    )
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
            "in_root", str(ROOT), *user, *argv]  # fmt: skip


def run_in_root(argv: Sequence[str], *, uid: int | None = None, stdin: str = "") -> str:
    done = subprocess.run(
        in_root(argv, uid=uid), input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"in the gem5 root: {' '.join(argv)} failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")  # fmt: skip
    return done.stdout


_MADE_IN_ROOT: list[Path] = []  # removed when the script ends (remove_made_in_root)


def pie_like_dir() -> str:
    """A folder of the shape of Python's ``tempfile.mkdtemp()`` (``/tmp/tmpXXXXXXXX``) in the
    root, removed when the script ends."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_"
    name = "/tmp/tmp" + "".join(secrets.choice(alphabet) for _ in range(8))
    (ROOT / name.lstrip("/")).mkdir(mode=0o755)
    _MADE_IN_ROOT.append(ROOT / name.lstrip("/"))
    return name


def remove_made_in_root() -> None:
    """The folders this script made in the gem5 root: it is shared, and outlives the run."""
    while _MADE_IN_ROOT:
        shutil.rmtree(_MADE_IN_ROOT.pop(), ignore_errors=True)


def simulate(binary: str, stdin_path: str | None = None) -> tuple[int, float, str]:
    """gem5 as PIE ran it (``--stats-file``, Verbatim) but with an empty environment, as the
    farm runs it; returns ticks, host seconds and gem5's stdout."""
    out = pie_like_dir()
    os.chown(ROOT / out.lstrip("/"), GEM5_UID, GEM5_UID)
    redirect = f"< {stdin_path}" if stdin_path else "< /dev/null"
    command = (
        f"cd {out} && PYTHONNOUSERSITE=1 {GEM5} --outdir={out}/m5out "
        f"--stats-file={out}/stats.txt {CONFIG} Verbatim {binary} {redirect}"
    )
    start = time.monotonic()
    stdout = run_in_root(["/bin/sh", "-c", command], uid=GEM5_UID)
    seconds = time.monotonic() - start
    stats = parse_stats((ROOT / out.lstrip("/") / "stats.txt").read_text())
    return stats.ticks, seconds, stdout


def hello_world() -> list[int]:
    """PIE's hello world: ``/usr/bin/g++ basic.cpp -o basic.out --std=c++17 -O3`` in a
    ``/tmp/tmpXXXXXXXX`` folder, then gem5 on ``basic.out``; twice, from two fresh folders."""
    ticks = []
    for attempt in (1, 2):
        folder = pie_like_dir()
        (ROOT / folder.lstrip("/") / "basic.cpp").write_text(HELLO)
        run_in_root(["/usr/bin/g++", f"{folder}/basic.cpp", "-o", f"{folder}/basic.out",
                     "--std=c++17", "-O3"])  # fmt: skip
        count, seconds, stdout = simulate(f"{folder}/basic.out")
        ticks.append(count)
        print(f"  run {attempt}: {count:,} ticks (PIE: {PIE_HELLO_TICKS:,}; "
              f"ours/PIE {count / PIE_HELLO_TICKS:.4f}), {seconds:.1f} s of host time")  # fmt: skip
        if "Hello, World!" not in stdout:
            raise SystemExit(f"hello world printed nothing under gem5:\n{stdout[-2000:]}")
    return ticks


def compile_in_root(name: str, source: str) -> str:
    """``source`` compiled inside the root as PIE compiled (its g++, ``--std=c++17 -O3``), in a
    folder of PIE's shape; the binary's path in the root."""
    folder = pie_like_dir()
    (ROOT / folder.lstrip("/") / f"{name}.cpp").write_text(source)
    run_in_root(["/usr/bin/g++", f"{folder}/{name}.cpp", "-o", f"{folder}/{name}",
                 "--std=c++17", "-O3"])  # fmt: skip
    return f"{folder}/{name}"


def record(folder: Path) -> None:
    """Each PROVOKE program and PIE's hello world under gem5 with the farm's command line (jail,
    budget, argv[0], exit report on descriptor 3, the guest's stdout in its own file); gem5's
    stdout, stderr, exit status, report, stats file and the guest's output go to
    ``folder/NAME.*``."""
    folder.mkdir(parents=True, exist_ok=True)
    provenance = [provenance_header()]
    for name, source in {"hello": HELLO, **PROVOKE}.items():
        (folder / f"{name}.cpp").write_text(source)
        binary = compile_in_root(name, source)
        work = pie_like_dir()
        os.chown(ROOT / work.lstrip("/"), GEM5_UID, GEM5_UID)
        command = (
            f"cd {work} && env -i PYTHONNOUSERSITE=1 {JAIL} --read {GEM5} "
            f"--read {Path(CONFIG).parent} --read {binary} --write . -- {GEM5} --outdir=m5out "
            f"--stats-file=stats.txt {CONFIG} --max-ticks={MAX_TICKS} --argv0={GUEST} "
            f"--report-fd=3 --guest-output=guest.out Verbatim {binary} "
            "< /dev/null > out 2> err 3> report; "
            "echo $? > status"
        )
        start = time.monotonic()
        run_in_root(["/bin/sh", "-c", command], uid=GEM5_UID)
        seconds = time.monotonic() - start
        made = ROOT / work.lstrip("/")
        for part in ("out", "err", "report", "status", "m5out/stats.txt", "m5out/guest.out"):
            if (made / part).exists():
                shutil.copyfile(made / part, folder / f"{name}.{Path(part).name}")
        errors = (made / "err").read_text(errors="replace").strip().splitlines()
        status = (made / "status").read_text().strip()
        native = subprocess.run(
            ["/bin/sh", "-c", f"ulimit -s unlimited; exec {ROOT}{binary}"],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        (folder / f"{name}.native").write_text(native)
        printed = made / "m5out" / "guest.out"
        same = printed.exists() and native == printed.read_text(errors="replace")
        print(f"  {name:10} exit {status:3} {seconds:6.1f} s  guest output as native: "
              f"{'yes' if same else 'NO'}  {errors[-1][:100] if errors else ''}")  # fmt: skip
        provenance.append(f"{name}: exit {status}, {seconds:.1f} s of host time, guest output "
                          f"as native: {'yes' if same else 'no'}; command: {command}")  # fmt: skip
    (folder / "PROVENANCE").write_text("\n".join(provenance) + "\n")


def provenance_header() -> str:
    """Where the recorded files come from: when, on what, with which gem5 build."""
    digest = subprocess.run(["sha256sum", f"{ROOT}{GEM5}"], capture_output=True, text=True,
                            check=True).stdout.split()[0]  # fmt: skip
    info = ROOT / "opt/gem5/BUILD_INFO"
    return (
        f"recorded {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} by "
        f"bench/gem5_real.py --record, as root, build root {ROOT}\n"
        f"host: {' '.join(os.uname())}\nsha256 of gem5.opt (now): {digest}\n"
        f"BUILD_INFO:\n{info.read_text() if info.exists() else '(none)'}"
        "each program compiled in the root with /usr/bin/g++ NAME.cpp -o NAME --std=c++17 -O3, "
        "stdin /dev/null; files NAME.out (gem5 stdout), .err (stderr), .status (exit status), "
        ".report (descriptor 3), .stats.txt, .guest.out (--guest-output), .native (its stdout run "
        "natively, ulimit -s unlimited)"
    )


async def provoked(farm: Path, cache: Path, tests: Path) -> None:
    """pie's verdict and gem5 timing of each PROVOKE program through the farm: a program that
    passes natively and that gem5 cannot run must read 'cannot be simulated: <why>'."""
    options = pie.CompileOptions(toolchain_root=ROOT)
    async with pie.Evaluator(
        timing="gem5", farm=farm, compile_options=options, cache_dir=cache
    ) as evaluator:
        for name, source in PROVOKE.items():
            folder = tests / name
            folder.mkdir()
            (folder / "input.0.txt").write_text("")
            binary = f"{ROOT}{compile_in_root(name, source)}"
            native = subprocess.run(
                ["/bin/sh", "-c", f"ulimit -s unlimited; exec {binary}"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            (folder / "output.0.txt").write_text(native.stdout)
            result = await evaluator.evaluate(source, folder)
            timing = result.timing
            said = (timing.error or f"{timing.total:.9f} s") if timing else "not timed"
            print(f"  {name:10} {result.verdict.value:3} {said[:150]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def loopback_host(
    keys: Path, *, name: str = "pie-local", workdir: str = "/var/tmp/pie", slots: int = 2
) -> Iterator[Path]:
    """sshd inside the root on 127.0.0.1 (key-only, user ``pie``); yields a farm YAML.

    ``name`` names its folder in the root's /etc and its pid file, ``workdir`` the farm's
    scratch folder: two scripts serving the one root at once each need their own (the folder is
    emptied when the host starts, and its authorized key is read at every connection)."""
    port = free_port()
    local = ROOT / "etc" / name
    shutil.rmtree(local, ignore_errors=True)
    (local / "authorized_keys").mkdir(parents=True, mode=0o755)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(local / "host_key")],
                   check=True)  # fmt: skip
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "client")],
                   check=True)  # fmt: skip
    shutil.copyfile(keys / "client.pub", local / "authorized_keys" / "pie")
    (local / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey /etc/{name}/host_key\n"
        f"AuthorizedKeysFile /etc/{name}/authorized_keys/%u\nAllowUsers pie\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitTTY no\nDisableForwarding yes\nPermitUserEnvironment no\nMaxSessions 64\n"
        f"PidFile /run/{name}-sshd.pid\nSubsystem sftp internal-sftp\n"  # uploads: sftp
    )
    # the jail every farm job runs gem5 through, where the image installs it
    jail = ROOT / "usr/local/libexec/pie-gem5-jail"
    jail.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).parent.parent / "docker/gem5-host/gem5-jail.py", jail)
    jail.chmod(0o555)
    host_key = (local / "host_key.pub").read_text().split()
    (keys / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    farm = keys / "farm.yaml"
    farm.write_text(
        "hosts:\n"
        f"  - address: 127.0.0.1\n    port: {port}\n    user: pie\n"
        f"    key: {keys / 'client'}\n    known_hosts: {keys / 'known_hosts'}\n"
        f"    slots: {slots}\n    gem5: {GEM5}\n    config: {CONFIG}\n    workdir: {workdir}\n"
        "timeout: 3600\n"
    )
    (ROOT / "run" / "sshd").mkdir(parents=True, exist_ok=True)
    sshd = ["/usr/sbin/sshd", "-D", "-e", "-f", f"/etc/{name}/sshd_config"]
    server = subprocess.Popen(in_root(sshd))
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield farm
    finally:
        server.terminate()
        server.wait(timeout=10)


def rows(count: int) -> list[dict[str, object]]:
    """The rows PIE simulated fastest (gem5 is slow): distinct problems, shortest src first."""
    every = [json.loads(line) for line in (DATA / "problems.jsonl").read_text().splitlines()]
    every.sort(key=lambda row: float(row["src_agg_runtime"]))  # type: ignore[arg-type]
    chosen: list[dict[str, object]] = []
    for row in every:
        if all(row["problem_id"] != seen["problem_id"] for seen in chosen):
            chosen.append(row)
    return chosen[:count]


async def farm_rows(farm: Path, count: int, tests: int, cache: Path) -> bool:
    """pie's gem5 timing of src and tgt through the loopback farm, beside PIE's numbers."""
    options = pie.CompileOptions(toolchain_root=ROOT)  # the root's g++ 10 and glibc 2.31
    print(f"{'problem':8} {'ours src s':>12} {'ours tgt s':>12} {'ours x':>7} "
          f"{'PIE src s':>10} {'PIE tgt s':>10} {'PIE x':>6}  host s/test")  # fmt: skip
    ok = True
    async with pie.Evaluator(
        timing="gem5", farm=farm, compile_options=options, cache_dir=cache
    ) as evaluator:
        for row in rows(count):
            problem = str(row["problem_id"])
            folder = DATA / "tests" / problem
            # the first `tests` tests, or all of a problem that has fewer (p03063 has one)
            given = len(list(folder.glob("input.*.txt")))
            taken = min(tests, given)
            start = time.monotonic()
            seconds = []
            for role in ("src_code", "tgt_code"):
                result = await evaluator.evaluate(
                    str(row[role]), folder, indices=list(range(taken))
                )
                if result.timing is None or result.timing.error:
                    why = result.timing.error if result.timing else result.error
                    print(f"{problem:8} {role}: {result.verdict} {why or ''}")
                    ok = False
                    break
                seconds.append(result.timing.total)
            if len(seconds) < 2:
                continue
            host = (time.monotonic() - start) / (2 * taken)
            src, tgt = float(row["src_agg_runtime"]), float(row["tgt_agg_runtime"])  # type: ignore[arg-type]
            ours = seconds[0] / seconds[1]
            print(f"{problem:8} {seconds[0]:12.9f} {seconds[1]:12.9f} {ours:7.2f} "
                  f"{src:10.6f} {tgt:10.6f} {src / tgt:6.2f}  {host:.0f}")  # fmt: skip
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--tests", type=int, default=2)
    parser.add_argument(
        "--record", type=Path, metavar="DIR",
        help="also write gem5's raw output for PIE's hello world and each provoking program "
        "(NAME.out, .err, .status, .report, .txt) into DIR",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=("hello", "check", "rows", "provoke"), action="append",
        help="run only these steps (default: all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    steps = set(args.only or ("hello", "check", "rows", "provoke"))
    if not (ROOT / GEM5.lstrip("/")).exists():
        print(HOW_TO_BUILD, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("bench/gem5_real.py needs root (it chroots into the build root)", file=sys.stderr)
        return 2
    info = ROOT / "opt/gem5/BUILD_INFO"
    print(info.read_text() if info.exists() else "(no BUILD_INFO: build-local.sh did not finish)")
    try:
        return 0 if run_steps(steps, args) else 1
    finally:
        remove_made_in_root()


def run_steps(steps: set[str], args: argparse.Namespace) -> bool:
    """The chosen steps in order; whether every check passed."""
    ok = True
    if "hello" in steps:
        print("[1] PIE's hello world under the real gem5")
        ticks = hello_world()
        ok = len(set(ticks)) == 1
        print(f"  identical ticks on both runs: {ok}")
    with (
        tempfile.TemporaryDirectory() as keys_dir,
        tempfile.TemporaryDirectory() as cache,
        loopback_host(Path(keys_dir)) as farm,
    ):
        if "check" in steps:
            print("[2] pie farm check --toolchain-root ROOT")
            farm_check = [sys.executable, "-m", "pie.cli", "farm", "check", str(farm),
                          "--toolchain-root", str(ROOT)]  # fmt: skip
            ok = subprocess.run(farm_check, check=False).returncode == 0 and ok
        if "rows" in steps:
            print(f"[3] pie's farm on {args.rows} PIE rows, {args.tests} tests each")
            ok = anyio.run(farm_rows, farm, args.rows, args.tests, Path(cache)) and ok
        if "provoke" in steps:
            print("[4] programs gem5 cannot run, through pie's farm")
            with tempfile.TemporaryDirectory() as tests:
                anyio.run(provoked, farm, Path(cache), Path(tests))
    if args.record:
        print(f"[5] gem5's raw output, into {args.record}")
        record(args.record)
    return ok


if __name__ == "__main__":
    sys.exit(main())
