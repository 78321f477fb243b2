"""Compiling submissions: g++ in its own sandbox, a shared precompiled header, a compile cache."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import anyio
import attrs

from pie._cache import ResultCache
from pie._hashing import key_of, sha256_file
from pie._locks import async_file_lock, file_lock
from pie._model import MIB, CompileResult
from pie._sandbox import CompileSpec, Sandbox
from pie._toolchain import compiler_identity, resolve_compiler

log = logging.getLogger("pie.compile")

MESSAGE_CAP = 4096


@attrs.frozen
class CompileOptions:
    """How programs are compiled; part of every binary's cache key."""

    compiler: str = "g++"
    flags: tuple[str, ...] = ("-std=c++17", "-O3")
    time_limit: float = 30.0
    memory_mib: int = 2048
    max_source_bytes: int = 4 * MIB
    max_binary_bytes: int = 16 * MIB
    use_pch: bool = True

    def key(self) -> str:
        """Flags and compiler decide the binary; the limits decide whether it gets built."""
        limits = (
            f"t={self.time_limit};m={self.memory_mib};s={self.max_source_bytes};"
            f"b={self.max_binary_bytes}"
        )
        return key_of(compiler_identity(self.compiler), limits, *self.flags)

    def pch_key(self) -> str:
        return key_of("pch-layout-2", compiler_identity(self.compiler), *self.flags)


class Compiler:
    """Compiles sources to binaries once: identical (source, compiler, flags) hit the cache."""

    def __init__(
        self, cache_dir: Path, sandbox: Sandbox, options: CompileOptions, store: ResultCache
    ) -> None:
        self.options = options
        self._sandbox = sandbox
        self._store_db = store
        self._dir = cache_dir / "compile"
        self._binaries = cache_dir / "binaries"
        self._pch: Path | None = None
        self._pch_ready = False
        self._in_flight: dict[str, anyio.Event] = {}

    async def compile(self, source: bytes) -> CompileResult:
        key = key_of(source, self.options.key())
        while True:
            while key in self._in_flight:
                await self._in_flight[key].wait()
            cached = await self._load(key)
            if cached is not None:
                return cached
            # another task may have started this very compile while we looked in the store
            if key not in self._in_flight:
                break
        done = self._in_flight[key] = anyio.Event()
        try:
            async with async_file_lock(self._dir / "locks" / key[:16]):
                cached = await self._load(key)
                if cached is not None:
                    return cached
                return await self._compile_and_store(key, source)
        finally:
            del self._in_flight[key]
            done.set()

    def _binary_path(self, digest: str) -> Path:
        return self._binaries / digest[:2] / digest

    async def _load(self, key: str) -> CompileResult | None:
        row = await anyio.to_thread.run_sync(self._store_db.get, "compiles", key)
        if row is None:
            return None
        binary = self._binary_path(row["binary"]) if row["ok"] else None
        if binary is not None and not binary.exists():
            return None  # the binary was removed by hand: build it again
        return CompileResult(
            ok=bool(row["ok"]),
            seconds=row["seconds"],
            cached=True,
            message=row["message"],
            binary=binary,
            binary_sha256=row["binary"],
        )

    async def _compile_and_store(self, key: str, source: bytes) -> CompileResult:
        if len(source) > self.options.max_source_bytes:
            message = (
                f"source is {len(source)} bytes, over the {self.options.max_source_bytes}-byte "
                "limit (CompileOptions.max_source_bytes)"
            )
            return await anyio.to_thread.run_sync(
                functools.partial(
                    self._store, key, ok=False, seconds=0.0, message=message, built=None
                )
            )
        pch = await self.pch_dir()
        started = time.perf_counter()
        spec = CompileSpec(
            compiler=resolve_compiler(self.options.compiler),
            flags=self.options.flags,
            include=(pch,) if pch else (),
            time_limit=self.options.time_limit,
            memory_bytes=self.options.memory_mib * MIB,
            message_cap=MESSAGE_CAP,
            max_binary_bytes=self.options.max_binary_bytes,
        )
        scratch = self._binaries / f".build-{key[:16]}-{os.getpid()}"
        await anyio.Path(self._binaries).mkdir(parents=True, exist_ok=True)
        try:
            outcome, refused = await self._sandbox.compile(source, spec, scratch)
            seconds = time.perf_counter() - started
            message = outcome.stderr.decode("utf-8", errors="replace")[:MESSAGE_CAP]
            limit_hit = ""
            if outcome.wall_exceeded or outcome.cpu_seconds > self.options.time_limit:
                limit_hit = f"compilation exceeded the {self.options.time_limit:g} s limit\n"
            elif outcome.memory_limit_hit:
                limit_hit = f"compilation exceeded {self.options.memory_mib} MiB\n"
            message = limit_hit + (f"{refused}\n" if refused else "") + message
            built = await anyio.Path(scratch).exists()
            ok = not limit_hit and outcome.exit_code == 0 and built
            store = functools.partial(
                self._store, key, ok=ok, seconds=seconds, message=message,
                built=scratch if ok else None,
            )  # fmt: skip
            return await anyio.to_thread.run_sync(store)
        finally:
            await anyio.Path(scratch).unlink(missing_ok=True)

    def _store(
        self, key: str, *, ok: bool, seconds: float, message: str, built: Path | None
    ) -> CompileResult:
        """Binary first (by content hash, atomically), then the row that points at it."""
        digest = None
        target = None
        if built is not None:
            digest = sha256_file(built)
            target = self._binary_path(digest)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{digest}.{os.getpid()}.tmp")
                shutil.copyfile(built, tmp)
                os.chmod(tmp, 0o755)
                os.replace(tmp, target)
        row = {"key": key, "ok": int(ok), "seconds": seconds, "message": message, "binary": digest}
        self._store_db.put("compiles", row)
        return CompileResult(ok, seconds, False, message, target, digest)

    # ---- precompiled header --------------------------------------------------------------

    async def pch_dir(self) -> Path | None:
        """Directory holding ``bits/stdc++.h.gch`` for these flags, built on first use."""
        if not self.options.use_pch:
            return None
        if not self._pch_ready:
            built = await anyio.to_thread.run_sync(self._ensure_pch)
            if built is not None:
                self._pch = self._sandbox.share(built, f"pch-{built.name}")
            self._pch_ready = True
        return self._pch

    def _ensure_pch(self) -> Path | None:
        root = self._dir.parent / "pch" / self.options.pch_key()[:20]
        gch = root / "bits" / "stdc++.h.gch"
        if gch.exists():
            return root
        with file_lock(root.with_suffix(".lock")):
            if gch.exists():
                return root
            try:
                self._build_pch(gch)
            except (OSError, subprocess.SubprocessError, ValueError) as error:
                log.warning("precompiled header unavailable, compiling without it: %s", error)
                return None
        return root

    def _build_pch(self, gch: Path) -> None:
        compiler = str(resolve_compiler(self.options.compiler))
        # The header sits beside its .gch: a second #include of it (common in real submissions)
        # cannot use the PCH and must still find the text in the same directory.
        header = gch.with_suffix("")
        header.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_system_header(compiler, self.options.flags), header)
        tmp = gch.with_name(f".stdc++.h.gch.{os.getpid()}.tmp")
        command = [compiler, *self.options.flags, "-x", "c++-header", str(header), "-o", str(tmp)]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            raise ValueError(done.stderr[-1000:])
        os.replace(tmp, gch)


def _system_header(compiler: str, flags: tuple[str, ...]) -> Path:
    """Where this compiler finds ``bits/stdc++.h`` (its dependency list names it first)."""
    done = subprocess.run(
        [compiler, *flags, "-M", "-x", "c++", "-"],
        input="#include <bits/stdc++.h>\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    for token in done.stdout.replace("\\\n", " ").split():
        if token.endswith("bits/stdc++.h"):
            return Path(token)
    raise ValueError(f"{compiler} has no bits/stdc++.h: {done.stderr[-500:]}")
