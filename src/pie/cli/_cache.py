"""``pie cache stats|clear|export``: the result cache."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pie._cache import FILE_NAME as CACHE_FILE
from pie._cache import ResultCache
from pie._cache import clear as clear_cache
from pie._errors import InputError
from pie._json import dumps
from pie._paths import default_cache_dir
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
    folder = args.cache_dir or default_cache_dir()
    path = folder / CACHE_FILE
    if args.action == "clear":
        clear_cache(path)
        print(f"cleared {path}")
        return EXIT_OK
    if not path.is_file():  # reading must not create a cache where there was none
        raise InputError(
            f"no result cache in {folder} (no {CACHE_FILE}); pass the --cache-dir that the "
            "evaluations used"
        )
    store = ResultCache(path)
    try:
        if args.action == "stats":
            for name, value in store.stats().items():
                print(f"{name:9s} {value}")
            print(f"file      {path}")
        else:
            with args.file.open("w", encoding="utf-8") as handle:
                count = 0
                for row in store.export():
                    handle.write(dumps(row) + "\n")
                    count += 1
            print(f"wrote {count} rows to {args.file}")
    finally:
        store.close()
    return EXIT_OK
