"""One gem5 host over SSH: a reused connection, uploads by content hash, one gem5 run per call.

Remote layout under the host's ``workdir``::

    bin/<sha256>        each binary once, uploaded under a temporary name and renamed
    inputs/<digest>     each test input once
    jobs/<16 hex>/      one folder per run, removed when the run ends or is cancelled, or at
                        the next connection once the shell that ran it (``owner``) is gone
        prog            hard link to the binary (its sha256 checked before gem5 starts)
        report.fifo     the exit report's pipe (run-se.py's --report-fd 3)
        m5out/stats.txt gem5's --outdir and --stats-file (relative to the outdir, as gem5 has it)
        m5out/guest.out the guest's stdout (run-se.py's --guest-output, relative to the outdir
                        too), apart from gem5's own messages; what comes back of it is bounded
                        by the test's output limit

The guest's argv[0] matters to gem5's timing (gem5 puts it twice on the guest's stack;
gem5/gem5#2265), so every job, on every host, gives the guest one fixed path of the shape and
length of PIE's (``/tmp/tmpXXXXXXXX/code.out``, Python's tempfile), apart from the file gem5
loads (the patched run-se.py's ``--argv0``).  gem5 runs under ``env -i`` (only the PYTHONPATH
its config needs, and PYTHONNOUSERSITE: a guest writes files as gem5, and must not plant a
Python user-site hook that runs in later gem5 runs) and ``timeout -s KILL``, a host-time safety net
that kills gem5's whole process group; the simulated-time budget is run-se.py's
``--max-ticks``.  A watchdog reading the session's stdin kills that group too when the SSH
channel closes, so cancelling a job, or losing the client, stops the remote gem5.

Where the host's jail works (its ``--probe``, at connection), gem5 runs inside it (Landlock):
reading the system libraries, gem5, its config tree and PYTHONPATH, writing only the job's
folder, so that a guest, whose file calls gem5 makes with its own rights, cannot open
/proc/self/mem (gem5's memory) or other jobs' folders; elsewhere gem5 runs unconfined and
``pie farm check`` names the host weaker.

The guest can write any file gem5 can, its stats file included (unlink it, write another),
and can reach gem5's stdout (which it can seek) through /proc.  Its own stdout is a file of its
own, which it may rewrite at will: that is its output, judged as the test's; a guest output
that is not a regular file at the end (a symlink, a pipe, removed) is no output at all.  What
run-se.py writes after the guest has exited, "Exiting @ tick N because CAUSE", goes to
descriptor 3, a pipe the guest does not hold (unjailed, it can only add lines before that one,
through /proc): its last line is the exit report the stats file is checked against.
"""

from __future__ import annotations

import secrets
import shlex
import time
from pathlib import Path, PurePosixPath
from typing import Any

import anyio
import asyncssh
import attrs

from pie._errors import PieError
from pie._farm._config import FarmConfig, HostConfig
from pie._hashing import sha256_file
from pie._public import public

CPU_TYPE = "Verbatim"  # PIE's choice among run-se.py's Verbatim / Tuned / UnConstrained
PROGRAM = "prog"
# the guest's argv[0]: PIE's /tmp/tmpXXXXXXXX/code.out (25 characters), one fixed name
GUEST_DIR = "/tmp/tmppie_gem5"
GUEST_PROGRAM = f"{GUEST_DIR}/code.out"
REPORT_FD = 3
REPORT_FIFO = "report.fifo"
_REPORT_TAIL = 4096
STATS = "stats.txt"
GUEST_OUTPUT = "guest.out"
OUTDIR = "m5out"
# the options of pie's patched run-se.py (docker/gem5-host/skylake-config.patch) every job uses
RUN_SE_OPTIONS = ("--max-ticks", "--argv0", "--report-fd", "--guest-output")
_KEEPALIVE_MISSES = 3
_PREPARE_S = 300.0  # hashing gem5.opt (hundreds of MB) on a slow disk, at connection
_ANSWER_GRACE_S = 30.0  # past gem5's own timeout, how long a silent host is waited for
_KILL_WAIT_S = 5.0
_LOG_TAIL = 3000
# gem5 follows a panic with a libc backtrace (about 2.3 KB from gem5 v20.1 here, more from a
# deeper build) that would push the panic itself out of stderr's tail: the tail is taken without it
_NO_BACKTRACE = "/^--- BEGIN LIBC BACKTRACE ---$/,/^--- END LIBC BACKTRACE ---$/d"
_MAX_STATS_BYTES = 16 << 20
# gem5's output and log files on the host; 262144 blocks is 128 or 256 MiB depending on the shell
_FILE_BLOCKS = 262144

# exit codes of the remote scripts below
_NO_WORKDIR, _NO_GEM5, _NO_CONFIG, _NO_TIMEOUT, _NO_LIBS = 80, 81, 82, 83, 84
_NOT_PIES_CONFIG = 85
_NO_JOBDIR, _NO_BINARY, _NO_INPUT = 90, 91, 92


class HostError(PieError):
    """The host, not the program, failed this attempt (connection, disk, SFTP): retry elsewhere."""


class HostUnusable(HostError):
    """Trying again will not help: wrong host key, refused key, gem5 missing on the host."""


class LocalFileError(PieError):
    """A file to upload cannot be read here."""


@public
@attrs.frozen
class HostIdentity:
    """What a host simulates with: sha256 of gem5, of its config's Python files, and of the
    host libraries a dynamically linked guest loads with the loader's cache that finds them.
    Equal identities give equal ticks."""

    gem5: str
    config: str
    libs: str

    def key(self) -> str:
        return (
            f"gem5={self.gem5};config={self.config};libs={self.libs};cpu={CPU_TYPE};"
            f"argv0={GUEST_PROGRAM}"
        )


@attrs.frozen
class Upload:
    """A local file the host needs, named on the host by its content hash."""

    path: Path
    digest: str
    folder: str  # "bin" or "inputs"

    @property
    def mode(self) -> int:
        return 0o755 if self.folder == "bin" else 0o644


@attrs.frozen
class RemoteRun:
    """What came back from one gem5 run: gem5's exit status (a shell status: 128+N for a
    signal), the stats file if gem5 wrote one, the last line of the exit report pipe (with
    its newline, if it had one), the tails of its stdout and stderr, the host seconds it
    took as seen from here, and the guest's output: its size on the host (None when gem5
    left no regular file there) and its bytes when that size is within the run's output
    limit (else nothing of it was sent)."""

    status: int
    stats: bytes | None
    log: str
    seconds: float
    report: bytes
    output_bytes: int | None
    output: bytes


class HostLink:
    """The connection to one host; reconnect with ``connect`` after it is lost."""

    def __init__(self, host: HostConfig, farm: FarmConfig) -> None:
        self.host = host
        self.farm = farm
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._present: set[str] = set()
        self._locks: dict[str, anyio.Lock] = {}
        self._input_sha256: dict[str, str] = {}
        self.glibc: tuple[int, ...] | None = None  # the host's, as its guests load it
        # its jail's probe: "landlock-N" (the ABI), "absent", "none-ERRNO" (no Landlock), "broken"
        self.confinement = "unknown"

    @property
    def name(self) -> str:
        return self.host.name

    # ---- connection --------------------------------------------------------------------

    async def connect(self) -> HostIdentity:
        """Open the connection and SFTP session, prepare the workdir, return the identity."""
        await self.close()
        try:
            with anyio.fail_after(self.farm.connect_timeout + _PREPARE_S):
                return await self._open()
        except asyncssh.HostKeyNotVerifiable as error:
            await self.close()
            raise HostUnusable(
                f"{self.name}: host key not accepted ({error.reason}); pie refuses hosts whose "
                f"key is not in {self.host.known_hosts}. If the host was reinstalled, check its "
                "new key with its administrator and replace the entry"
            ) from None
        except asyncssh.PermissionDenied as error:
            await self.close()
            raise HostUnusable(
                f"{self.name}: the key {self.host.key} was refused ({error.reason}); add its "
                f"public half to ~{self.host.user}/.ssh/authorized_keys on the host (in the "
                "docker/gem5-host image: the file mounted at /etc/pie/authorized_keys)"
            ) from None
        except (OSError, asyncssh.Error, TimeoutError) as error:
            await self.close()
            raise HostError(f"{self.name}: cannot connect ({_describe(error)})") from None
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> HostIdentity:
        self._conn = await asyncssh.connect(
            self.host.address,
            self.host.port,
            username=self.host.user,
            client_keys=[str(self.host.key)],
            known_hosts=str(self.host.known_hosts),
            agent_path=None,
            config=None,
            preferred_auth="publickey",
            connect_timeout=self.farm.connect_timeout,
            login_timeout=self.farm.connect_timeout,
            keepalive_interval=self.farm.keepalive_interval,
            keepalive_count_max=_KEEPALIVE_MISSES,
        )
        identity = await self._prepare()
        self._sftp = await self._conn.start_sftp_client()
        self._present = await self._uploaded()
        return identity

    async def wait_closed(self) -> None:
        """Returns when the connection is lost (or closed)."""
        if self._conn is not None:
            await self._conn.wait_closed()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            sftp.exit()
        if conn is not None:
            conn.close()
            with anyio.CancelScope(shield=True), anyio.move_on_after(_KILL_WAIT_S):
                await conn.wait_closed()

    def _connection(self) -> asyncssh.SSHClientConnection:
        if self._conn is None:
            raise HostError(f"{self.name}: not connected")
        return self._conn

    async def _prepare(self) -> HostIdentity:
        result = await self._connection().run(_sh(self._prepare_script()), check=False)
        status = result.exit_status
        problems = {
            _NO_WORKDIR: f"cannot create the workdir {self.host.workdir}",
            _NO_GEM5: f"gem5 {self.host.gem5} is missing or not executable",
            _NO_CONFIG: f"the gem5 config {self.host.config} is missing",
            _NO_TIMEOUT: "the 'timeout' command (coreutils) is missing",
            _NO_LIBS: "ldconfig lists no x86-64 libc/libstdc++ (the libraries a guest loads)",
            _NOT_PIES_CONFIG: (
                f"the gem5 config {self.host.config} is not pie's patched run-se.py (it lacks "
                f"one of the options {', '.join(RUN_SE_OPTIONS)}, e.g. --guest-output, which "
                "keeps the guest's output apart from gem5's so that it can be judged); rebuild "
                "the docker/gem5-host image, or apply docker/gem5-host/skylake-config.patch to "
                "the host's gem5-skylake-config"
            ),
        }
        if status in problems:
            raise HostUnusable(f"{self.name}: {problems[status]} on the host")
        fields = _text(result.stdout).split()
        if status != 0 or len(fields) != 6 or fields[0] != "pie-farm-host":
            raise HostError(
                f"{self.name}: preparing the host failed (exit {status}): "
                f"{_text(result.stderr).strip()[-300:]}"
            )
        self.glibc = glibc_version(fields[4])
        self.confinement = fields[5]
        return HostIdentity(gem5=fields[1], config=fields[2], libs=fields[3])

    def _prepare_script(self) -> str:
        q = shlex.quote
        work, gem5, config = q(self.host.workdir), q(self.host.gem5), q(self.host.config)
        jail = q(self.host.jail)
        config_dir = q(str(Path(self.host.config).parent))
        # the libraries a dynamically linked x86-64 guest loads from the host in SE mode
        libs = r"/x86-64/ && /(libc|libm|libstdc\+\+|libgcc_s)\.so|ld-linux-x86-64/ {print $NF}"
        return f"""
mkdir -p {work}/bin {work}/inputs {work}/jobs || exit {_NO_WORKDIR}
find {work}/bin {work}/inputs -name '.*.part' -mmin +60 -delete 2>/dev/null
for d in {work}/jobs/*/; do
  [ -d "$d" ] || continue
  p=$(cat "$d/owner" 2>/dev/null)
  if [ -n "$p" ]; then kill -0 "$p" 2>/dev/null && continue
  elif [ -z "$(find "$d" -maxdepth 0 -mmin +10)" ]; then continue
  fi
  rm -rf "$d"
done
[ -f {gem5} ] && [ -x {gem5} ] || exit {_NO_GEM5}
[ -f {config} ] || exit {_NO_CONFIG}
for o in {" ".join(RUN_SE_OPTIONS)}; do
  grep -q -e "add_argument('$o'" {config} || exit {_NOT_PIES_CONFIG}
done
command -v timeout >/dev/null 2>&1 || exit {_NO_TIMEOUT}
g=$(sha256sum {gem5} | cut -c1-64)
c=$(cd {config_dir} && find . -maxdepth 3 -name '*.py' -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 -r sha256sum | sha256sum | cut -c1-64)
# ldconfig lives in /sbin, off a non-root PATH; an empty list would hash to the same identity
# on every host, so it is an error
libs=$(PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | awk {q(libs)} | xargs -r readlink -f \
    | LC_ALL=C sort -u)
[ -n "$libs" ] || exit {_NO_LIBS}
# the guest's loader reads /etc/ld.so.cache too: its size alone moves the ticks (26,884 of
# PIE's hello world when a compiler's install rewrote it on the real gem5 v20.1)
l=$({{ printf '%s\n' "$libs" | xargs -r sha256sum; sha256sum /etc/ld.so.cache 2>/dev/null; }} \
    | sha256sum | cut -c1-64)
v=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc \\([0-9][0-9.]*\\)$/\\1/p')
j=absent
if [ -f {jail} ] && [ -x {jail} ]; then
  j=$({jail} --probe 2>/dev/null | head -n 1 | cut -d: -f1 | tr -c 'A-Za-z0-9\\n' -)
  [ -n "$j" ] || j=broken
fi
printf 'pie-farm-host %s %s %s %s %s\\n' "$g" "$c" "$l" "${{v:--}}" "$j"
"""

    async def _uploaded(self) -> set[str]:
        sftp = self._sftp
        assert sftp is not None
        present = set()
        for folder in ("bin", "inputs"):
            for name in await sftp.listdir(f"{self.host.workdir}/{folder}"):
                text = name.decode() if isinstance(name, bytes) else str(name)
                if not text.startswith("."):
                    present.add(f"{folder}/{text}")
        return present

    # ---- uploads -----------------------------------------------------------------------

    async def ensure(self, upload: Upload) -> None:
        """Put ``upload`` on the host unless it is there already (once, however many ask)."""
        name = f"{upload.folder}/{upload.digest}"
        if name in self._present:
            return
        lock = self._locks.setdefault(name, anyio.Lock())
        async with lock:
            if name in self._present:
                return
            try:
                data = await anyio.Path(upload.path).read_bytes()
            except OSError as error:
                raise LocalFileError(f"cannot read {upload.path}: {error.strerror}") from None
            await self._put(name, data, upload.mode)
            self._present.add(name)

    async def _put(self, name: str, data: bytes, mode: int) -> None:
        sftp = self._sftp
        if sftp is None:
            raise HostError(f"{self.name}: not connected")
        final = f"{self.host.workdir}/{name}"
        folder, _, base = final.rpartition("/")
        partial = f"{folder}/.{base}.{secrets.token_hex(4)}.part"
        try:
            async with sftp.open(partial, "wb") as handle:
                await handle.write(data)
            await sftp.chmod(partial, mode)
            await sftp.posix_rename(partial, final)
        except (OSError, asyncssh.Error) as error:
            raise HostError(f"{self.name}: upload of {name} failed ({_describe(error)})") from None

    # ---- one gem5 run ------------------------------------------------------------------

    async def run(
        self, binary: Upload, given: Upload, output_limit: int, argv0: str = GUEST_PROGRAM
    ) -> RemoteRun:
        """Run gem5 on ``binary`` with ``given`` on stdin, the guest seeing ``argv0`` as its
        path, its output sent back when at most ``output_limit`` bytes; raises HostError on
        host trouble.

        Cancelling the caller stops the remote gem5 (and waits a little to see it stopped)."""
        await self.ensure(binary)
        await self.ensure(given)
        timeout = self.farm.timeout
        job = _JobFiles(binary.digest, given.digest, await self._sha256(given), output_limit)
        script = self._job_script(secrets.token_hex(8), job, argv0)
        started = time.monotonic()
        try:
            process = await self._connection().create_process(_sh(script), encoding=None)
        except (OSError, asyncssh.Error) as error:
            raise HostError(f"{self.name}: cannot start a job ({_describe(error)})") from None
        try:
            with anyio.fail_after(timeout + _ANSWER_GRACE_S):
                done = await process.wait(check=False)
        except TimeoutError:
            await _stop(process)
            raise HostError(
                f"{self.name}: no answer {timeout + _ANSWER_GRACE_S:g} s into a job"
            ) from None
        except (OSError, asyncssh.Error) as error:
            raise HostError(
                f"{self.name}: connection lost during a job ({_describe(error)})"
            ) from None
        except BaseException:
            await _stop(process)
            raise
        return self._answer(done, time.monotonic() - started, output_limit)

    def _answer(
        self, done: asyncssh.SSHCompletedProcess, seconds: float, output_limit: int
    ) -> RemoteRun:
        out = done.stdout if isinstance(done.stdout, bytes) else b""
        log = _text(done.stderr)
        header, _, rest = out.partition(b"\n")
        fields = header.decode("ascii", errors="replace").split()
        if done.exit_status == _NO_JOBDIR:
            raise HostError(f"{self.name}: cannot create a job folder in {self.host.workdir}/jobs")
        if done.exit_status in (_NO_BINARY, _NO_INPUT):
            # someone emptied the host's store: forget what we thought was there, retry
            self._present.clear()
            raise HostError(f"{self.name}: an uploaded file vanished from {self.host.workdir}")
        if done.exit_status != 0 or len(fields) != 5 or fields[0] != "pie-farm-job":
            raise HostError(
                f"{self.name}: the job ended without an answer (exit {done.exit_status}, "
                f"signal {done.exit_signal}): {log.strip()[-300:]}"
            )
        garbled = HostError(f"{self.name}: the job's answer is garbled: {header[:80]!r}")
        try:
            stats_bytes, output_bytes = _size(fields[2]), _size(fields[3])
        except ValueError:
            raise garbled from None
        report = _unhex(fields[4].removeprefix("x"))
        sent = output_bytes if output_bytes is not None and output_bytes <= output_limit else 0
        # the sizes say where the stats end and the output begins; a body of another length
        # (a file that changed as it was sent) cannot be split
        if not fields[1].isdigit() or report is None or len(rest) != (stats_bytes or 0) + sent:
            raise garbled
        stats = rest[:stats_bytes] if stats_bytes is not None else None
        return RemoteRun(
            status=int(fields[1]),
            stats=stats,
            log=log,
            seconds=seconds,
            report=report,
            output_bytes=output_bytes,
            output=rest[len(rest) - sent :],
        )

    async def _sha256(self, upload: Upload) -> str:
        """The plain sha256 of an upload's bytes, which the job checks (inputs are named by
        another hash); computed once per file per connection."""
        if upload.folder == "bin":
            return upload.digest
        known = self._input_sha256.get(upload.digest)
        if known is None:
            try:
                known = await anyio.to_thread.run_sync(sha256_file, upload.path)
            except OSError as error:
                raise LocalFileError(f"cannot read {upload.path}: {error.strerror}") from None
            self._input_sha256[upload.digest] = known
        return known

    @property
    def confined(self) -> bool:
        """Whether this host's jail (Landlock) confines gem5, as its probe said at connection."""
        return self.confinement.startswith("landlock-")

    def _jail_command(self) -> str:
        """The jail and what gem5 may reach, when the host confines gem5: reading its binary,
        its config tree and PYTHONPATH, writing the job's folder (the current directory)."""
        if not self.confined:
            return ""
        q = shlex.quote
        reads = [self.host.gem5, str(PurePosixPath(self.host.config).parent)]
        reads += [path for path in self.host.gem5_pythonpath.split(":") if path]
        return " ".join(
            (q(self.host.jail), *(f"--read {q(path)}" for path in reads), "--write . --")
        )

    def _gem5_command(self, argv0: str) -> str:
        q = shlex.quote
        return " ".join(
            (
                f"timeout -s KILL {self.farm.timeout:g}",
                f"env -i PYTHONPATH={q(self.host.gem5_pythonpath)} PYTHONNOUSERSITE=1",
                *filter(None, [self._jail_command()]),
                q(self.host.gem5),
                f"--outdir={OUTDIR}",
                f"--stats-file={STATS}",
                q(self.host.config),
                f"--max-ticks={self.farm.max_ticks}",
                f"--argv0={q(argv0)}",
                f"--report-fd={REPORT_FD}",
                f"--guest-output={GUEST_OUTPUT}",
                CPU_TYPE,
                PROGRAM,
            )
        )

    def _job_script(self, token: str, files: _JobFiles, argv0: str) -> str:
        q = shlex.quote
        work = q(self.host.workdir)
        job = q(f"{self.host.workdir}/jobs/{token}")
        binary, given, given_sha256 = files.binary, files.given, files.given_sha256
        stats, output = f"{OUTDIR}/{STATS}", f"{OUTDIR}/{GUEST_OUTPUT}"
        # The copies in the store are checked against their hashes: every job on a host shares
        # one uid, so an earlier guest may have replaced them.  The shell opens the report
        # pipe's read end (5, read-write, so that no open blocks, then 6) before gem5 opens its
        # write end, and drops 5 once gem5 is started: the reader sees the end of the pipe when
        # gem5 exits, or at once if gem5's shell died before opening it.  The answer is a header
        # (exit status, the sizes of the stats and of the guest's output, "-" for no regular
        # file, and the exit report in hex) and then the two files, the output only when
        # within the limit: a flood costs the client nothing.
        return f"""
trap '' PIPE
exec 4<&0
mkdir -m 700 {job} && cd {job} || exit {_NO_JOBDIR}
echo $$ > owner
ln {work}/bin/{binary} {PROGRAM} 2>/dev/null || cp {work}/bin/{binary} {PROGRAM} \
    || {{ cd / && rm -rf {job}; exit {_NO_BINARY}; }}
printf '%s  %s\\n' {binary} {PROGRAM} | sha256sum -c --status 2>/dev/null \
    || {{ rm -f {work}/bin/{binary}; cd / && rm -rf {job}; exit {_NO_BINARY}; }}
printf '%s  %s\\n' {given_sha256} {work}/inputs/{given} | sha256sum -c --status 2>/dev/null \
    || {{ rm -f {work}/inputs/{given}; cd / && rm -rf {job}; exit {_NO_INPUT}; }}
mkfifo {REPORT_FIFO} && exec 5<>{REPORT_FIFO} 6<{REPORT_FIFO} \
    || {{ cd / && rm -rf {job}; exit {_NO_JOBDIR}; }}
ulimit -f {_FILE_BLOCKS} 2>/dev/null
{self._gem5_command(argv0)} {REPORT_FD}>{REPORT_FIFO} <{work}/inputs/{given} >out 2>err \
    4<&- 5<&- 6<&- &
g=$!
exec 5<&-
( read -r _ <&4; kill -s KILL -- -$g; kill -s KILL $g; kill -s KILL -- -$g ) >/dev/null 2>&1 6<&- &
w=$!
exec 4<&-
r=$(tail -c {_REPORT_TAIL} <&6 | tail -n 1 | od -An -v -tx1 | tr -d ' \\n')
exec 6<&-
wait $g
rc=$?
kill $w 2>/dev/null
s=-
[ -f {stats} ] && [ ! -h {stats} ] && s=$(($(wc -c < {stats})))
[ "$s" != - ] && [ "$s" -gt {_MAX_STATS_BYTES} ] && s={_MAX_STATS_BYTES}
o=-
[ -f {output} ] && [ ! -h {output} ] && o=$(($(wc -c < {output})))
printf 'pie-farm-job %s %s %s x%s\\n' "$rc" "$s" "$o" "$r"
[ "$s" != - ] && head -c "$s" {stats}
[ "$o" != - ] && [ "$o" -le {files.output_limit} ] && head -c "$o" {output}
{{ tail -c {_LOG_TAIL} out; echo; sed "{_NO_BACKTRACE}" err | tail -c {_LOG_TAIL}; }} >&2
cd / && rm -rf {job}
exit 0
"""

    # ---- checks for 'pie farm check' ---------------------------------------------------

    async def free_bytes(self) -> int | None:
        """Free space in the workdir's filesystem, or None when df cannot tell."""
        result = await self._connection().run(
            f"df -Pk {shlex.quote(self.host.workdir)} | tail -n 1", check=False
        )
        fields = _text(result.stdout).split()
        try:
            return int(fields[3]) * 1024
        except (IndexError, ValueError):
            return None


async def _stop(process: asyncssh.SSHClientProcess[Any]) -> None:
    """Close the job's stdin (the remote watchdog then kills gem5's group) and wait briefly."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(_KILL_WAIT_S):
        try:
            process.stdin.write_eof()
            await process.wait_closed()
        except (OSError, asyncssh.Error):
            pass
    process.close()


def _sh(script: str) -> str:
    """Run ``script`` with /bin/sh whatever the remote user's login shell is."""
    return f"/bin/sh -c {shlex.quote(script)}"


def glibc_version(text: str) -> tuple[int, ...] | None:
    """``(2, 31)`` from ``"2.31"``; None when unknown."""
    parts = text.split(".")
    if len(parts) < 2 or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


@attrs.frozen
class _JobFiles:
    """What one job runs on: the binary and input (by their names in the host's store), the
    input's plain sha256, and how much of the guest's output may come back."""

    binary: str
    given: str
    given_sha256: str
    output_limit: int


def _size(field: str) -> int | None:
    """A size from the job's header: None for "-" (no regular file); ValueError if garbled."""
    if field == "-":
        return None
    if not field.isdigit():
        raise ValueError(field)
    return int(field)


def _unhex(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data if isinstance(data, str) else ""


def _describe(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    return str(reason)
