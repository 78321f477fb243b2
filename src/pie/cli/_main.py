"""The ``pie`` command's parser and its run in this process (pie.cli.main)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pie
from pie.cli import _cache, _demo, _doctor, _evaluate, _farm, _run, _serve
from pie.cli._exit import EXIT_INTERRUPTED, EXIT_PIPE, EXIT_USAGE

DESCRIPTION = (
    "Is this C++ program correct, and how much faster is it? The PIE benchmark's evaluator: "
    "sandboxed runs, PIE's output check, deterministic timing, a result cache."
)
EPILOG = (
    "exit status: 0 done (accepted, for run and demo), 1 evaluated but not accepted (run, "
    "demo) or not ready (doctor, farm), 2 could not run (bad arguments or input; the reason is "
    "on stderr), 75 an infrastructure failure stopped 'pie evaluate' (run it again to resume), "
    "130 interrupted, 141 the reader of the output went away. 'pie COMMAND --help' describes "
    "each command."
)

# one module per command group; each adds its parser and the handler that runs it
_GROUPS = (_run, _evaluate, _demo, _doctor, _cache, _farm, _serve)


def _add_cache_dir(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=default,
        metavar="DIR",
        help="cache directory (default: $PIE_CACHE_DIR, else ~/.cache/pie)",
    )


@functools.cache
def parser() -> argparse.ArgumentParser:
    """Built once a process (argparse looks up a translation for each of its ~40 messages, about
    10 ms in all): the children of ``pie serve`` inherit it built."""
    # options every command takes before or after its name (pie --cache-dir D cache stats, and
    # pie cache stats --cache-dir D); after it they must not reset what was given before it
    common = argparse.ArgumentParser(add_help=False)
    _add_cache_dir(common, argparse.SUPPRESS)
    top = argparse.ArgumentParser(prog="pie", description=DESCRIPTION, epilog=EPILOG)
    _add_cache_dir(top, None)
    top.add_argument("--version", action="version", version=f"pie {pie.__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _GROUPS:
        group.add_parser(commands, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # here, where a reader that left is handled, not at exit
    except pie.PieError as error:
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
