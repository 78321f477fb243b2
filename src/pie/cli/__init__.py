"""The ``pie`` command: ``run``, ``evaluate``, ``report``, ``demo``, ``doctor``, ``cache``,
``farm``, ``serve``; a client of the ``pie`` library.

Importing this package loads nothing heavy: ``command`` first asks a running ``pie serve``
(pie.cli._client, the standard library alone) and loads the command's modules only when no
server answers.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # as in pie/__init__.py: typing is not imported for it
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


def parser() -> argparse.ArgumentParser:
    """The ``pie`` command's argument parser."""
    from pie.cli import _main  # noqa: PLC0415 (loaded only when needed)

    return _main.parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pie`` command in this process."""
    from pie.cli._main import main as run_here  # noqa: PLC0415 (loaded only when needed)

    return run_here(argv)


def command() -> int:
    """The ``pie`` program: served by ``pie serve`` when one listens in the cache folder and
    accepts this environment, else run here."""
    from pie.cli._client import served  # noqa: PLC0415 (the same light module every time)

    code = served(sys.argv[1:])
    return main() if code is None else code
