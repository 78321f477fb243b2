"""Errors a user can act on: each message names the thing that is wrong and the fix."""

from __future__ import annotations


class PieError(Exception):
    """Base of every error ``pie`` raises on purpose."""


class InputError(PieError, ValueError):
    """Bad input from the user: a missing file, a malformed test folder, a bad option."""


class SandboxError(PieError):
    """The sandbox could not run a program (a host problem, never the program's verdict)."""


class RunStopped(PieError):
    """A batch run stopped on an infrastructure failure (sandbox, disk): what finished is
    saved, and running it again resumes.  ``failures`` holds (program, reason) pairs."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        first = failures[0][1]
        more = f" (and {len(failures) - 1} more program(s))" if len(failures) > 1 else ""
        super().__init__(f"stopped by an infrastructure failure: {first}{more}")


class CompilerError(PieError):
    """The compiler itself is missing or broken (not a compile error of the program)."""
