"""``pie cache stats|clear|export``: the result cache, through ``pie.Cache``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pie
from pie.cli._exit import EXIT_OK


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    cache = commands.add_parser(
        "cache", help="inspect, export or clear the result cache", parents=[common]
    )
    actions = cache.add_subparsers(dest="action", required=True)
    actions.add_parser("stats", help="rows per table and bytes on disk", parents=[common])
    actions.add_parser(
        "clear", help="delete the cached results (they are computed again)", parents=[common]
    )
    export = actions.add_parser("export", help="every cached row as JSON lines", parents=[common])
    export.add_argument("file", type=Path, help="where to write the rows (JSON lines)")
    cache.set_defaults(handler=_cache_command)


def _cache_command(args: argparse.Namespace) -> int:
    cache = pie.Cache(args.cache_dir)
    if args.action == "clear":
        if cache.clear():
            print(f"cleared {cache.path}")
        else:
            print(f"no result cache in {cache.cache_dir}: nothing to clear")
    elif args.action == "stats":
        for name, value in cache.stats().items():
            print(f"{name:9s} {value}")
        print(f"file      {cache.path}")
    else:
        rows = cache.export()
        count = 0
        with args.file.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, allow_nan=False) + "\n")
                count += 1
        print(f"wrote {count} rows to {args.file}")
    return EXIT_OK
