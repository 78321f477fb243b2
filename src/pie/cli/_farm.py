"""``pie farm check FARM.yaml`` and ``pie farm status``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from pie._compile import CompileOptions
from pie._farm._config import FarmConfig, HostConfig, load_farm
from pie._farm._hosts import HostError, HostLink, Identity, LocalFileError, Upload
from pie._farm._outcome import Failed, outcome_of
from pie._hashing import key_of, sha256_file
from pie._paths import FARM_STATUS_FOLDER, default_cache_dir

MIN_FREE_BYTES = 1 << 30
PROBE_SOURCE = '#include <cstdio>\nint main() { std::puts("pie farm check"); return 0; }\n'


def add_parser(commands: Any) -> None:
    farm = commands.add_parser("farm", help="check a gem5 farm, or watch a running batch")
    actions = farm.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check", help="connect to every host, check gem5 and disk, simulate a tiny program"
    )
    check.add_argument("config", type=Path, help="the farm YAML")
    status = actions.add_parser("status", help="queue, busy slots and hosts of a running batch")
    status.add_argument(
        "--cache", type=Path, default=argparse.SUPPRESS, help="cache directory of the batch"
    )
    farm.set_defaults(handler=farm_command)


def farm_command(args: argparse.Namespace) -> int:
    if args.action == "check":
        return check(args.config)
    return status(args.cache or default_cache_dir())


# ---- check --------------------------------------------------------------------------------


@attrs.define
class HostCheck:
    """One row of the check table."""

    host: str
    ok: bool = False
    connect_seconds: float | None = None
    identity: Identity | None = None
    free_bytes: int | None = None
    probe: str = "-"
    problem: str = ""


def check(path: Path) -> int:
    """Print one row per host; 0 when every host can simulate, 1 otherwise."""
    config = load_farm(path)
    with tempfile.TemporaryDirectory(prefix="pie-farm-check-") as scratch:
        probe = _build_probe(Path(scratch))
        rows = anyio.run(_check_hosts, config, probe)
    _flag_odd_identities(rows)
    print(_check_table(rows))
    if isinstance(probe, str):
        print(f"\nprobe program: {probe}")
    failed = [row.host for row in rows if not row.ok]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} hosts ready")
    return 1 if failed else 0


def _build_probe(folder: Path) -> tuple[Upload, Upload] | str:
    """The tiny program and its (empty) input, or why it could not be built."""
    options = CompileOptions()
    if shutil.which(options.compiler) is None:
        return f"no {options.compiler} here to build the probe program"
    source, binary, given = folder / "probe.cpp", folder / "probe", folder / "input.txt"
    source.write_text(PROBE_SOURCE)
    given.write_bytes(b"")
    built = subprocess.run(
        [options.compiler, *options.flags, str(source), "-o", str(binary)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        return f"{options.compiler} could not build the probe: {built.stderr.strip()[-300:]}"
    return Upload(binary, sha256_file(binary), "bin"), Upload(given, key_of(b""), "inputs")


async def _check_hosts(config: FarmConfig, probe: tuple[Upload, Upload] | str) -> list[HostCheck]:
    rows = [HostCheck(host.name) for host in config.hosts]
    async with anyio.create_task_group() as group:
        for row, host in zip(rows, config.hosts, strict=True):
            group.start_soon(_check_host, row, host, config, probe)
    return rows


async def _check_host(
    row: HostCheck, host: HostConfig, config: FarmConfig, probe: tuple[Upload, Upload] | str
) -> None:
    link = HostLink(host, config)
    started = time.monotonic()
    try:
        row.identity = await link.connect()
        row.connect_seconds = time.monotonic() - started
        row.free_bytes = await link.free_bytes()
        if isinstance(probe, str):
            row.problem = f"probe not run: {probe}"
            return
        run = await link.run(*probe)
    except (HostError, LocalFileError) as error:
        row.problem = str(error)
        return
    finally:
        await link.close()
    outcome = outcome_of(run, config)
    if isinstance(outcome, Failed):
        row.probe, row.problem = "failed", outcome.message
        return
    row.probe = f"{float(outcome.seconds) * 1e3:.3f} ms in {run.seconds:.1f} s"
    if row.free_bytes is not None and row.free_bytes < MIN_FREE_BYTES:
        row.problem = f"only {_size(row.free_bytes)} free in {host.workdir}"
        return
    row.ok = True


def _flag_odd_identities(rows: list[HostCheck]) -> None:
    """Hosts whose gem5, config or libraries differ from most hosts' would give other ticks."""
    counts = Counter(row.identity for row in rows if row.identity is not None)
    if len(counts) < 2:
        return
    usual = counts.most_common(1)[0][0]
    for row in rows:
        if row.identity is not None and row.identity != usual:
            row.ok = False
            row.problem = "gem5, its config or the guest libraries differ from the other hosts'"


def _check_table(rows: Sequence[HostCheck]) -> str:
    header = ("host", "status", "connect", "gem5", "config", "libs", "free", "probe", "problem")
    table = [header]
    for row in rows:
        ident = row.identity
        table.append(
            (
                row.host,
                "ok" if row.ok else "FAIL",
                f"{row.connect_seconds:.2f} s" if row.connect_seconds is not None else "-",
                ident.gem5[:12] if ident else "-",
                ident.config[:12] if ident else "-",
                ident.libs[:12] if ident else "-",
                _size(row.free_bytes) if row.free_bytes is not None else "-",
                row.probe,
                row.problem,
            )
        )
    return _columns(table)


# ---- status -------------------------------------------------------------------------------


def status(cache_dir: Path) -> int:
    """Print the snapshot of each batch that used this cache directory, newest last."""
    files = sorted(
        (cache_dir / FARM_STATUS_FOLDER).glob("status-*.json"), key=lambda p: p.stat().st_mtime
    )
    snapshots = []
    for file in files:
        try:
            snapshots.append(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # being replaced right now, or not ours
    if not snapshots:
        print(f"no gem5 farm batch has used the cache {cache_dir}")
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
    lines.extend("  " + line for line in _columns(table).splitlines())
    return "\n".join(lines)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _columns(table: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def _size(count: int) -> str:
    return f"{count / (1 << 30):.1f} GiB"
