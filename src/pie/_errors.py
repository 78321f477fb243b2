"""Errors a user can act on: each message names the thing that is wrong and the fix."""

from __future__ import annotations


class PieError(Exception):
    """Base of every error ``pie`` raises on purpose."""


class InputError(PieError, ValueError):
    """Bad input from the user: a missing file, a malformed test folder, a bad option."""


class SandboxError(PieError):
    """The sandbox could not run a program (a host problem, never the program's verdict)."""


class CompilerError(PieError):
    """The compiler itself is missing or broken (not a compile error of the program)."""
