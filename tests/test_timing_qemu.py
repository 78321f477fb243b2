"""The ``qemu`` backend: the CPU the program sees, exact and machine-independent counts, and
the report parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pie
from pie._cache import ResultCache
from pie._data import load_test_cases
from pie._model import Limits, TestCase
from pie._timing import _plugin
from pie._timing._plugin import Emulator, plugin_loads
from pie._timing._qemu import (
    Counts,
    Emulation,
    QemuBackend,
    parse_report,
    simulation_key,
)
from tests.conftest import REPO, make_tests
from tests.timing_support import qemu_backend

DEMO_TESTS = REPO / "src" / "pie" / "demo" / "tests" / "p02608"
PROBE = ("-m", "tests.timing_probe")  # found through PYTHONPATH (probe_env), by any uid
MASKED = "glibc.cpu.hwcaps=-AVX2_Usable,-AVX_Fast_Unaligned_Load,-ERMS,-AVX512F_Usable,-EVEX"

CPUID = r"""
#include <cpuid.h>
#include <cstdio>
int main() {
  unsigned leaves[] = {0, 1, 7, 0x80000000u, 0x80000001u, 0x80000008u};
  for (unsigned leaf : leaves) {
    unsigned a, b, c, d;
    __cpuid_count(leaf, 0, a, b, c, d);
    std::printf("%08x %08x %08x %08x %08x\n", leaf, a, b, c, d);
  }
  std::printf("%d %d %d %d\n", __builtin_cpu_supports("sse4.2"), __builtin_cpu_supports("avx"),
              __builtin_cpu_supports("avx2"), __builtin_cpu_supports("popcnt"));
}
"""
# gem5 v20.1 src/arch/x86/cpuid.cc, EAX EBX ECX EDX, and what qemu cannot give of it (see
# pie/_timing/_qemu.py): the vendor, leaf 1 EBX's brand index, leaf 1 EDX's VME/bit 20/TM/IA64/
# PBE, and 0x80000001's AMD-only EDX bits and EBX.
GEM5_LEAVES = {
    0x1: (0x00020F51, 0x00000805, 0x00000209, 0xE7DBFBFF),
    0x7: (0x00000000, 0x01800000, 0x00000000, 0x00000000),
    0x80000001: (0x00020F51, 0x00000405, 0x00000001, 0xE3D3FBFF),
    0x80000008: (0x00003030, 0x00000000, 0x00000000, 0x00000000),
}
QEMU_CANNOT = {
    0x1: (0, 0xFF, 0, (1 << 1) | (1 << 20) | (1 << 29) | (1 << 30) | (1 << 31)),
    0x80000001: (0, 0xFFFFFFFF, 0, 0xC3C3F7FF),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def backend(cache_dir: Path, tmp_path: Path) -> AsyncIterator[QemuBackend]:
    async with qemu_backend(cache_dir, ResultCache(tmp_path / "timings.sqlite")) as made:
        yield made


def build(source: str, folder: Path, name: str = "a") -> Path:
    (folder / f"{name}.cpp").write_text(source)
    binary = folder / name
    command = ["g++", "-std=c++17", "-O3", "-o", str(binary), str(folder / f"{name}.cpp")]
    subprocess.run(command, check=True, timeout=120)
    return binary


@pytest.mark.anyio
async def test_the_program_sees_gem5s_cpu(backend: QemuBackend, tmp_path: Path) -> None:
    binary = build(CPUID, tmp_path)
    outcome = await guest_output(backend, binary, tmp_path)
    rows = [line.split() for line in outcome.splitlines()]
    leaves = {int(r[0], 16): tuple(int(v, 16) for v in r[1:]) for r in rows[:-1]}
    for leaf, gem5 in GEM5_LEAVES.items():
        unmatched = QEMU_CANNOT.get(leaf, (0, 0, 0, 0))
        for ours, theirs, mask in zip(leaves[leaf], gem5, unmatched, strict=True):
            assert ours & ~mask == theirs & ~mask, hex(leaf)
    assert rows[-1] == ["0", "0", "0", "0"]  # no SSE4.2, AVX, AVX2, POPCNT: glibc's SSSE3 paths


async def guest_output(backend: QemuBackend, binary: Path, folder: Path) -> str:
    """What ``binary`` prints under the backend's qemu (read by the output judge)."""
    emulation = Emulation(backend.emulator)
    empty = folder / "empty"
    empty.write_text("")
    printed: list[bytes] = []

    def keep(handle: BinaryIO, size: int) -> float:
        printed.append(handle.read(size))
        return 1.0

    await backend._sandbox.emulate(binary, empty, Limits(), emulation, keep)
    return b"".join(printed).decode()


@pytest.mark.anyio
async def test_counts_are_exact_and_follow_the_work(backend: QemuBackend, tmp_path: Path) -> None:
    loop = (
        '#include <cstdio>\nint main(){ long long n,s=0; if(std::scanf("%lld",&n)!=1) return 1;'
        ' for(long long i=0;i<n;++i) s+=i*i%7; std::printf("%lld\\n",s); }'
    )
    binary = build(loop, tmp_path)
    counts = []
    for n in (1000, 2000, 2000):
        tests = make_tests(
            tmp_path / f"t{n}", [(f"{n}\n", f"{sum(i * i % 7 for i in range(n))}\n")]
        )
        got = await backend.count(
            binary, TestCase(0, tests / "input.0.txt", tests / "output.0.txt"), Limits()
        )
        assert isinstance(got, Counts), got
        counts.append(got)
    small, large, again = counts
    assert large == again  # bit-identical, every event
    per_iteration = (large.instructions - small.instructions) / 1000
    assert 4 <= per_iteration <= 20  # the loop body, nothing else
    assert large.startup_instructions == small.startup_instructions
    assert large.branches - small.branches == 1000  # one conditional branch per iteration


def probe(
    binary: Path, cache: Path, *, prefix: tuple[str, ...] = (), env: dict[str, str]
) -> dict[str, int]:
    done = subprocess.run(
        [*prefix, *probe_python(), *PROBE, str(binary), str(DEMO_TESTS / "input.0.txt"),
         str(DEMO_TESTS / "output.0.txt"), str(cache)],
        capture_output=True, text=True, check=False, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[:1500] + "..." + done.stderr[-1500:]
    result: dict[str, int] = json.loads(done.stdout.splitlines()[-1])
    assert "error" not in result, result
    return result


def probe_python() -> list[str]:
    """An interpreter any uid can run (the venv's may live in a private home)."""
    return ["/usr/bin/python3"] if Path("/usr/bin/python3").exists() else [sys.executable]


def probe_env(**extra: str) -> dict[str, str]:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    path = os.pathsep.join([str(REPO / "src"), str(REPO), site])
    return {"PATH": os.environ["PATH"], "PYTHONPATH": path, "HOME": "/tmp", **extra}


def readable_by_all(path: Path) -> None:
    for part in [path, *path.parents]:
        if part == Path("/"):
            break
        os.chmod(part, part.stat().st_mode | 0o005)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_counts_are_the_same_on_any_host_user_namespace_or_path() -> None:
    """Same binary, same input: bit-identical counts with the host's CPU features masked from
    glibc (GLIBC_TUNABLES), as root and as nobody, in a new PID namespace, and with other
    cache and temporary paths."""
    # outside pytest's private base folder, which another uid cannot traverse
    with tempfile.TemporaryDirectory(prefix="pie-independent-") as scratch:
        os.chmod(scratch, 0o755)
        counts_everywhere(Path(scratch))


def counts_everywhere(folder: Path) -> None:
    source = json.loads(
        (REPO / "src" / "pie" / "demo" / "problems.jsonl").read_text().splitlines()[0]
    )
    binary = build(source["src_code"], folder, "src")
    readable_by_all(binary)
    readable_by_all(REPO / "tests")
    short = folder / "c"
    long = folder / ("a-much-longer-cache-path-" * 4)
    # caches of their own, writable by every user of the test (TMPDIR too)
    for cache in (short, long, long / "ns", long / "nobody"):
        cache.mkdir(parents=True, exist_ok=True)
        os.chmod(cache, 0o777)
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    namespace = ("unshare", "--pid", "--fork")
    elsewhere = probe_env(TMPDIR=str(long))
    runs = {
        "root": probe(binary, short, env=probe_env()),
        "masked CPU features": probe(binary, short, env=probe_env(GLIBC_TUNABLES=MASKED)),
        "PID namespace": probe(binary, long / "ns", prefix=namespace, env=elsewhere),
        "nobody": probe(binary, long / "nobody", prefix=nobody, env=elsewhere),
    }
    assert shutil.which("setpriv") and runs["root"]["instructions"] > 1_000_000
    assert all(counts == runs["root"] for counts in runs.values()), runs


@pytest.mark.anyio
async def test_the_fork_server_counts_what_fresh_processes_count(
    backend: QemuBackend, tmp_path: Path, shared_data: Path
) -> None:
    """The start-up simulated once and forked per test gives every test the counts of a fresh
    process, event by event: the demo programs (iostream and stdio) and a real PIE program on
    twelve of its tests."""
    rows = [
        json.loads(line) for line in (REPO / "src/pie/demo/problems.jsonl").read_text().splitlines()
    ]
    programs = [
        (
            build(r[role], tmp_path, f"{r['problem_id']}-{role}"),
            REPO / "src/pie/demo/tests" / r["problem_id"],
        )
        for r in rows
        for role in ("src_code", "tgt_code")
    ]
    real = json.loads((shared_data / "problems_src_only.jsonl").read_text().splitlines()[2])
    programs.append(
        (build(real["src_code"], tmp_path, "real"), shared_data / "tests" / real["problem_id"])
    )
    for binary, folder in programs:
        cases = load_test_cases(folder)[:12]
        if len(cases) < 2:  # one test: run it twice, as two tests of the server
            cases = (cases[0], attrs.evolve(cases[0], index=1))
        limits = Limits(time_limit=50)
        floors = [0.0] * len(cases)
        served = await backend.count_many(binary, cases, limits, floors)
        fresh = [await backend.count(binary, case, limits, 0.0) for case in cases]
        assert all(isinstance(c, Counts) for c in served), served
        assert served == fresh, binary.name


@pytest.mark.anyio
async def test_pie_doctor_knows_whether_qemu_loads_the_plugin(
    backend: QemuBackend, tmp_path: Path
) -> None:
    assert plugin_loads(backend.emulator) is None
    broken = tmp_path / "not-a-plugin.so"
    broken.write_text("not an ELF file")
    failure = plugin_loads(attrs.evolve(backend.emulator, plugin=broken))
    assert failure is not None and "did not load pie's plugin" in failure
    assert str(broken) in failure  # qemu's own words name the file


ENDINGS = r"""
#include <cstdio>
#include <unistd.h>
#include <sys/syscall.h>
int main() {
  long long n = 0;
  if (std::scanf("%lld", &n) != 1) return 1;
  std::printf("%lld\n", n);
  std::fflush(stdout);
  if (n == 1) return 3;                 // exit_group(3) through libc
  if (n == 2) syscall(SYS_exit, 0);     // exit of the only thread: the end of the run
  return 0;
}
"""


@pytest.mark.anyio
async def test_a_run_ends_with_the_guests_exit_status(backend: QemuBackend, tmp_path: Path) -> None:
    """The plugin ends the run at the guest's exit call (skipping qemu's exit path): the exit
    status is the guest's, in a fresh process and in the fork server's children alike."""
    binary = build(ENDINGS, tmp_path)
    tests = make_tests(tmp_path / "t", [("0\n", "0\n"), ("1\n", "1\n"), ("2\n", "2\n")])
    cases = load_test_cases(tests)
    served = await backend.count_many(binary, cases, Limits(), [1.0] * 3)
    fresh = [await backend.count(binary, case, Limits()) for case in cases]
    for rows in (served, fresh):
        clean, failed, by_exit = rows
        assert isinstance(clean, Counts) and isinstance(by_exit, Counts), rows
        assert isinstance(failed, str) and "exit 3" in failed, failed
    assert served[0] == fresh[0] and served[2] == fresh[2]


THREAD_FIRST = r"""
#include <cstdio>
#include <thread>
static long long warm = 0;
static std::thread early([] { for (int i = 0; i < 100000; ++i) warm += i % 3; });
int main() {
  early.join();
  long long n = 0;
  if (std::scanf("%lld", &n) != 1) return 1;
  std::printf("%lld\n", n + warm - warm);
}
"""


@pytest.mark.anyio
async def test_a_second_thread_is_refused_in_a_batch_and_alone(
    backend: QemuBackend, tmp_path: Path
) -> None:
    """Threads on the host's cores interleave differently from run to run, and so did their
    counts (2,655,082 against 2,655,176 for this program); PIE's one-CPU gem5 answers their
    clone with EAGAIN.  The timed run refuses the thread, before it runs, under the fork
    server and in a fresh process alike."""
    binary = build(THREAD_FIRST, tmp_path)
    cases = load_test_cases(make_tests(tmp_path / "t", [("5\n", "5\n"), ("7\n", "7\n")]))
    served = await backend.count_many(binary, cases, Limits(), [1.0, 1.0])
    fresh = await backend.count(binary, cases[0], Limits())
    for result in (*served, fresh):
        assert isinstance(result, str) and "clone of a thread" in result, result


SECRET = "0123456789abcdef0123456789abcdef"
GOOD = (
    f"pie-qemu {SECRET} counts instructions=10 loads=2 stores=1 l1i_misses=1 l1d_misses=1 "
    "ll_misses=1 branches=3 mispredicts=1 startup_instructions=4\n"
).encode()


def test_a_report_is_read_only_from_the_plugins_line() -> None:
    counts = parse_report(GOOD, SECRET)
    assert isinstance(counts, Counts) and counts.instructions == 10
    assert counts.instructions_in_main == 6 and counts.startup_instructions == 4
    assert counts.events()["l1_misses"] == 2 and counts.events()["mispredicts"] == 1
    forged = GOOD.replace(SECRET.encode(), b"f" * 32)
    assert parse_report(forged, SECRET) == (
        "the timing report is not the plugin's (the program wrote into it)"
    )
    assert "no timing report" in str(parse_report(GOOD + GOOD, SECRET))
    assert "no timing report" in str(parse_report(b"", SECRET))
    refused = parse_report(f"pie-qemu {SECRET} refused execve (x)\n".encode(), SECRET)
    assert refused == "refused: the program called execve (x)"


@given(st.binary(max_size=600))
def test_no_bytes_but_the_plugins_line_become_counts(data: bytes) -> None:
    result = parse_report(data, SECRET)
    assert isinstance(result, str) or data.split(b" ")[1] == SECRET.encode()


def test_the_host_libraries_the_guest_loads_name_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every instruction of the host's glibc and libstdc++ is counted: a host with another
    build of them must not share cached counts or a config string with this one."""
    monkeypatch.setattr(_plugin, "_LIBRARY_FOLDERS", (str(tmp_path),))
    for name in _plugin.GUEST_LIBRARIES:
        (tmp_path / name).write_bytes(b"one build")
    _plugin.guest_libraries.cache_clear()
    try:
        first = _plugin.guest_libraries()
        (tmp_path / "libstdc++.so.6").write_bytes(b"another build")
        _plugin.guest_libraries.cache_clear()
        second = _plugin.guest_libraries()
    finally:
        _plugin.guest_libraries.cache_clear()
    assert first != second
    one, other = (Emulator(Path("q"), "7.2", Path("p"), "k", libs) for libs in (first, second))
    assert simulation_key(one) != simulation_key(other)
    assert f"libs={second}" in other.identity()


def test_the_loaders_cache_and_the_guests_system_files_name_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guest's loader reads /etc/ld.so.cache (its contents move the counts), and its
    runtime /etc/ld.so.preload and /etc/localtime: hosts whose files differ must not share
    cached counts."""
    files = [tmp_path / Path(name).name for name in _plugin.GUEST_SYSTEM_FILES]
    for file in files:
        file.write_bytes(b"one host")
    monkeypatch.setattr(_plugin, "GUEST_SYSTEM_FILES", tuple(map(str, files)))
    seen = set()
    try:
        for file in files:
            _plugin.guest_libraries.cache_clear()
            seen.add(_plugin.guest_libraries())
            file.write_bytes(b"another host")
        _plugin.guest_libraries.cache_clear()
        seen.add(_plugin.guest_libraries())
    finally:
        _plugin.guest_libraries.cache_clear()
    assert len(seen) == len(files) + 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_program_killed_under_qemu_is_said_so_in_words(
    tmp_path: Path, cache_dir: Path
) -> None:
    """AVX runs natively here but not on the fixed CPU model (gem5's): the timing error names
    the signal and why, not ``exit None, signal 4``."""
    if "avx" not in Path("/proc/cpuinfo").read_text().split():
        pytest.skip("this host has no AVX: the program would not pass natively")
    tests = make_tests(tmp_path / "t", [("3\n", "6\n")])
    source = (
        '#include <cstdio>\nint main(){ int a; if (std::scanf("%d", &a) != 1) return 1;'
        ' asm volatile("vpxor %%ymm0, %%ymm0, %%ymm0" ::: "xmm0");'
        ' std::printf("%d\\n", 2 * a); }'
    )
    async with pie.Evaluator(cache_dir=cache_dir, timing="qemu") as ev:
        result = await ev.evaluate(source, tests)
    assert result.verdict is pie.Verdict.AC and result.timing is not None
    error = result.timing.error or ""
    assert "failed under qemu (RE: killed by SIGILL (an instruction the fixed CPU model" in error
    assert "None" not in error
