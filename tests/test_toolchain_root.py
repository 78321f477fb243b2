"""CompileOptions.toolchain_root: compiling with another system's g++ (a gem5 host's root).

The roots here are small fakes: copies of this host's g++ driver, assembler, gold linker (so
that a binary shows which linker made it) and loader in ``ROOT/usr/bin`` and ``ROOT/usr/lib64``
(files of the root, outside every folder the compile sandbox grants by default), and links to
this host's compiler programs, headers and libraries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import pie
from pie._config import parse_config
from pie._errors import CompilerError, InputError
from pie._farm._check import toolchain_glibc
from pie._sandbox._policy import toolchain_root_paths
from pie._toolchain import resolve_compiler
from tests.test_config import PIE_CONFIG

pytestmark = pytest.mark.anyio

SUM = '#include <cstdio>\nint main() { long a, b; std::scanf("%ld %ld", &a, &b); std::printf("%ld\\n", a + b); }\n'  # noqa: E501
MULTIARCH = "x86_64-linux-gnu"
LOADER = "lib64/ld-linux-x86-64.so.2"


@pytest.fixture
def fake_root() -> Iterator[Path]:
    """Readable by the sandbox's uids (pytest's tmp_path is not, when pie runs as root)."""
    with tempfile.TemporaryDirectory(prefix="pie-toolchain-root-") as folder:
        root = Path(folder)
        root.chmod(0o755)
        (root / "usr" / "bin").mkdir(parents=True)
        (root / "usr" / "lib").mkdir()
        (root / "usr" / "lib64").mkdir()
        shutil.copy2(resolve_compiler("g++"), root / "usr" / "bin" / "g++")
        shutil.copy2(Path("/usr/bin/as").resolve(), root / "usr" / "bin" / "as")
        shutil.copy2(Path("/usr/bin/ld.gold").resolve(), root / "usr" / "bin" / "ld")
        shutil.copy2(Path(f"/{LOADER}").resolve(), root / "usr" / LOADER)
        (root / "usr" / "lib" / "gcc").symlink_to("/usr/lib/gcc")
        (root / "usr" / "lib" / MULTIARCH).symlink_to(f"/usr/lib/{MULTIARCH}")
        (root / "lib").symlink_to("usr/lib")
        (root / "lib64").symlink_to("usr/lib64")
        (root / "usr" / "libexec").symlink_to("/usr/libexec")  # absolute: this host's
        yield root


def with_headers(root: Path) -> Path:
    (root / "usr" / "include").symlink_to("/usr/include")
    return root


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_program_compiles_with_the_roots_compiler_in_the_sandbox(
    fake_root: Path, tmp_path: Path, cache_dir: Path
) -> None:
    root = with_headers(fake_root)
    tests = tmp_path / "t"
    tests.mkdir()
    (tests / "input.0.txt").write_text("3 4\n")
    (tests / "output.0.txt").write_text("7\n")
    options = pie.CompileOptions(toolchain_root=root, use_pch=False)
    assert options.resolved_compiler() == root / "usr" / "bin" / "g++"
    assert options.command_flags == ("-std=c++17", "-O3", f"--sysroot={root}")
    result = await pie.evaluate(SUM, tests, cache_dir=cache_dir, compile_options=options)
    assert result.compile.ok, result.compile.message
    assert result.verdict is pie.Verdict.AC
    assert result.compile.binary is not None
    assert b".note.gnu.gold-version" in result.compile.binary.read_bytes()  # the root's ld
    # another compiler file, another sysroot: another binary identity
    assert options.key() != pie.CompileOptions(use_pch=False).key()


def test_a_root_without_a_compiler_is_refused_up_front(tmp_path: Path, fake_root: Path) -> None:
    with pytest.raises(CompilerError, match=f"toolchain_root {tmp_path} has no C\\+\\+ compiler"):
        pie.CompileOptions(toolchain_root=tmp_path)
    with pytest.raises(CompilerError, match="is not an existing folder"):
        pie.CompileOptions(toolchain_root=tmp_path / "absent")
    with pytest.raises(CompilerError, match="has no C\\+\\+ compiler 'g\\+\\+-10'"):
        pie.CompileOptions(toolchain_root=fake_root, compiler="g++-10")
    # a link written for the root's own /: it would run this host's compiler instead
    (fake_root / "usr" / "bin" / "c++").symlink_to("/usr/bin/g++")
    with pytest.raises(CompilerError, match="leads out of toolchain_root"):
        pie.CompileOptions(toolchain_root=fake_root, compiler="c++")
    # the root's linker runs through the root's loader: without one, no binary of the root's
    (fake_root / "usr" / LOADER).unlink()
    with pytest.raises(CompilerError, match="has no dynamic loader at"):
        pie.CompileOptions(toolchain_root=fake_root)


def test_the_sandbox_grants_the_roots_toolchain_folders_only(fake_root: Path) -> None:
    read, execute = toolchain_root_paths(fake_root)
    real = fake_root.resolve()
    assert read == []  # no usr/include in this root
    # lib and lib64 are usr/lib and usr/lib64; usr/libexec is this host's, so not granted
    assert execute == [str(real / "usr" / folder) for folder in ("bin", "lib", "lib64")]
    with_headers(fake_root)  # a link out of the root: not granted (this host's own is)
    assert toolchain_root_paths(fake_root)[0] == []
    (fake_root / "usr" / "include").unlink()
    (fake_root / "usr" / "include").mkdir()
    assert toolchain_root_paths(fake_root)[0] == [str(real / "usr" / "include")]


def test_the_glibc_of_a_root_is_the_one_its_headers_declare(fake_root: Path) -> None:
    (fake_root / "usr" / "include").mkdir()
    (fake_root / "usr" / "include" / "features.h").write_text(
        "#define __GLIBC__ 2\n#define __GLIBC_MINOR__ 31\n"
    )
    assert toolchain_glibc(pie.CompileOptions(toolchain_root=fake_root)) == (2, 31)
    here = tuple(map(int, os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")))  # type: ignore[union-attr]
    assert toolchain_glibc(pie.CompileOptions()) == here


def test_yaml_and_cli_name_it_toolchain_root(fake_root: Path, tmp_path: Path) -> None:
    config = parse_config(PIE_CONFIG + f"toolchain_root: {fake_root}\n", "config.yaml")
    assert config.toolchain_root == fake_root
    with pytest.raises(
        InputError,
        match=r"config.yaml:\d+: toolchain_root must be the root of a system with g\+\+ in",
    ):
        parse_config(PIE_CONFIG + f"toolchain_root: {tmp_path}\n", "config.yaml")
    source = tmp_path / "sum.cpp"
    source.write_text(SUM)
    done = subprocess.run(
        [sys.executable, "-m", "pie.cli", "run", str(source), "--tests", str(tmp_path),
         "--toolchain-root", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"toolchain_root {tmp_path} has no C++ compiler 'g++'" in done.stderr
    assert "Traceback" not in done.stderr
