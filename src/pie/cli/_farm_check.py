"""``pie farm check FARM.yaml``: the table of ``pie.check_farm``.  Its own module: the check
needs asyncssh, which the other commands never load."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio

import pie
from pie.cli._farm import columns, size


def check(path: Path, toolchain_root: Path | None = None) -> int:
    """Print one row per host; 0 when every host can simulate, 1 otherwise."""
    options = pie.CompileOptions(toolchain_root=toolchain_root)
    found = anyio.run(pie.check_farm, path, options)
    print(_check_table(found.hosts))
    if found.probe_error is not None:
        print(f"\nprobe program: {found.probe_error}")
    print(f"\nprobe: {found.probe}")
    ready = sum(row.ok for row in found.hosts)
    weaker = sum(row.ok and row.weaker for row in found.hosts)
    unconfined = f" ({weaker} weaker: gem5 unconfined)" if weaker else ""
    print(f"\n{ready} of {len(found.hosts)} hosts ready{unconfined}")
    return 0 if found.ok else 1


def _check_table(rows: Sequence[pie.HostCheck]) -> str:
    header = (
        "host", "status", "connect", "gem5", "config", "libs", "glibc", "jail", "free", "probe",
        "problem",
    )  # fmt: skip
    table = [header]
    for row in rows:
        ident = row.identity
        table.append(
            (
                row.host,
                ("weak" if row.weaker else "ok") if row.ok else "FAIL",
                f"{row.connect_seconds:.2f} s" if row.connect_seconds is not None else "-",
                ident.gem5[:12] if ident else "-",
                ident.config[:12] if ident else "-",
                ident.libs[:12] if ident else "-",
                ".".join(map(str, row.glibc)) if row.glibc else "-",
                row.confinement.replace("-", " ", 1),
                size(row.free_bytes) if row.free_bytes is not None else "-",
                row.probe,
                row.problem,
            )
        )
    return columns(table)
