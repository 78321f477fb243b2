"""The environment matrix (tests/environments): in each, pie doctor, pie run and the API work
without a traceback, name what is weaker, and give legitimate programs the same verdicts.
``pie demo`` and ``pie evaluate`` in each run in ``nox -s environments`` (marked slow)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pie
from pie._cache import FILE_NAME as CACHE_FILE
from tests.conftest import SUM_OK, make_tests
from tests.environments import MATRIX, Environment, build_wrapper, missing_tools

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="building the environments needs root"),
    pytest.mark.skipif(
        bool(missing_tools()),
        reason=f"missing {missing_tools()} (Debian: apt-get install libcap2-bin util-linux gcc)",
    ),
]

LIMITS = {
    "time_limit": 1.0,
    "memory_limit": 128,
    "output_mib": 4,
    "wall_factor": 1.0,
    "wall_extra": 1.0,
}
# What every environment must judge alike: legitimate programs and the plain verdicts.
PROGRAMS = {
    "AC": SUM_OK,
    "WA": '#include <cstdio>\nint main(){ std::puts("8"); }',
    "TLE": "int main(){ volatile unsigned long x = 0; for(;;) x++; }",
    "MLE": "#include <cstdlib>\n#include <cstring>\nint main(){ for(;;){ char* p = (char*)"
    "std::malloc(16 << 20); std::memset(p, 1, 16 << 20); } }",
    "RE": "#include <cstdlib>\nint main(){ std::abort(); }",
    "OLE": '#include <cstdio>\nint main(){ for(;;) std::fputs("yyyyyyyyyyyyyyyy\\n", stdout); }',
    "threads": "#include <bits/stdc++.h>\nint main(){ long long a,b; std::cin>>a>>b; long long s[4]"
    "={0}; std::vector<std::thread> t; for(int i=0;i<4;i++) t.emplace_back([&,i]{ s[i]=i==0?a+b"
    ':0; }); for(auto& x:t) x.join(); std::cout<<s[0]+s[1]+s[2]+s[3]<<"\\n"; }',
    "deep-recursion": "#include <bits/stdc++.h>\nlong long f(long long n){ volatile char pad[64];"
    " pad[0]=1; return n==0?pad[0]-1:1+f(n-1); }\nint main(){ long long a,b; std::cin>>a>>b; "
    'std::cout<<f(2000000)-2000000+a+b<<"\\n"; }',
    "big-untouched-array": "#include <bits/stdc++.h>\nstatic char big[200 << 20];\nint main(){"
    ' long long a,b; std::cin>>a>>b; big[a & 1] = 1; std::cout<<a+b+big[2]<<"\\n"; }',
}
EXPECTED = {
    "AC": "AC", "WA": "WA", "TLE": "TLE", "MLE": "MLE", "RE": "RE", "OLE": "OLE",
    "threads": "AC", "deep-recursion": "AC", "big-untouched-array": "AC",
}  # fmt: skip

EVALUATE_ALL = """
import json, sys
from pathlib import Path
import pie
programs = json.loads(Path(sys.argv[1]).read_text())
limits = pie.Limits(**json.loads(sys.argv[3]))
async def main():
    async with pie.Evaluator(concurrency=2, limits=limits) as ev:
        out = {}
        for name, source in programs.items():
            r = await ev.evaluate(source, sys.argv[2], indices=[0])
            out[name] = r.verdict.value
            out["sandbox"] = r.sandbox  # what every evaluation names
        print(json.dumps(out))
pie.evaluate_sync  # the sync entry point exists; the async one runs here
import anyio
anyio.run(main)
"""


@attrs.frozen
class Place:
    """A workspace every environment's user can reach, with a cache per environment."""

    root: Path
    wrapper: Path
    tests: Path

    def cache(self, env: Environment) -> Path:
        return self.root / f"cache-{env.name}"

    def run(
        self, env: Environment, *args: str, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        cache = self.cache(env)
        environ = {**os.environ, "PIE_CACHE_DIR": str(cache), "HOME": str(cache)}
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
        command = env.wrap([sys.executable, *args], self.wrapper)
        return subprocess.run(command, capture_output=True, text=True, env=environ,
                              timeout=timeout, check=False, cwd=self.root)  # fmt: skip


@pytest.fixture(scope="module")
def place(cache_dir: Path) -> Iterator[Place]:
    root = Path("/tmp") / f"pie-environments-{secrets.token_hex(4)}"
    root.mkdir(mode=0o755)
    try:
        tests = make_tests(root / "tests", [("3 4\n", "7\n"), ("10 -3\n", "7\n")])
        # build the launcher and the PCH once, then give every environment its own copy (its
        # own cache: no verdict of one environment may be served to another)
        pie.evaluate_sync(SUM_OK, tests, cache_dir=cache_dir)
        for env in MATRIX:
            cache = root / f"cache-{env.name}"
            for part in ("launcher", "pch"):
                shutil.copytree(
                    cache_dir / part, cache / part, ignore=shutil.ignore_patterns("*.lock")
                )
            if env.uid is not None:
                for path in (cache, *cache.rglob("*")):
                    os.chown(path, env.uid, env.uid, follow_symlinks=False)
        (root / "programs.json").write_text(json.dumps(PROGRAMS))
        (root / "evaluate_all.py").write_text(EVALUATE_ALL)
        yield Place(root, build_wrapper(root), tests)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def clean(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    return done.stdout


WEAKER = {
    # environment: doctor rows that must say NO, and words its weaker lines must contain
    "root": ((), ()),
    "non-root": (("separate uid per slot", "memory cgroup", "pids cgroup"), ("not root",)),
    "container-root": (
        ("pid namespace", "memory cgroup", "pids cgroup", "tests hidden from runs"),
        ("read-only file system", "no PID namespace", "stat the expected outputs"),
    ),
    "container-non-root": (
        ("pid namespace", "memory cgroup", "separate uid per slot", "tests hidden from runs"),
        ("not root", "no PID namespace"),
    ),
    "no-shm": (("scratch in memory",), ("no writable /dev/shm",)),
}


@pytest.mark.parametrize("env", MATRIX, ids=[e.name for e in MATRIX])
def test_doctor_names_what_is_weaker(place: Place, env: Environment) -> None:
    done = place.run(env, "-m", "pie.cli", "doctor")
    out = clean(done)
    assert done.returncode == 0, done.stderr
    rows = {line[:24].strip(): line[24:].strip() for line in out.splitlines()}
    missing, words = WEAKER[env.name]
    for row in missing:
        assert rows.get(row, "").startswith("NO"), (row, out)
    weaker = [line for line in out.splitlines() if line.startswith("weaker")]
    for word in words:
        assert any(word in line for line in weaker), (word, weaker)
    if env.name == "root":  # everything there: nothing to excuse but the v2 note of this host
        assert all("cgroup v2" in line for line in weaker), weaker


@pytest.mark.parametrize("env", MATRIX, ids=[e.name for e in MATRIX])
def test_pie_run_works_and_says_its_sandbox(place: Place, env: Environment, tmp_path: Path) -> None:
    source = place.root / "sum.cpp"
    source.write_text(SUM_OK)
    done = place.run(
        env, "-m", "pie.cli", "run", str(source), "--tests", str(place.tests), "--json"
    )
    result = json.loads(clean(done))
    assert done.returncode == 0, done.stderr
    assert result["verdict"] == "AC"
    assert ("no-cgroup" in result["sandbox"]) == (env.name not in {"root", "no-shm"})


def share_compiles(place: Place, source: Environment, target: Environment) -> None:
    """``target`` gets ``source``'s compiled binaries, none of its verdicts (compiling is not
    what differs between environments; running is)."""
    origin, cache = place.cache(source), place.cache(target)
    shutil.rmtree(cache)
    shutil.copytree(origin, cache, ignore=shutil.ignore_patterns("*.lock", "*-wal", "*-shm"))
    with contextlib.closing(sqlite3.connect(cache / CACHE_FILE)) as db, db:
        db.execute("DELETE FROM runs")
        db.execute("DELETE FROM timings")
    if target.uid is not None:
        for path in (cache, *cache.rglob("*")):
            os.chown(path, target.uid, target.uid, follow_symlinks=False)


def test_legitimate_programs_get_the_same_verdicts_everywhere(place: Place) -> None:
    verdicts = {}
    for env in MATRIX:
        if env is not MATRIX[0]:
            share_compiles(place, MATRIX[0], env)
        done = place.run(
            env, str(place.root / "evaluate_all.py"), str(place.root / "programs.json"),
            str(place.tests), json.dumps(LIMITS),
        )  # fmt: skip
        verdicts[env.name] = json.loads(clean(done).strip().splitlines()[-1])
    for env, found in verdicts.items():
        summary = found.pop("sandbox")
        assert found == EXPECTED, (env, summary, found)


@pytest.mark.slow
@pytest.mark.parametrize("env", MATRIX, ids=[e.name for e in MATRIX])
def test_pie_demo_works(place: Place, env: Environment) -> None:
    done = place.run(env, "-m", "pie.cli", "demo", timeout=1200)
    out = clean(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sandbox:" in out


@pytest.mark.slow
@pytest.mark.parametrize("env", MATRIX, ids=[e.name for e in MATRIX])
def test_pie_evaluate_works(place: Place, env: Environment) -> None:
    folder = place.root / f"evaluate-{env.name}"
    folder.mkdir()
    rows = [{"problem_id": place.tests.name, "src_code": PROGRAMS["threads"], "tgt_code": SUM_OK,
             "generated_answers": [SUM_OK, PROGRAMS["WA"]]}]  # fmt: skip
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {
        "model_generated_outputs_path": str(folder / "rows.jsonl"),
        "reference_file_path": str(folder / "rows.jsonl"),
        "output_dir": str(folder / "out"),
        "testcases_dir": str(place.tests.parent),
        "timing": "none",
    }
    (folder / "config.yaml").write_text(
        "".join(f"{k}: {json.dumps(v)}\n" for k, v in config.items())
    )
    if env.uid is not None:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, env.uid, env.uid)
    done = place.run(env, "-m", "pie.cli", "evaluate", str(folder / "config.yaml"), timeout=1200)
    clean(done)
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = [
        json.loads(line)
        for line in (folder / "out" / "test_results.jsonl").read_text().splitlines()
    ]
    assert row["generated_answers_0_accuracy"] == 1.0, sorted(row)
    assert row["generated_answers_1_accuracy"] == 0.0
