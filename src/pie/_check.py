"""Output comparison: PIE's line-wise accuracy, and a strict token-wise judge."""

from __future__ import annotations

import enum


class CheckMode(str, enum.Enum):
    PIE = "pie"
    STRICT = "strict"


FLOAT_TOLERANCE = 1e-3


def decode_output(data: bytes) -> str | None:
    """Text as PIE's ``subprocess.run(text=True)`` sees it; ``None`` when it is not UTF-8.

    PIE decodes with the locale's codec in strict mode, so a program printing invalid UTF-8
    fails its test (accuracy 0).  Universal newlines turn ``\\r\\n`` and ``\\r`` into ``\\n``.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_matches(got: str, want: str) -> bool:
    if got == want:
        return True
    try:
        return abs(float(got) - float(want)) < FLOAT_TOLERANCE
    except ValueError:
        return False


def pie_accuracy(output: str, expected: str) -> float:
    """Fraction of expected lines matched, exactly as PIE's ``get_accuracy``.

    Both texts are stripped as a whole and split into lines (lines are not stripped); lines are
    zipped, so extra output lines are ignored and missing ones count as wrong.  PIE divides by
    zero on an empty expected output; here an empty expectation is met only by empty output.
    """
    want = expected.strip().splitlines()
    got = output.strip().splitlines()
    if not want:
        return 1.0 if not got else 0.0
    correct = sum(_line_matches(g, w) for g, w in zip(got, want, strict=False))
    return correct / len(want)


def strict_accuracy(output: str, expected: str) -> float:
    """1.0 when the whitespace-separated tokens are identical, else 0.0 (missing or extra is WA)."""
    return 1.0 if output.split() == expected.split() else 0.0


def accuracy(output: bytes, expected: bytes, mode: CheckMode | str) -> float:
    mode = CheckMode(mode)
    got = decode_output(output)
    want = decode_output(expected)
    if got is None:
        return 0.0
    if want is None:
        want = expected.decode("utf-8", errors="replace")
    if mode is CheckMode.STRICT:
        return strict_accuracy(got, want)
    return pie_accuracy(got, want)
