"""``pie._binary``: a compiled binary read as hostile input (real g++ binaries, then fuzzed)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pie
from pie._binary import elf_interpreter, refusal

pytestmark = pytest.mark.anyio

NUL_INTERP = r"""
#include <cstdio>
asm(".section .interp, \"a\"\n.string \"/tmp/not-the-loader\"\n.previous\n");
int main() { std::puts("ok"); }
"""
PLAIN = '#include <cstdio>\nint main() { std::puts("ok"); }\n'
CAP = 16 << 20


@functools.cache
def built(source: str, *flags: str) -> bytes:
    """A real g++ binary of ``source`` (compiled once per session)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "main.cpp").write_text(source)
        subprocess.run(
            ["g++", "-O2", *flags, "main.cpp", "-o", "main"], cwd=folder, check=True, timeout=120
        )
        return (Path(folder) / "main").read_bytes()


def written(folder: Path, data: bytes, name: str = "main") -> Path:
    path = folder / name
    path.write_bytes(data)
    path.chmod(0o755)
    return path


def _interp_offset(data: bytes) -> int:
    return data.index(b"/lib64/ld-linux-x86-64.so.2\0")


def test_a_plain_binary_names_the_system_loader(tmp_path: Path) -> None:
    binary = written(tmp_path, built(PLAIN))
    loader = elf_interpreter(binary)
    assert loader is not None and loader.name.startswith("ld-linux")
    assert refusal(binary, CAP) is None


def test_an_embedded_nul_is_read_as_the_kernel_reads_it(tmp_path: Path) -> None:
    data = built(NUL_INTERP)
    assert b"/lib64/ld-linux-x86-64.so.2\0/tmp/not-the-loader\0" in data
    binary = written(tmp_path, data)
    assert elf_interpreter(binary) == elf_interpreter(written(tmp_path, built(PLAIN), "plain"))
    assert refusal(binary, CAP) is None
    assert subprocess.run([str(binary)], capture_output=True, check=True).stdout == b"ok\n"


def test_a_static_binary_has_no_interpreter(tmp_path: Path) -> None:
    binary = written(tmp_path, built(PLAIN, "-static"))
    assert elf_interpreter(binary) is None
    assert refusal(binary, CAP) is None


def test_another_program_as_interpreter_is_refused(tmp_path: Path) -> None:
    data = bytearray(built(PLAIN))
    at = _interp_offset(bytes(data))
    other = b"/usr/bin/cat\0".ljust(len("/lib64/ld-linux-x86-64.so.2") + 1, b"\0")
    data[at : at + len(other)] = other
    binary = written(tmp_path, bytes(data))
    reason = refusal(binary, CAP)
    assert reason is not None and "'/usr/bin/cat' as its ELF interpreter" in reason


def test_an_interpreter_without_its_final_nul_is_refused(tmp_path: Path) -> None:
    data = bytearray(built(PLAIN))
    at = _interp_offset(bytes(data))
    data[at + len("/lib64/ld-linux-x86-64.so.2")] = ord("X")
    reason = refusal(written(tmp_path, bytes(data)), CAP)
    assert reason is not None and "malformed" in reason


def test_a_binary_over_the_cap_is_refused_before_its_headers_are_read(tmp_path: Path) -> None:
    binary = written(tmp_path, built(PLAIN))
    reason = refusal(binary, 1024)
    assert reason is not None and "over the 1024-byte limit" in reason


mutation = st.tuples(st.integers(0, 1023), st.integers(0, 255))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=12), st.integers(64, 1 << 14))
def test_mutated_headers_never_raise(changes: list[tuple[int, int]], keep: int) -> None:
    """Any bytes in the first KiB (ELF header, program headers, PT_INTERP), cut anywhere."""
    data = bytearray(built(PLAIN)[:keep])
    for where, value in changes:
        if where < len(data):
            data[where] = value
    with tempfile.TemporaryDirectory() as folder:
        binary = written(Path(folder), bytes(data))
        found = elf_interpreter(binary)
        assert found is None or isinstance(found, Path)
        reason = refusal(binary, CAP)
        assert reason is None or isinstance(reason, str)


@settings(max_examples=300)
@given(
    st.binary(max_size=600).map(lambda tail: b"\x7fELF\x02\x01" + tail),
    st.integers(0, 1 << 64),
    st.integers(0, 1 << 16),
)
def test_random_elf_headers_never_raise(data: bytes, offset: int, count: int) -> None:
    raw = bytearray(data.ljust(64, b"\0"))
    raw[32:40] = (offset % (1 << 64)).to_bytes(8, "little")
    raw[54:56] = (56).to_bytes(2, "little")
    raw[56:58] = (count % (1 << 16)).to_bytes(2, "little")
    with tempfile.TemporaryDirectory() as folder:
        binary = written(Path(folder), bytes(raw))
        elf_interpreter(binary)
        refusal(binary, CAP)


async def test_an_oversized_binary_is_a_compile_error_and_is_not_cached(
    tmp_path: Path, cache_dir: Path
) -> None:
    source = 'asm(".section .rodata\\n.fill 20*1024*1024, 1, 0\\n.previous\\n");\n'
    source += "int main() { return 0; }\n"
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "input.0.txt").write_text("\n")
    (tests / "output.0.txt").write_text("\n")
    result = await pie.evaluate(source, tests, cache_dir=cache_dir, concurrency=1)
    assert result.verdict is pie.Verdict.CE
    assert (
        "over the 16777216-byte limit (CompileOptions.max_binary_bytes)" in result.compile.message
    )
    kept = [p for p in (cache_dir / "binaries").rglob("*") if p.is_file()]
    assert all(p.stat().st_size < 1 << 20 for p in kept)
    again = await pie.evaluate(source, tests, cache_dir=cache_dir, concurrency=1)
    assert again.verdict is pie.Verdict.CE and again.compile.cached


def test_g_plus_plus_is_there() -> None:
    assert shutil.which("g++"), "these tests compile real binaries"
