"""Compiling submissions: g++ in its own sandbox, a shared precompiled header, a compile cache."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import attrs

from pie._cache import ResultCache
from pie._hashing import key_of, sha256_file
from pie._locks import async_file_lock, file_lock
from pie._model import MIB, CompileResult
from pie._sandbox import CompileSpec, Sandbox
from pie._toolchain import (
    binutils_folder,
    binutils_identity,
    compiler_identity,
    resolve_compiler,
    root_binutils,
)

log = logging.getLogger("pie.compile")

MESSAGE_CAP = 4096


def _root_path(value: str | os.PathLike[str] | None) -> Path | None:
    # absolute: the compiler runs in the sandbox's scratch folder, where --sysroot=rel breaks
    return None if value is None else Path(value).expanduser().absolute()


@attrs.frozen
class CompileOptions:
    """How programs are compiled; part of every binary's cache key.

    ``toolchain_root`` is the root folder of another system (a gem5 host's, whose glibc the
    binaries must load under gem5): ``compiler`` is then that system's (looked up in its
    ``/usr/bin`` and ``/bin``), it compiles with ``--sysroot=ROOT`` (the root's headers,
    libraries and start files) and the compile sandbox may read and execute the root's
    toolchain folders. The root's assembler and linker run too, with the root's libraries
    through the root's loader, so that a binary is the one the root would build itself."""

    compiler: str = "g++"
    flags: tuple[str, ...] = ("-std=c++17", "-O3")
    time_limit: float = 30.0
    memory_mib: int = 2048
    max_source_bytes: int = 4 * MIB
    max_binary_bytes: int = 16 * MIB
    use_pch: bool = True
    toolchain_root: Path | None = attrs.field(default=None, converter=_root_path)

    def __attrs_post_init__(self) -> None:
        if self.toolchain_root is not None:  # a clear error, up front
            resolve_compiler(self.compiler, self.toolchain_root)
            root_binutils(self.toolchain_root)

    @property
    def command_flags(self) -> tuple[str, ...]:
        """The flags the compiler is run with: ``flags``, and the sysroot of a toolchain root."""
        if self.toolchain_root is None:
            return self.flags
        return (*self.flags, f"--sysroot={self.toolchain_root}")

    @property
    def host_compiler(self) -> str:
        """The compiler of pie's own helpers (the sandbox launcher): this host's."""
        return self.compiler if self.toolchain_root is None else "g++"

    def resolved_compiler(self) -> Path:
        return resolve_compiler(self.compiler, self.toolchain_root)

    def _identity(self) -> str:
        if self.toolchain_root is None:
            return compiler_identity(self.compiler)
        return key_of(
            compiler_identity(self.compiler, self.toolchain_root),
            binutils_identity(self.toolchain_root),
        )

    def key(self) -> str:
        """Flags and compiler decide the binary; the limits decide whether it gets built.
        ``time_limit=30`` and ``30.0`` are one key, as in ``Limits.key``."""
        limits = (
            f"t={float(self.time_limit)};m={self.memory_mib};s={self.max_source_bytes};"
            f"b={self.max_binary_bytes}"
        )
        return key_of(self._identity(), limits, *self.command_flags)

    def pch_key(self) -> str:
        return key_of("pch-layout-2", self._identity(), *self.command_flags)


class Compiler:
    """Compiles sources to binaries once: identical (source, compiler, flags) hit the cache."""

    def __init__(
        self,
        cache_dir: Path,
        sandbox: Callable[[], Awaitable[Sandbox]],
        options: CompileOptions,
        store: ResultCache,
    ) -> None:
        self.options = options
        # the sandbox is asked for only when something must be compiled: a cached binary
        # needs none
        self._make_sandbox = sandbox
        self._made_sandbox: Sandbox | None = None
        self._store_db = store
        self._dir = cache_dir / "compile"
        self._binaries = cache_dir / "binaries"
        self._pch: Path | None = None
        self._pch_ready = False
        self._binutils: Path | None = None
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

    async def _need_sandbox(self) -> None:
        if self._made_sandbox is None:
            self._made_sandbox = await self._make_sandbox()

    @property
    def _sandbox(self) -> Sandbox:
        """The sandbox, once ``_need_sandbox`` made it."""
        assert self._made_sandbox is not None, "await self._need_sandbox() first"
        return self._made_sandbox

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
        binutils = await self.binutils_dir()
        started = time.perf_counter()
        spec = CompileSpec(
            compiler=self.options.resolved_compiler(),
            flags=self.options.command_flags,
            toolchain_root=self.options.toolchain_root,
            binutils=binutils,
            include=(pch,) if pch else (),
            time_limit=self.options.time_limit,
            memory_bytes=self.options.memory_mib * MIB,
            message_cap=MESSAGE_CAP,
            max_binary_bytes=self.options.max_binary_bytes,
        )
        scratch = self._binaries / f".build-{key[:16]}-{os.getpid()}"
        await anyio.Path(self._binaries).mkdir(parents=True, exist_ok=True)
        try:
            await self._need_sandbox()
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

    async def binutils_dir(self) -> Path | None:
        """The toolchain root's ``as`` and ``ld`` wrappers, where the sandbox can run them."""
        root = self.options.toolchain_root
        if root is None:
            return None
        if self._binutils is None:
            made = await anyio.to_thread.run_sync(binutils_folder, root, self._dir / "toolchain")
            await self._need_sandbox()
            self._binutils = self._sandbox.share(made, made.name, executable=True)
        return self._binutils

    # ---- precompiled header --------------------------------------------------------------

    async def pch_dir(self) -> Path | None:
        """Directory holding ``bits/stdc++.h.gch`` for these flags, built on first use."""
        if not self.options.use_pch:
            return None
        if not self._pch_ready:
            built = await anyio.to_thread.run_sync(self._ensure_pch)
            if built is not None:
                await self._need_sandbox()
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
        compiler = str(self.options.resolved_compiler())
        flags = self.options.command_flags
        # The header sits beside its .gch: a second #include of it (common in real submissions)
        # cannot use the PCH and must still find the text in the same directory.
        header = gch.with_suffix("")
        header.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_system_header(compiler, flags), header)
        tmp = gch.with_name(f".stdc++.h.gch.{os.getpid()}.tmp")
        command = [compiler, *flags, "-x", "c++-header", str(header), "-o", str(tmp)]
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
