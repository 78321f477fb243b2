#!/usr/bin/env python3
"""A STAND-IN for ``gem5.opt``, for pie's tests and demos only: it simulates nothing.

It accepts exactly the arguments pie's farm gives gem5 (PIE's command line, with the options
of pie's patched run-se.py)::

    gem5_standin.py [--outdir=DIR] [--stats-file=FILE] CONFIG.py \
        [--max-ticks=N] [--argv0=PATH] [--report-fd=FD] [--guest-output=FILE] \
        Verbatim|Tuned|UnConstrained BINARY

and keeps gem5's contracts that pie relies on:

- it opens the stats file when it starts and writes the statistics into that open file when
  it ends (``--stats-file`` is relative to ``--outdir``, as in gem5), so a guest that replaces
  the file by path leaves its own file there, as with gem5;
- it runs BINARY natively with this process's stdin and environment, argv[0] = ``--argv0``
  (or BINARY), its stdout the file ``--guest-output`` (opened, created and truncated at
  start-up, relative to ``--outdir``, as gem5's Process ``output``), or without that option
  this process's stdout, mixed with the stand-in's own lines as in gem5 SE mode; the guest
  holds descriptors 0-2 only (it reaches others through ``/proc/<this pid>/fd``, as a gem5
  guest can);
- it prints gem5 v20.1's start-up lines (stdout's banner, stderr's warnings) as the real build
  does (``tests/farm/real/hello.out`` and ``.err``), its banner marked as the stand-in's;
- it ends as SKL's patched run-se.py: ``Exiting @ tick N because CAUSE`` on stdout and on
  ``--report-fd``, after the guest has ended; exit 1 with "Benchmark failed ..." when the
  program exits non-zero or the budget ``--max-ticks`` is reached (cause
  ``simulate() limit reached``, stats cut at the budget);
- fatal and panic messages go to stderr followed by ``Memory Usage: 0 KBytes`` (what the real
  gem5 prints in its jail), a panic then by ``Program aborted at tick N`` and a libc backtrace;
  the faults gem5 really showed replay its recorded stderr verbatim (``tests/farm/real/``);
- a program whose peak memory exceeds what the Skylake config backs (100 MiB) gets packets
  counted on the bad-address responder (``system.membus.pkt_count_*::...badaddr_responder.pio``)
  and, as ``real/memory`` did, gem5's "outside of physical memory, stopping fetch" warning and
  a run to the budget (without ``--max-ticks``, a normal exit);
- with ``PIE_STANDIN_GLIBC=2.31``, a binary that references a newer ``GLIBC_x.y`` symbol
  version fails as the guest's loader fails on such a host (``version `GLIBC_2.34' not found``).

The stats file is in gem5 v20.1's format (one dump, ``sim_ticks``/``sim_freq``, a CPU; its rows
named, described and laid out as in ``real/hello.stats.txt``).  The
"simulated" ticks are made up but deterministic: 286 ps (a 3.5 GHz cycle) times a cycle count
derived from the input size, the guest output's size and the binary's hash.  Nothing about them says
anything about real gem5.

Environment (pie runs gem5 under ``env -i``, so tests set these in a wrapper script that
``exec``s this file):

- ``PIE_STANDIN_LOG``: append ``start TAG CWD``, ``env TAG NAMES`` (the variables gem5 was
  given, and argv[0]) and ``end TAG STATUS CWD`` lines to this file, TAG being
  ``<binary sha256 prefix>:<input sha256 prefix>``, to count runs (and see, from the working
  directory, which host ran them);
- ``PIE_STANDIN_SLEEP``: seconds to sleep per run (a slow "simulation");
- ``PIE_STANDIN_GLIBC``: the host glibc version the guest's loader has (default: this
  machine's, so nothing fails);
- ``PIE_STANDIN_FAULT``: ``crash`` (panic and abort), ``hang`` (never finish), ``truncated``
  (stats cut mid-dump), ``garbage`` (stats not in gem5's format), ``two_dumps`` (an m5
  dump-and-reset), ``reset`` (one dump after a reset: sim_ticks < final_tick), ``maxtick``,
  ``no_cpu``, ``no_stats`` (exit 0 without stats), ``no_report`` (an unpatched run-se.py),
  replays of the real gem5: ``syscall`` (``real/newfstatat``: fatal "syscall newfstatat
  (#262) unimplemented."), ``getrandom`` (fatal "Syscall 318 out of range"), ``avx``
  (``real/avx2``: panic on a VEX instruction it does not decode), ``stack`` (panic "Tried to
  write unmapped address" below the 8 MiB stack; ``stack_deep`` with a backtrace twice as
  deep, as another build's), ``avx_as_sse`` (the guest's output replaced
  by the real gem5's for ``real/avx.cpp``, 256-bit AVX run as SSE: a wrong result, exit 0);
  ``mmap`` (gem5's fatal when the host refuses the simulated memory, from gem5's source),
  ``escape`` (the guest's escape attempts, which gem5 performs with its own rights since SE
  mode passes a guest's paths through to the host: ``open("/proc/self/mem", "r+")``, gem5's
  own memory, and reading the file ``PIE_STANDIN_PEEK``, e.g. another job's; each attempt's
  result goes to stderr as ``escape PATH opened`` or ``escape PATH refused ERROR``; the run
  then goes on as usual).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
import time

CPU_TYPES = ("Verbatim", "Tuned", "UnConstrained")
PERIOD_PS = 286  # 1 / 3.5 GHz, in gem5's 1 ps ticks
FREQ = 10**12
MAX_TICK = 2**64 - 1
BACKED_BYTES = 100 << 20  # the Skylake config's first memory range, where SE pages start
NORMAL_EXIT = "exiting with last active thread context"
BUDGET_EXIT = "simulate() limit reached"
MEMORY_USAGE = "Memory Usage: 0 KBytes"  # as the real gem5 in its jail
PKT = "system.membus.pkt_count_"
PKT_DESC = "Packet count per connected requestor and responder (bytes)"


def main(argv: list[str]) -> int:
    options = {"outdir": "m5out", "stats-file": "stats.txt"}
    rest = list(argv)
    while rest and rest[0].startswith("--"):
        name, _, value = rest.pop(0)[2:].partition("=")
        if name not in options:
            print(f"gem5 stand-in: unknown option --{name}", file=sys.stderr)
            return 1
        options[name] = value if value else rest.pop(0)
    if not rest:
        print("usage: gem5 [--outdir=DIR] [--stats-file=FILE] CONFIG [ARGS]", file=sys.stderr)
        return 1
    config = rest.pop(0)
    if not os.path.isfile(config):
        print(f"gem5 stand-in: script {config} not found", file=sys.stderr)
        return 1
    script = {"max-ticks": "", "argv0": "", "report-fd": "", "guest-output": "cout"}
    while rest and rest[0].startswith("--"):
        name, _, value = rest.pop(0)[2:].partition("=")
        if name not in script:
            print(f"run-se.py: error: unrecognized arguments: --{name}", file=sys.stderr)
            return 2
        script[name] = value if value else rest.pop(0)
    if len(rest) != 2:
        print("usage: run-se.py [--max-ticks N] [--argv0 P] [--report-fd FD] "
              "[--guest-output FILE] CPU BINARY", file=sys.stderr)  # fmt: skip
        return 2
    cpu, binary = rest
    if cpu not in CPU_TYPES:
        print(f"run-se.py: error: argument config: invalid choice: {cpu!r}", file=sys.stderr)
        return 2
    banner(argv)
    stats = open_stats(options)  # gem5 opens its stats file at start-up
    output = open_output(options["outdir"], script["guest-output"])  # and the guest's stdout
    given = _read_stdin()
    with open(binary, "rb") as handle:
        program = handle.read()
    tag = f"{hashlib.sha256(program).hexdigest()[:16]}:{hashlib.sha256(given).hexdigest()[:16]}"
    log(f"start {tag} {os.getcwd()}")
    # what gem5 was given: less this stand-in's own variables and the two its sh wrapper and
    # Python add (PWD; LC_CTYPE, Python's locale coercion)
    added = {"PWD", "LC_CTYPE"}
    names = sorted(n for n in os.environ if not n.startswith("PIE_STANDIN_") and n not in added)
    given_env = ",".join(f"{name}={os.environ[name]}" for name in names)
    log(f"env {tag} {given_env} argv0={script['argv0'] or binary}")
    fault = os.environ.get("PIE_STANDIN_FAULT", "")
    status = run(binary, program, given, (stats, output), script={**script, **options},
                 fault=fault)  # fmt: skip
    log(f"end {tag} {status} {os.getcwd()}")
    return status


def banner(argv: list[str]) -> None:
    """gem5 v20.1's start-up lines, as the real build prints them (``real/hello.out`` and
    ``.err``), marked as the stand-in's."""
    now = time.strftime("%b %e %Y %H:%M:%S")
    print(
        f"Global frequency set at {FREQ} ticks per second\n"
        "gem5 Simulator System.  http://gem5.org  (a STAND-IN for tests, not gem5)\n"
        "gem5 is copyrighted software; use the --copyright option for details.\n\n"
        f"gem5 version 20.1.0.5\ngem5 compiled {now}\ngem5 started {now}\n"
        f"gem5 executing on {os.uname().nodename}, pid {os.getpid()}\n"
        f"command line: {' '.join([sys.argv[0], *argv])}\n\n"
        "info: Standard input is not a terminal, disabling listeners.",
        flush=True,
    )
    print(_STARTUP, file=sys.stderr, flush=True)


REAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "real")
# stderr up to the guest's first instruction, as the real gem5 prints it under the Skylake
# config (the first lines of real/hello.err)
_STARTUP = (
    "warn: failed to generate dot output from m5out/config.dot\n"
    "warn: DRAM device capacity (32768 Mbytes) does not match the address range assigned "
    "(128 Mbytes)\n"
    "warn: Not reserving swap space. May cause SIGSEGV on actual usage\n"
    "warn: Sockets disabled, not accepting gdb connections\n"
    "warn: CoherentXBar system.cpu.mmucache.mmubus has no snooping ports attached!\n"
    "info: Entering event queue @ 0.  Starting simulation..."
)

# what the real gem5 says while a dynamically linked guest starts (real/hello.err)
_LOADING = (
    "warn: x86 cpuid family 0x0000: unimplemented function 13\n"
    "warn: ignoring syscall access(...)\ninfo: Increasing stack size by one page.\n"
    "warn: ignoring syscall mprotect(...)\nwarn: ignoring syscall mprotect(...)\n"
    "warn: ignoring syscall mprotect(...)"
)


def replayed(name: str) -> str:
    """What the real gem5 printed on stderr for the recorded program ``name`` after its
    start-up lines: the messages a fault of the stand-in replays, verbatim."""
    with open(os.path.join(REAL, f"{name}.err"), encoding="utf-8") as handle:
        text = handle.read()
    return text.partition("Starting simulation...\n")[2]


def run(
    binary: str,
    program: bytes,
    given: bytes,
    files: tuple[int, int],
    *,
    script: dict[str, str],
    fault: str,
) -> int:
    stats, output = files
    time.sleep(float(os.environ.get("PIE_STANDIN_SLEEP", "0")))
    gem5_fault(fault)
    if fault == "escape":
        escape(os.environ.get("PIE_STANDIN_PEEK", ""))
    if fatal_fault(fault):
        return 1
    exit_code, peak = guest(binary, program, given, output, argv0=script["argv0"] or binary)
    if fault == "avx_as_sse":  # what the real gem5 printed for real/avx.cpp, 256-bit AVX
        with open(os.path.join(REAL, "avx.guest.out"), "rb") as recorded:
            os.ftruncate(output, 0)
            os.pwrite(output, recorded.read(), 0)
    printed = os.fstat(output).st_size if stat.S_ISREG(os.fstat(output).st_mode) else 0
    cycles = 2_000_000 + 3 * len(given) + 50 * printed
    cycles += int.from_bytes(hashlib.sha256(program).digest()[:2], "big")
    ticks = cycles * PERIOD_PS
    cause = NORMAL_EXIT
    bad = (peak - BACKED_BYTES) // 64 if peak > BACKED_BYTES else 0  # one packet a cache line
    if bad and script["max-ticks"]:  # as real/memory: fetch stops, the budget runs out
        print(_outside_memory(), end="", file=sys.stderr, flush=True)
        ticks = int(script["max-ticks"]) + 1
    if script["max-ticks"] and ticks > int(script["max-ticks"]):
        ticks, cause = int(script["max-ticks"]), BUDGET_EXIT
        cycles = ticks // PERIOD_PS
    if fault == "maxtick":
        ticks = MAX_TICK + 1  # gem5 prints MaxTick through a double
    report(ticks, cause, script["report-fd"], fault)
    if fault == "no_stats":  # e.g. a gem5 given another --outdir
        os.close(stats)
        os.unlink(os.path.join(script["outdir"], script["stats-file"]))
    else:  # gem5 dumps the statistics at exit, after run-se.py's last line
        write_stats(stats, ticks, cycles, bad, fault)
    if cause != NORMAL_EXIT:  # SKL's run-se.py
        print("Benchmark failed with bad exit cause.")
        print(cause)
        return 1
    if exit_code != 0:
        print("Benchmark failed with bad exit code.")
        print(f"Exit code {exit_code}")
        return 1
    return 0


def fatal_fault(fault: str) -> bool:
    """gem5's fatal errors (exit 1, no statistics): whether ``fault`` is one, printed."""
    if fault in GEM5_FATAL:
        fatal(GEM5_FATAL[fault])
        return True
    if fault in REAL_FATAL:  # the real gem5's words
        print(replayed(REAL_FATAL[fault]), end="", file=sys.stderr, flush=True)
        return True
    return False


def guest(binary: str, program: bytes, given: bytes, output: int, argv0: str) -> tuple[int, int]:
    """The guest's run: its exit code and peak memory (its loader's failure on an old glibc)."""
    print(_LOADING, file=sys.stderr, flush=True)
    too_new = newer_glibc(program, os.environ.get("PIE_STANDIN_GLIBC", ""))
    if too_new:  # the guest's ld.so, on a host with an older glibc
        loader = f"/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_{too_new}' not found"
        print(f"{argv0}: {loader} (required by {argv0})", file=sys.stderr, flush=True)
        return 127, 0
    return execute(binary, argv0, given, output)


GEM5_FATAL = {
    # gem5 v20.1 without MAP_NORESERVE on a small host (from gem5's source: not recorded)
    "mmap": "fatal: Could not mmap 34359738368 bytes for range [0x100000000:0x900000000]!",
}
# faults that replay what the real gem5 printed for a recorded program of tests/farm/real/
REAL_FATAL = {"syscall": "newfstatat", "getrandom": "getrandom"}
REAL_PANIC = {"avx": "avx2", "stack": "stack"}


def _outside_memory() -> str:
    """The real gem5's warnings when a program's pages pass the config's memory."""
    lines = replayed("memory").splitlines(keepends=True)
    return "".join(line for line in lines if "outside of physical memory" in line)


def gem5_fault(fault: str) -> None:
    """The faults that never return: a hang, and gem5's panics (they abort)."""
    if fault == "hang":
        time.sleep(3600)
    if fault in REAL_PANIC:  # the real gem5's panic, tick and backtrace, then its abort
        print(replayed(REAL_PANIC[fault]), end="", file=sys.stderr, flush=True)
        os.abort()
    if fault == "stack_deep":  # real/stack's panic from a gem5 with a backtrace twice as deep
        text = replayed("stack")
        start, end = text.index("--- BEGIN LIBC"), text.index("--- END LIBC")
        frames = text[text.index("\n", start) + 1 : end]
        print(text[:end] + frames + text[end:], end="", file=sys.stderr, flush=True)
        os.abort()
    if fault == "crash":  # a panic of the stand-in's own, laid out as gem5's
        fatal("panic: the stand-in crashes on purpose")
        backtrace = replayed("stack").partition("Memory Usage: 0 KBytes\n")[2]
        print(backtrace.replace("276814824", "0"), end="", file=sys.stderr, flush=True)
        os.abort()


def escape(peek: str) -> None:
    """What a hostile guest's open calls do inside gem5: gem5 opens the path itself."""
    for path, mode in (("/proc/self/mem", "r+b"), (peek, "rb")):
        if not path:
            continue
        try:
            with open(path, mode) as handle:  # (reading the mem file at offset 0 is EIO)
                if path == peek:
                    handle.read(1)
            result = "opened"
        except OSError as error:
            result = f"refused {error.strerror}"
        print(f"escape {path} {result}", file=sys.stderr, flush=True)


def fatal(message: str) -> None:
    print(f"{message}\n{MEMORY_USAGE}", file=sys.stderr, flush=True)


def report(ticks: int, cause: str, fd: str, fault: str) -> None:
    """run-se.py's exit report, after the guest's last instruction."""
    if fault == "no_report":
        return
    line = f"Exiting @ tick {ticks} because {cause}"
    print(line, flush=True)
    if fd:
        data = f"{line}\n".encode()
        if os.write(int(fd), data) != len(data):
            raise OSError("short write of the exit report")


def newer_glibc(program: bytes, host: str) -> str:
    """The newest GLIBC_x.y version the binary references, if newer than ``host``'s."""
    if not host:
        return ""
    versions = re.findall(rb"GLIBC_(\d+\.\d+)", program)
    newest = max((tuple(int(p) for p in v.split(b".")) for v in versions), default=())
    if newest > tuple(int(p) for p in host.split(".")):
        return ".".join(str(p) for p in newest)
    return ""


def _read_stdin() -> bytes:
    chunks = []
    while chunk := os.read(0, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def execute(binary: str, argv0: str, given: bytes, output: int) -> tuple[int, int]:
    """Run the program natively: input from a memory file, stdout ``output``; returns its exit
    code and its peak memory in bytes."""
    stdin = os.memfd_create("standin-input")
    os.write(stdin, given)
    os.lseek(stdin, 0, os.SEEK_SET)
    path = binary if "/" in binary else f"./{binary}"
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.dup2(stdin, 0)
        os.dup2(output, 1)
        os.closerange(3, 1 << 16)  # a gem5 guest holds no host descriptor but its 0, 1, 2
        try:
            os.execv(path, [argv0])
        finally:
            os._exit(127)
    os.close(stdin)
    _, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024


def open_output(outdir: str, name: str) -> int:
    """The guest's stdout, as gem5's FDArray opens it: "cout" is gem5's own."""
    if name == "cout":
        return 1
    return os.open(os.path.join(outdir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o664)


def open_stats(options: dict[str, str]) -> int:
    outdir = options["outdir"]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.ini"), "w") as handle:
        handle.write("[root]\ntype=Root\n; written by the gem5 STAND-IN\n")
    path = os.path.join(outdir, options["stats-file"])  # an absolute FILE stays as it is
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def write_stats(stats: int, ticks: int, cycles: int, bad: int, fault: str) -> None:
    final_tick = ticks
    if fault == "reset":
        ticks = final_tick - 123_456
    text = dump(ticks, final_tick, cycles, with_cpu=fault != "no_cpu", bad=bad)
    if fault == "two_dumps":
        text = dump(7_000, 7_000, 24, True) + dump(final_tick - 7_000, final_tick, cycles, True)
    if fault == "truncated":
        text = text[: len(text) // 2]
    if fault == "garbage":
        text = "".join(chr(32 + (i * 7919) % 95) for i in range(4000))
    os.write(stats, text.encode())
    os.close(stats)


def dump(ticks: int, final_tick: int, cycles: int, with_cpu: bool, bad: int = 0) -> str:
    """One statistics dump laid out as gem5 v20.1 prints it (``%-40s %12s %10s %10s # ...``),
    with rows named, described and ordered as in the real build's (``real/hello.stats.txt``)."""
    instructions = cycles // 2
    ops = instructions * 7 // 4
    rows = [
        ("final_tick", final_tick, "Number of ticks from beginning of simulation "
                                   "(restored from checkpoints and never reset)"),
        ("host_inst_rate", 123456, "Simulator instruction rate (inst/s)"),
        ("host_op_rate", 216048, "Simulator op (including micro ops) rate (op/s)"),
        ("host_seconds", "0.05", "Real time elapsed on the host"),
        ("host_tick_rate", 72402356, "Simulator tick rate (ticks/s)"),
        ("sim_freq", FREQ, "Frequency of simulated ticks"),
        ("sim_insts", instructions if with_cpu else 0, "Number of instructions simulated"),
        ("sim_ops", ops if with_cpu else 0, "Number of ops (including micro ops) simulated"),
        ("sim_seconds", f"{ticks / FREQ:.6f}", "Number of seconds simulated"),
        ("sim_ticks", ticks, "Number of ticks simulated"),
    ]  # fmt: skip
    if with_cpu:
        rows += [
            ("system.cpu.committedInsts", instructions, "Number of Instructions Simulated"),
            ("system.cpu.ipc", f"{instructions / cycles:.6f}", "IPC: Instructions Per Cycle"),
            ("system.cpu.numCycles", cycles, "number of cpu cycles simulated"),
            (f"{PKT}system.l3cache.mem_side_port::system.mem_cntrls1.port", cycles // 40,
             PKT_DESC),
        ]  # fmt: skip
    if bad:
        rows.append((f"{PKT}system.l3cache.mem_side_port::system.membus.badaddr_responder.pio",
                     bad, PKT_DESC))  # fmt: skip
    lines = [f"{name:<40} {value!s:>12} {'':>10} {'':>10} # {desc}" for name, value, desc in rows]
    body = "\n".join(lines)
    return (
        "\n---------- Begin Simulation Statistics ----------\n"
        f"{body}\n\n---------- End Simulation Statistics   ----------\n"
    )


def log(line: str) -> None:
    path = os.environ.get("PIE_STANDIN_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"{line}\n".encode())
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
