"""``pie.<Name>`` in reprs, tracebacks and pickles for names that ``pie`` loads on first use
(the eager ones are marked by ``pie/__init__.py``), whichever import path loaded them first."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def public(value: T) -> T:
    value.__module__ = "pie"
    return value
