"""Every verdict, produced by a real program under the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

import pie
from tests.conftest import SUM_OK, make_tests

pytestmark = pytest.mark.anyio

LIMITS = pie.Limits(time_limit=1.0, memory_limit=256, output_mib=4)

PROGRAMS = {
    "AC": SUM_OK,
    "WA": '#include <cstdio>\nint main(){ std::puts("8"); }',
    "TLE": "int main(){ volatile unsigned long x = 0; for(;;) x++; }",
    "MLE": r"""
#include <cstdlib>
#include <cstring>
int main(){ for(;;){ char* p = (char*)std::malloc(16 << 20); std::memset(p, 1, 16 << 20); } }
""",
    "RE": "#include <cstdlib>\nint main(){ std::abort(); }",
    "OLE": '#include <cstdio>\nint main(){ for(;;) std::fputs("yyyyyyyyyyyyyyyy\\n", stdout); }',
    "CE": "int main() { this is not C++; }",
}


@pytest.mark.parametrize("expected", list(PROGRAMS))
async def test_each_verdict(
    expected: str, sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    result = await pie.evaluate(PROGRAMS[expected], sum_tests, limits=LIMITS, **evaluator_options)
    assert result.verdict.value == expected
    if expected == "CE":
        assert "error" in result.compile.message
        assert result.tests == ()
    else:
        assert len(result.tests) == 3
        assert all(t.verdict.value == expected for t in result.tests)
    assert result.accuracy == (1.0 if expected == "AC" else 0.0)


async def test_first_failing_test_decides(
    tmp_path: Path, evaluator_options: dict[str, object]
) -> None:
    tests = make_tests(tmp_path / "t", [("1 1\n", "2\n"), ("2 2\n", "5\n"), ("0 0\n", "0\n")])
    result = await pie.evaluate(SUM_OK, tests, limits=LIMITS, **evaluator_options)
    assert [t.verdict.value for t in result.tests] == ["AC", "WA", "AC"]
    assert result.verdict is pie.Verdict.WA
    assert result.accuracy == pytest.approx(2 / 3)


async def test_nonzero_exit_is_runtime_error(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    result = await pie.evaluate(
        "int main(){ return 3; }", sum_tests, limits=LIMITS, **evaluator_options
    )
    assert result.verdict is pie.Verdict.RE
    assert result.tests[0].exit_code == 3
    assert result.tests[0].signal is None


async def test_signal_is_reported(sum_tests: Path, evaluator_options: dict[str, object]) -> None:
    source = "int main(){ volatile int* p = nullptr; return *p; }"
    result = await pie.evaluate(source, sum_tests, limits=LIMITS, **evaluator_options)
    assert result.verdict is pie.Verdict.RE
    assert result.tests[0].signal == 11
    assert result.tests[0].exit_code is None


async def test_sleeping_program_hits_the_wall_clock(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    source = "#include <unistd.h>\nint main(){ sleep(100); }"
    limits = pie.Limits(time_limit=0.5, wall_factor=1.0, wall_extra=0.5)
    result = await pie.evaluate(source, sum_tests, indices=[0], limits=limits, **evaluator_options)
    assert result.verdict is pie.Verdict.TLE
    assert result.tests[0].wall_seconds < 5


async def test_several_megabytes_of_input_and_output_pass(
    tmp_path: Path, evaluator_options: dict[str, object]
) -> None:
    numbers = range(1, 1_000_001)
    given = "1000000\n" + "\n".join(map(str, numbers)) + "\n"  # about 6.9 MB
    expected = "\n".join(str(2 * n) for n in numbers) + "\n"  # about 7.9 MB
    tests = make_tests(tmp_path / "io", [(given, expected)])
    source = r"""
#include <bits/stdc++.h>
int main() {
  std::ios::sync_with_stdio(false); std::cin.tie(nullptr);
  int n; std::cin >> n;
  std::string out; out.reserve(9 << 20);
  for (int i = 0; i < n; ++i) {
    long long x; std::cin >> x; out += std::to_string(2 * x); out += '\n';
  }
  std::cout << out;
}
"""
    result = await pie.evaluate(source, tests, **evaluator_options)
    assert result.verdict is pie.Verdict.AC, result.tests
    assert result.tests[0].max_rss_kib > 8 * 1024


async def test_a_sigxcpu_the_program_raised_itself_is_a_runtime_error(
    sum_tests: Path, evaluator_options: dict[str, object]
) -> None:
    """TLE means the CPU limit was reached: a program that raises the limit's signal at once
    (it ran 0.002 s) is killed by a signal, RE, and says so."""
    source = "#include <csignal>\nint main(){ std::raise(SIGXCPU); }"
    result = await pie.evaluate(source, sum_tests, limits=LIMITS, **evaluator_options)
    assert [t.verdict.value for t in result.tests] == ["RE"] * 3
    assert all(t.signal == 24 and t.cpu_seconds < 0.5 for t in result.tests)
