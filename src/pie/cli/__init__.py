"""The ``pie`` command: ``run``, ``evaluate``, ``report``, ``demo``, ``doctor``, ``cache``,
``farm``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pie._errors import PieError
from pie.cli import _cache, _demo, _doctor, _evaluate, _farm, _run
from pie.cli._exit import EXIT_INTERRUPTED, EXIT_PIPE, EXIT_USAGE

# one module per command group; each adds its parser and the handler that runs it
_GROUPS = (_run, _demo, _doctor, _evaluate, _farm, _cache)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pie", description=__doc__)
    parser.add_argument("--cache", type=Path, help="cache directory (default ~/.cache/pie)")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in _GROUPS:
        group.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # here, where a reader that left is handled, not at exit
    except PieError as error:
        print(f"pie: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pie: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _reader_left()
    return code


def _reader_left() -> int:
    """``pie ... | head``: the reader closed the pipe.  No traceback; what was left to write
    goes nowhere (so the interpreter's final flush cannot fail either)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    return EXIT_PIPE
