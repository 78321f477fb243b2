"""What a simulated run's output is held to: the test's expected output, judged with the
checker of the test run and at least its accuracy, as the local backends judge their timed runs.

A program can tell gem5 from a real machine (its CPUID, its slow clock, its empty environment,
its argv[0]) and skip its work there, printing nothing: gem5 would then report almost no time,
and pie a huge speedup.  So a simulated run whose output is wrong, over the test's output limit,
or gone gives no time.  The expected output never leaves this machine: the host sends back the
guest's output (only when within the test's output limit) and it is judged here.
"""

from __future__ import annotations

import io
from pathlib import Path

import anyio
import attrs

from pie._check import CheckMode, check_output
from pie._farm._hosts import LocalFileError, RemoteRun
from pie._model import MIB


@attrs.frozen
class ExpectedOutput:
    """The test a run's output is judged against: the expected-output file, the digest of the
    test (input and expected output), the checker and accuracy of the program's test run, and
    the test's output limit in bytes."""

    path: Path
    test_digest: str
    mode: CheckMode
    floor: float
    limit: int

    def key(self) -> str:
        """What two runs of one binary on one input must share to share one judgment."""
        return f"{self.test_digest};{self.mode.value};{self.floor!r};{self.limit}"


async def output_accuracy(run: RemoteRun, expected: ExpectedOutput) -> float | None:
    """The accuracy of the guest's output, or None when there is none to judge (no regular
    file, or over the limit: not sent); raises LocalFileError when the expected output cannot
    be read here."""
    if run.output_bytes is None or run.output_bytes > expected.limit:
        return None
    try:
        return await anyio.to_thread.run_sync(_accuracy, run.output, expected)
    except OSError as error:
        raise LocalFileError(f"cannot read {expected.path}: {error.strerror}") from None


def _accuracy(output: bytes, expected: ExpectedOutput) -> float:
    return check_output(io.BytesIO(output), len(output), expected=expected.path, mode=expected.mode)


def output_failure(
    output_bytes: int | None, accuracy: float | None, expected: ExpectedOutput
) -> str | None:
    """Why a simulated run's output disqualifies its time, or None when it is right."""
    if output_bytes is None:
        return (
            "gem5 left no regular file of the guest's output (the program removed or replaced "
            "its own stdout), so it cannot be checked"
        )
    if output_bytes > expected.limit:
        return (
            f"the program printed {output_bytes:,} bytes under gem5, over the test's output "
            f"limit of {expected.limit / MIB:g} MiB"
        )
    if accuracy is None or accuracy < expected.floor:
        score = 0.0 if accuracy is None else accuracy
        return (
            f"accuracy {score:.3f} under gem5, {expected.floor:.3f} in its test run; a program "
            "must print under gem5 what it prints in its tests (one that detects gem5 and skips "
            "its work does not, nor does AVX code: gem5 v20.1 runs some 256-bit AVX as 128-bit "
            "SSE)"
        )
    return None
