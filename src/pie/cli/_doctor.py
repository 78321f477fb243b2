"""``pie doctor``: which sandbox mechanisms this host has, and what is weaker than asked."""

from __future__ import annotations

import argparse
from typing import Any

import pie


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
        facts = pie.doctor(args.cache_dir)
    except pie.PieError as error:
        print(f"pie doctor: {error}")
        return 1
    width = max(len(fact.name) for fact in facts)
    for fact in facts:
        print(f"{fact.name.ljust(width)}  {fact.state}")
    return 0
