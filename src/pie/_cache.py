"""The result store: one SQLite file (WAL) keyed by content hashes, so nothing is paid twice.

Three tables, each row written in one transaction once its result is complete:

- ``compiles``: (source hash, compiler identity, flags, compile limits) -> outcome and binary hash;
  binaries themselves live beside the database, one file per content hash;
- ``runs``: (binary hash, test hash, limits, checker) -> the test's verdict and costs, so sources
  that differ only in comments but compile to the same binary run once;
- ``timings``: (binary hash, input hash, backend, backend config) -> the backend's numbers.

Many processes may share the file: SQLite's locking serialises writers, readers never block.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs

from pie._errors import InputError, PieError
from pie._paths import default_cache_dir
from pie._public import public

SCHEMA = "pie-cache-1"
FILE_NAME = "results.sqlite3"
_BUSY_TIMEOUT_S = 60.0

_TABLES = {
    "compiles": "key TEXT PRIMARY KEY, ok INTEGER, seconds REAL, message TEXT, binary TEXT",
    "runs": "key TEXT PRIMARY KEY, binary TEXT, result TEXT",
    "timings": "key TEXT PRIMARY KEY, binary TEXT, result TEXT",
}


class CacheError(PieError):
    """The cache file cannot be used (corrupted, foreign, or from another pie version)."""


class ResultCache:
    """Thread-safe access to the store; async callers go through a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = self._open(path)
        self._limiter = anyio.CapacityLimiter(1)

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                with db:
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA,))
                row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row[0] != SCHEMA:
                raise CacheError(
                    f"cache {path} has schema {row[0]!r}, this pie needs {SCHEMA!r}: "
                    f"run 'pie cache clear' or point cache_dir/PIE_CACHE_DIR elsewhere"
                )
            with db:
                for table, columns in _TABLES.items():
                    db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        except sqlite3.DatabaseError as error:
            raise CacheError(
                f"cache {path} is not a usable pie cache ({error}); move it away or run "
                "'pie cache clear' (it only holds results that can be computed again)"
            ) from None
        return db

    # ---- synchronous primitives (one connection, guarded by a lock) -------------------

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            cursor = self._db.execute(f"SELECT * FROM {table} WHERE key=?", (key,))
            row = cursor.fetchone()
            if row is None:
                return None
            names = [column[0] for column in cursor.description]
        return dict(zip(names, row, strict=True))

    def put(self, table: str, values: dict[str, Any]) -> None:
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._lock, self._db:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})", tuple(values.values())
            )

    # ---- async helpers used by the pipeline ----------------------------------------------

    async def get_json(self, table: str, key: str) -> Any:
        row = await anyio.to_thread.run_sync(self.get, table, key, limiter=self._limiter)
        return None if row is None else json.loads(row["result"])

    async def put_json(self, table: str, key: str, binary: str, result: Any) -> None:
        values = {"key": key, "binary": binary, "result": json.dumps(result)}
        await anyio.to_thread.run_sync(self.put, table, values, limiter=self._limiter)

    # ---- maintenance: pie cache stats|clear|export ---------------------------------------

    def stats(self) -> dict[str, int]:
        with self._lock:
            counts = {
                table: int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in _TABLES
            }
        counts["bytes"] = sum(
            p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file()
        )
        return counts

    def export(self) -> Iterator[dict[str, Any]]:
        for table in _TABLES:
            with self._lock:
                cursor = self._db.execute(f"SELECT * FROM {table} ORDER BY key")
                names = [column[0] for column in cursor.description]
                rows = cursor.fetchall()
            for row in rows:
                yield {"table": table, **dict(zip(names, row, strict=True))}

    def clear_rows(self) -> None:
        with self._lock, self._db:
            for table in _TABLES:
                self._db.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def clear(path: Path) -> None:
    """Forget every result (they will simply be computed again).

    A readable cache is emptied in place, which is safe beside running evaluators; an
    unreadable one is deleted with its WAL files.  Binaries (kept beside it, by content hash)
    go too.
    """
    try:
        store = ResultCache(path)
    except CacheError:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        store.clear_rows()
        store.close()
    shutil.rmtree(path.parent / "binaries", ignore_errors=True)


def _rows(store: ResultCache) -> Iterator[dict[str, Any]]:
    try:
        yield from store.export()
    finally:
        store.close()


def _cache_dir(value: Path | str | None) -> Path:
    return Path(value) if value is not None else default_cache_dir()


@public
@attrs.frozen
class Cache:
    """The result cache of a cache directory, to inspect, export or clear (``pie cache``).

    ``cache_dir`` defaults as the evaluators' does (``$PIE_CACHE_DIR``, else ``~/.cache/pie``).
    Reading a cache that is not there is an error, never a new empty cache.
    """

    cache_dir: Path = attrs.field(default=None, converter=_cache_dir)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self.cache_dir / FILE_NAME

    def stats(self) -> dict[str, int]:
        """Rows per table (``compiles``, ``runs``, ``timings``) and ``bytes`` on disk."""
        store = self._existing()
        try:
            return store.stats()
        finally:
            store.close()

    def export(self) -> Iterator[dict[str, Any]]:
        """Every cached row, with the ``table`` it came from.  A missing cache is refused
        here, before the first row is asked for."""
        return _rows(self._existing())

    def clear(self) -> bool:
        """Forget every result (see ``clear``): they are computed again when asked for.  False,
        and nothing created, when there is no cache there (a mistyped folder is not
        "cleared")."""
        if not self.path.is_file():
            return False
        clear(self.path)
        return True

    def _existing(self) -> ResultCache:
        if not self.path.is_file():  # reading must not create a cache where there was none
            raise InputError(
                f"no result cache in {self.cache_dir} (no {FILE_NAME}); pass the cache directory "
                "that the evaluations used (pie --cache-dir DIR, cache_dir=...)"
            )
        return ResultCache(self.path)
