"""``pie farm check FARM.yaml`` (in ``_farm_check``) and ``pie farm status``."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pie


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    farm = commands.add_parser(
        "farm", help="check a gem5 farm, or watch a running batch", parents=[common]
    )
    actions = farm.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="connect to every host, check gem5 and disk, simulate a tiny program",
        description="Exit status 0 when every host can simulate, 1 otherwise.",
        parents=[common],
    )
    check.add_argument("config", type=Path, help="the farm YAML (docs/FARM.md)")
    check.add_argument(
        "--toolchain-root",
        type=Path,
        metavar="DIR",
        help="build the probe program with the g++ of the system rooted at DIR, as "
        "'pie run --toolchain-root' builds programs",
    )
    actions.add_parser(
        "status",
        help="queue, busy slots and hosts of a running batch",
        description="Reads the status files that batches using this cache directory write. "
        "Exit status 1 when no batch has used it.",
        parents=[common],
    )
    farm.set_defaults(handler=farm_command)


def farm_command(args: argparse.Namespace) -> int:
    if args.action == "check":
        from pie.cli._farm_check import check  # noqa: PLC0415 (asyncssh: only for this command)

        return check(args.config, args.toolchain_root)
    return status(args.cache_dir)


# ---- status -------------------------------------------------------------------------------


def status(cache_dir: Path | None) -> int:
    """Print the snapshot of each batch that used this cache directory, newest last."""
    snapshots = pie.farm_status(cache_dir)
    if not snapshots:
        print(f"no gem5 farm batch has used the cache {pie.Cache(cache_dir).cache_dir}")
        return 1
    for snapshot in snapshots:
        print(_status_text(snapshot))
    return 0


def _status_text(snapshot: dict[str, Any]) -> str:
    pid = int(snapshot["pid"])
    state = snapshot["state"]
    if state == "running" and not _alive(pid):
        state = "stopped (its process is gone)"
    age = time.time() - float(snapshot["updated"])
    lines = [
        f"batch {pid}: {state}, updated {age:.0f} s ago",
        f"  queue {snapshot['queue']}, busy slots {snapshot['busy_slots']} of "
        f"{snapshot['slots']}, done {snapshot['done']}, failed {snapshot['failed']}, "
        f"requeued {snapshot['requeued']}",
    ]
    table = [("host", "state", "busy", "done", "failed", "host errors", "jobs/min", "reason")]
    for host in snapshot["hosts"]:
        table.append(
            (
                host["host"],
                host["state"],
                f"{host['busy']}/{host['slots']}",
                str(host["done"]),
                str(host["failed"]),
                str(host["host_errors"]),
                f"{host['jobs_per_minute']:.1f}",
                host["reason"][:120],
            )
        )
    lines.extend("  " + line for line in columns(table).splitlines())
    return "\n".join(lines)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def columns(table: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def size(count: int) -> str:
    return f"{count / (1 << 30):.1f} GiB"
