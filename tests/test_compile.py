"""Compilation: precompiled header, cache, and the compiler's own sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pie
from pie._data import demo_root, read_jsonl
from tests.conftest import SUM_OK, make_tests

pytestmark = pytest.mark.anyio


def demo_sources() -> list[str]:
    rows = read_jsonl(demo_root() / "problems.jsonl")
    return [row[role] for row in rows for role in ("src_code", "tgt_code")]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_pch_and_plain_builds_are_identical(tmp_path: Path, cache_dir: Path) -> None:
    sources = [s for s in demo_sources() if s.lstrip().startswith("#include <bits/stdc++.h>")]
    assert sources, "the demo data should hold programs that can use the PCH"
    digests = {}
    for use_pch in (True, False):
        options = pie.CompileOptions(use_pch=use_pch)
        # a separate cache for the plain build, so that it really compiles
        where = cache_dir if use_pch else tmp_path / f"plain-{use_pch}"
        async with pie.Evaluator(cache_dir=where, compile_options=options, concurrency=1) as ev:
            assert (await ev._compiler.pch_dir() is not None) == use_pch  # type: ignore[union-attr]
            results = [await ev.compile(s) for s in sources]
        assert all(r.ok for r in results)
        digests[use_pch] = [r.binary_sha256 for r in results]
    assert digests[True] == digests[False]


async def test_compile_error_message_is_kept_and_capped(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    source = "int main() { " + "undefined_name_%d(); " * 2000 % tuple(range(2000)) + "}"
    result = await pie.evaluate(source, sum_tests, **evaluator_options)
    assert result.verdict is pie.Verdict.CE
    assert "undefined_name_0" in result.compile.message
    assert len(result.compile.message) <= 4096


async def test_cannot_include_expected_outputs(
    tmp_path: Path, evaluator_options: dict[str, object]
) -> None:
    tests = make_tests(tmp_path / "secret", [("1 2\n", "3\n")])
    answer = tests / "output.0.txt"
    source = f'#include <cstdio>\nint main(){{ std::puts(\n#include "{answer}"\n); }}'
    result = await pie.evaluate(source, tests, **evaluator_options)
    assert result.verdict is pie.Verdict.CE
    assert "Permission denied" in result.compile.message


async def test_cannot_include_devices(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    for device in ("/dev/random", "/dev/urandom", "/etc/passwd", "/proc/self/environ"):
        result = await pie.evaluate(
            f'#include "{device}"\nint main(){{}}', sum_tests, **evaluator_options
        )
        assert result.verdict is pie.Verdict.CE, device
        assert result.compile.seconds < 10, device


async def test_preprocessor_bomb_hits_the_compile_limit(sum_tests: Path, cache_dir: Path) -> None:
    source = (
        "#define A(x) x x x x x x x x x x\n"
        "#define B(x) A(A(A(A(A(A(x))))))\n"
        "int main(){ B(B(B(;))) }\n"
    )
    options = pie.CompileOptions(time_limit=2.0, memory_mib=512)
    result = await pie.evaluate(source, sum_tests, cache_dir=cache_dir, compile_options=options)
    assert result.verdict is pie.Verdict.CE
    assert "exceeded" in result.compile.message
    assert result.compile.seconds < 15


async def test_huge_static_array_is_a_compile_error(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    # 1 GiB of initialised data: the object file would pass the compiler's file-size limit
    source = "int a[1 << 28] = {1};\nint main(){ return a[5]; }"
    result = await pie.evaluate(source, sum_tests, **evaluator_options)
    assert result.verdict is pie.Verdict.CE


async def test_empty_and_binary_sources_are_compile_errors(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    for source in (
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        "int main() { return 0; }".encode("utf-16"),
    ):
        result = await pie.evaluate(source, sum_tests, **evaluator_options)
        assert result.verdict is pie.Verdict.CE


async def test_oversized_source_is_rejected_without_compiling(
    sum_tests: Path, cache_dir: Path
) -> None:
    options = pie.CompileOptions(max_source_bytes=1000)
    source = SUM_OK + "//" + "x" * 2000 + "\n"
    result = await pie.evaluate(source, sum_tests, cache_dir=cache_dir, compile_options=options)
    assert result.verdict is pie.Verdict.CE
    assert "limit" in result.compile.message


def test_concurrent_processes_compile_once(tmp_path: Path, cache_dir: Path) -> None:
    tests = make_tests(tmp_path / "t", [("1 2\n", "3\n")])
    source = tmp_path / "prog.cpp"
    source.write_text(SUM_OK + "\n// compiled by several processes at once\n")
    script = (
        "import json, sys, pie\n"
        f"r = pie.evaluate_sync(open({str(source)!r}).read(), {str(tests)!r}, "
        f"cache_dir={str(cache_dir)!r})\n"
        "print(json.dumps([r.verdict.value, r.compile.cached]))\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert [verdict for verdict, _ in outputs] == ["AC"] * 3
    assert sorted(cached for _, cached in outputs) == [False, True, True]


def test_a_compiler_rewritten_in_place_is_asked_its_version_again(tmp_path: Path) -> None:
    """The identity is remembered per file state, not per name: a long-lived process
    (``pie serve``) must key binaries by the compiler it would run now."""
    from pie._toolchain import compiler_identity  # noqa: PLC0415

    compiler = tmp_path / "g++"
    asked = tmp_path / "asked"
    compiler.write_text(f"#!/bin/sh\necho x >> {asked}\necho 'g++ 12.2'\n")
    compiler.chmod(0o755)
    first = compiler_identity(str(compiler))
    assert compiler_identity(str(compiler)) == first
    assert asked.read_text() == "x\n"  # asked once while the file stayed the same
    compiler.write_text(f"#!/bin/sh\necho x >> {asked}\necho 'g++ 12.3'\n")
    assert compiler_identity(str(compiler)) != first
