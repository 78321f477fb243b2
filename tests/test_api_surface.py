"""The public API's shape (names, modules, version, entry points) and the API defects of the
consolidation: cache keys that mix limits, results lost to labels, empty test selections, the
blocking wrapper inside a running loop."""

from __future__ import annotations

import ast
import asyncio
import pickle
import re
import subprocess
import sys
import traceback
from pathlib import Path

import attrs
import pytest

import pie
from pie._timing import _noise
from pie.cli import parser as cli_parser
from tests.conftest import SUM_OK, make_tests


def test_every_exported_name_says_pie_in_reprs_and_tracebacks() -> None:
    for name in pie.__all__:
        value = getattr(pie, name)
        module = getattr(value, "__module__", None)
        assert module in (None, "pie", "builtins"), f"pie.{name} says {module}"
    error = pie.InputError("bad")
    text = "".join(traceback.format_exception_only(type(error), error))
    assert "pie.InputError: bad" in text and "pie._errors" not in text
    # pickles name the public place, so they survive moves of the private modules
    assert b"pie._" not in pickle.dumps(pie.Limits()) and pickle.loads(pickle.dumps(pie.Verdict.AC))


def test_every_type_a_result_or_argument_holds_is_exported() -> None:
    for name in ("Measure", "BenchmarkConfig", "FarmConfig", "HostConfig", "Issue", "Outcome"):
        assert name in pie.__all__, name
    # the types of the fields of what pie returns, all reachable as pie.<Name>
    returned = (pie.Evaluation, pie.Timing, pie.RowResult, pie.BenchmarkResult, pie.FarmCheck)
    returned += (pie.HostCheck, pie.Report, pie.HostFact, pie.DemoProblem, pie.Cache)
    for cls in returned:
        for field in attrs.fields(cls):
            for raw in str(field.type).replace("|", " ").replace("[", " ").split():
                word = raw.strip(",]. ")
                if word[:1].isupper() and word not in ("None", "Path", "Any"):
                    assert hasattr(pie, word), f"{cls.__name__}.{field.name}: {word}"


def test_every_public_data_type_is_frozen() -> None:
    """What pie returns or takes cannot change under its user (a ``HostCheck`` once was filled
    step by step and stayed mutable)."""
    types = [getattr(pie, name) for name in pie.__all__]
    data = [cls for cls in types if isinstance(cls, type) and attrs.has(cls)]
    assert pie.HostCheck in data and len(data) > 20
    mutable = [cls.__name__ for cls in data if not _is_frozen(cls)]
    assert mutable == []


def _is_frozen(cls: type) -> bool:
    field = attrs.fields(cls)[0]
    instance = object.__new__(cls)
    try:
        setattr(instance, field.name, None)
    except attrs.exceptions.FrozenInstanceError:
        return True
    return False


# names a public signature may hold besides pie.<Name>: typing's and the evaluator's aliases of
# builtin types (Source is str | bytes | PathLike, Tests is a folder or a sequence of pie.TestCase)
_SIGNATURE_WORDS = {"None", "Any", "Path", "AsyncIterator", "Iterator", "Iterable", "Sequence",
                    "Mapping", "Source", "Tests"}  # fmt: skip


def test_no_public_attribute_or_method_holds_a_private_type() -> None:
    """A property or method of a public class takes and gives ``pie.<Name>`` types only
    (``Evaluator.sandbox`` once gave the private ``Sandbox``, ``Benchmark.prepare`` the private
    plan, ``QemuConfig.simulation_key`` took the private emulator: no contract of theirs)."""
    leaks = []
    for name in pie.__all__:
        cls = getattr(pie, name)
        if not isinstance(cls, type):
            continue
        for attribute, member in vars(cls).items():
            if attribute.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)  # static and class methods
            for annotation in getattr(function, "__annotations__", {}).values():
                for word in re.findall(r"[A-Za-z_]\w*", str(annotation)):
                    if (
                        word[:1].isupper()
                        and word not in _SIGNATURE_WORDS
                        and not hasattr(pie, word)
                    ):
                        leaks.append(f"pie.{name}.{attribute}: {word}")
    assert leaks == []


def test_no_name_is_renamed_on_export() -> None:
    for name in pie.__all__:
        value = getattr(pie, name)
        own = getattr(value, "__name__", name)
        assert own == name, f"pie.{name} is {own} under another name"


def _private_names(tree: ast.AST) -> list[str]:
    """``pie._x`` modules imported (``import pie._x``, ``from pie._x import y``, ``from pie
    import _x``) or reached as attributes (``pie._x``); ``pie.cli._x`` is the CLI's own."""
    used: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            used += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            used += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            used.append(f"{node.value.id}.{node.attr}")
    private = []
    for name in used:
        parts = name.split(".")
        if parts[0] == "pie" and len(parts) > 1:
            below = parts[1]
            if below.startswith("_") and not below.startswith("__"):
                private.append(name)
    return private


def test_the_command_line_is_a_client_of_the_public_api() -> None:
    """Every module of ``pie/cli/`` uses ``pie.<Name>`` only, as httpx's CLI uses only
    ``httpx.Client``: what the command needs, a library user can have too."""
    folder = Path(pie.__file__).parent / "cli"
    modules = sorted(folder.glob("*.py"))
    assert len(modules) > 5
    found = {
        path.name: names
        for path in modules
        if (names := _private_names(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert found == {}
    # the check itself sees each way in
    probe = "import pie._a\nfrom pie._b import c\nfrom pie import _d\nimport pie\npie._e()\n"
    assert _private_names(ast.parse(probe)) == ["pie._a", "pie._b", "pie._b.c", "pie._d", "pie._e"]


def test_compiling_reaches_the_sandbox_through_its_seam_only() -> None:
    """The compiler uses ``Sandbox.compile`` and ``Sandbox.share``, not the sandbox's pool,
    slots, launcher arguments or host facts (it once reached in five ways)."""
    tree = ast.parse((Path(pie.__file__).parent / "_compile.py").read_text(encoding="utf-8"))
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_sandbox"
    }
    assert used == {"compile", "share"}
    imported = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pie._sandbox")
    ]
    assert imported == ["pie._sandbox"]  # its package, none of its private modules


def test_version_and_python_dash_m_pie() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pie", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pie {pie.__version__}"


def test_limits_key_covers_the_wall_limit() -> None:
    base = pie.Limits(time_limit=1.0)
    assert base.key() != pie.Limits(time_limit=1.0, wall_factor=1.0).key()
    assert base.key() != pie.Limits(time_limit=1.0, wall_extra=5.0).key()
    # an int is the same limit as its float (pie.Limits(time_limit=10) beside --time-limit 10)
    assert pie.Limits(time_limit=1, wall_factor=2, wall_extra=1).key() == base.key()
    assert base.key() == "t=1.0;m=1024;o=64;p=64;wf=2.0;we=1.0"  # the keys of existing caches


def test_the_time_limit_has_one_name_one_default_and_one_wall_formula() -> None:
    """``pie run --time-limit``, YAML ``time_limit`` and ``pie.Limits(time_limit=)`` are one
    setting with one default; runs and compiles get the same wall limit from it."""
    args = cli_parser().parse_args(["run", "a.cpp", "--tests", "t"])
    config_default = attrs.fields(pie.BenchmarkConfig).time_limit.default
    assert args.time_limit == config_default == pie.Limits().time_limit
    limits = pie.Limits(time_limit=3.0)
    assert limits.wall_limit == 3.0 * limits.wall_factor + limits.wall_extra == 7.0


def test_wall_config_key_does_not_change_with_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    before = pie.WallConfig().key()
    monkeypatch.setattr(_noise.os, "getloadavg", lambda: (99.0, 99.0, 99.0))
    assert pie.WallConfig().key() == before
    slow = pie.Timing("wall", "seconds", 2.0, (2.0,), config=before)
    fast = pie.Timing("wall", "seconds", 1.0, (1.0,), config=pie.WallConfig().key())
    assert pie.speedup(slow, fast) == 2.0


SLEEPER = (
    "#include <chrono>\n#include <thread>\n"
    "int main(){ std::this_thread::sleep_for(std::chrono::seconds(5)); }"
)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_wall_clock_tle_is_not_served_from_the_cache(
    sum_tests: Path, cache_dir: Path
) -> None:
    limits = pie.Limits(time_limit=0.5, wall_factor=1.0, wall_extra=0.3)
    async with pie.Evaluator(cache_dir=cache_dir, limits=limits) as ev:
        first = await ev.evaluate(SLEEPER, sum_tests, indices=[0])
        again = await ev.evaluate(SLEEPER, sum_tests, indices=[0])
        ok = await ev.evaluate(SUM_OK, sum_tests, indices=[0])
        ok_again = await ev.evaluate(SUM_OK, sum_tests, indices=[0])
    assert first.verdict is again.verdict is pie.Verdict.TLE
    assert not again.tests[0].cached  # the host's load may have caused it: judged again
    assert ok.verdict is pie.Verdict.AC and ok_again.tests[0].cached


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_evaluate_many_keeps_results_whatever_the_labels(
    tmp_path: Path, cache_dir: Path
) -> None:
    tests = make_tests(tmp_path / "t", [("1 2\n", "3\n")])
    wrong = '#include <cstdio>\nint main(){ std::puts("0"); }'
    items = [
        pie.Submission(SUM_OK, tests, label="same"),
        pie.Submission(wrong, tests, label="same"),
        pie.Submission(wrong, tests, label="1"),
        pie.Submission(SUM_OK, tests),
    ]
    results = await pie.evaluate_many(items, cache_dir=cache_dir)
    assert [r.verdict.value for r in results] == ["AC", "WA", "WA", "AC"]
    assert [r.label for r in results] == ["same", "same", "1", None]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_empty_test_selection_is_an_input_error(sum_tests: Path, cache_dir: Path) -> None:
    async with pie.Evaluator(cache_dir=cache_dir) as ev:
        with pytest.raises(pie.InputError, match="no tests selected"):
            await ev.evaluate(SUM_OK, sum_tests, indices=[])
        with pytest.raises(pie.InputError, match="no tests selected"):
            await ev.evaluate(SUM_OK, [])
        (result,) = [r async for r in ev.stream([pie.Submission(SUM_OK, [])])]
    assert result.verdict is pie.Verdict.IE and "no tests selected" in (result.error or "")


def test_evaluate_sync_inside_a_running_event_loop(sum_tests: Path, cache_dir: Path) -> None:
    async def cell() -> pie.Evaluation:  # what a Jupyter cell does: a blocking call in a loop
        return pie.evaluate_sync(SUM_OK, sum_tests, cache_dir=cache_dir)

    assert asyncio.run(cell()).verdict is pie.Verdict.AC


def test_import_pie_and_the_command_load_no_farm_benchmark_plot_or_progress_module() -> None:
    heavy = ("asyncssh", "pie._benchmark", "pie._farm._hosts", "matplotlib", "rich", "yaml")
    # nor a timing backend (and psutil, which the wall clock's noise facts use) nor the metrics:
    # a warm 'pie run' without --timing needs none of them
    heavy += ("psutil", "pie._timing._wall", "pie._timing._qemu", "pie._metrics")
    probe = f"import sys, pie, pie.cli; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
    # and they are there when asked for, under their public names
    assert pie.Benchmark.__module__ == pie.FarmConfig.__module__ == "pie"


def test_the_readme_layout_names_every_module_and_only_modules_that_exist() -> None:
    package = Path(pie.__file__).parent
    readme = (package.parent.parent / "README.md").read_text(encoding="utf-8")
    layout = readme.split("### Layout", 1)[1].split("```")[1]
    modules = {p.name for p in package.rglob("*.py") if p.name != "__main__.py"}
    modules |= {p.name + "/" for p in package.iterdir() if (p / "__init__.py").is_file()}
    missing = sorted(name for name in modules if name not in layout)
    assert missing == [], f"README's Layout leaves out {missing}"
    named = set(re.findall(r"[\w]+\.py|_\w+/", layout))
    stale = sorted(name for name in named - modules if name not in ("pie/",))
    assert stale == [], f"README's Layout names what is not in the tree: {stale}"


def test_no_script_reaches_the_checkout_through_a_sys_path_hack() -> None:
    """bench/ runs as modules of the checkout (``python -m bench.farm``), which can import
    ``tests``; the scripts the tests start as other users run as ``python -m
    tests.timing_probe`` with the checkout on ``PYTHONPATH``.  A script that edits
    ``sys.path`` instead depends on where it is started."""
    checkout = Path(pie.__file__).parent.parent.parent
    scripts = sorted([*(checkout / "bench").glob("*.py"), *(checkout / "tests").rglob("*.py")])
    assert checkout / "tests" / "timing_probe.py" in scripts
    hacks = []
    for path in scripts:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("insert", "append")
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "path"
            ):
                hacks.append(f"{path.relative_to(checkout)}:{node.lineno}")
    assert hacks == []


def test_the_cache_type_reads_a_cache_that_is_there_and_makes_none(
    tmp_path: Path, cache_dir: Path, sum_tests: Path
) -> None:
    nowhere = pie.Cache(tmp_path / "nowhere")
    for read in (nowhere.stats, nowhere.export):  # export refuses before its first row
        with pytest.raises(pie.InputError, match="no result cache in"):
            read()
    assert not (tmp_path / "nowhere").exists() and pie.farm_status(tmp_path / "nowhere") == []
    pie.evaluate_sync(SUM_OK, sum_tests, cache_dir=cache_dir)
    cache = pie.Cache(cache_dir)
    stats = cache.stats()
    assert stats["compiles"] >= 1 and stats["runs"] >= 3 and stats["bytes"] > 0
    assert {row["table"] for row in cache.export()} >= {"compiles", "runs"}


def test_compile_options_key_reads_an_int_time_limit_as_its_float() -> None:
    """``CompileOptions(time_limit=30)`` builds the binaries ``30.0`` builds: one cache key."""
    assert pie.CompileOptions(time_limit=30).key() == pie.CompileOptions(time_limit=30.0).key()
    assert pie.CompileOptions(time_limit=30).key() != pie.CompileOptions(time_limit=31).key()
