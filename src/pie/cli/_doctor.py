"""``pie doctor``: which sandbox mechanisms this host has, and what is weaker than asked."""

from __future__ import annotations

import argparse
from typing import Any

from pie._doctor import report
from pie._errors import PieError


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="which sandbox mechanisms this host has",
        description="Which sandbox mechanisms this host offers, which are weaker than pie asks "
        "for and what replaces them, and what makes wall-clock timings noisy here.",
        parents=[common],
    )
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    try:
        rows = report(args.cache_dir)
    except PieError as error:
        print(f"pie doctor: {error}")
        return 1
    width = max(len(name) for name, _ in rows)
    for name, state in rows:
        print(f"{name.ljust(width)}  {state}")
    return 0
