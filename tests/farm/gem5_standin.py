#!/usr/bin/env python3
"""A STAND-IN for ``gem5.opt``, for pie's tests and demos only: it simulates nothing.

It accepts exactly the arguments pie's farm gives gem5 (PIE's command line)::

    gem5_standin.py [--outdir=DIR] [--stats-file=FILE] CONFIG.py Verbatim|Tuned|UnConstrained BINARY

runs BINARY natively with this process's stdin, passes its output on like gem5 SE mode does
(mixed into gem5's stdout), exits as SKL's run-se.py does (1 when the program fails), and
writes a stats file in gem5 v20.1's format (one dump, ``sim_ticks``/``sim_freq``, a CPU).
``--stats-file`` is relative to ``--outdir``, as in gem5.  The "simulated" ticks are made up
but deterministic: 286 ps (a 3.5 GHz cycle) times a cycle count derived from the input size,
the output size and the binary's hash.  Nothing about them says anything about real gem5.

Environment (pie runs gem5 under ``env -i``, so tests set these in a wrapper script that
``exec``s this file):

- ``PIE_STANDIN_LOG``: append ``start TAG CWD`` and ``end TAG STATUS CWD`` lines to this file,
  TAG being ``<binary sha256 prefix>:<input sha256 prefix>``, to count runs (and see, from
  the working directory, which host ran them);
- ``PIE_STANDIN_SLEEP``: seconds to sleep per run (a slow "simulation");
- ``PIE_STANDIN_FAULT``: ``crash`` (panic and abort), ``hang`` (never finish), ``truncated``
  (stats cut mid-dump), ``garbage`` (stats not in gem5's format), ``two_dumps`` (an m5
  dump-and-reset), ``reset`` (one dump after a reset: sim_ticks < final_tick), ``maxtick``,
  ``no_cpu``, ``no_stats`` (exit 0 without stats), ``syscall`` (gem5's fatal "unimplemented
  syscall"), ``avx`` (gem5's panic on an unknown instruction).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time

CPU_TYPES = ("Verbatim", "Tuned", "UnConstrained")
PERIOD_PS = 286  # 1 / 3.5 GHz, in gem5's 1 ps ticks
FREQ = 10**12
MAX_TICK = 2**64 - 1


def main(argv: list[str]) -> int:
    options = {"outdir": "m5out", "stats-file": "stats.txt"}
    rest = list(argv)
    while rest and rest[0].startswith("--"):
        name, _, value = rest.pop(0)[2:].partition("=")
        if name not in options:
            print(f"gem5 stand-in: unknown option --{name}", file=sys.stderr)
            return 1
        options[name] = value if value else rest.pop(0)
    if len(rest) != 3:
        print("usage: gem5 [--outdir=DIR] [--stats-file=FILE] CONFIG CPU BINARY", file=sys.stderr)
        return 1
    config, cpu, binary = rest
    if not os.path.isfile(config):
        print(f"gem5 stand-in: script {config} not found", file=sys.stderr)
        return 1
    if cpu not in CPU_TYPES:
        print(f"run-se.py: error: argument config: invalid choice: {cpu!r}", file=sys.stderr)
        return 2
    print("gem5 Simulator System (STAND-IN for tests, not gem5)", flush=True)
    given = _read_stdin()
    with open(binary, "rb") as handle:
        program = handle.read()
    tag = f"{hashlib.sha256(program).hexdigest()[:16]}:{hashlib.sha256(given).hexdigest()[:16]}"
    log(f"start {tag} {os.getcwd()}")
    status = run(binary, program, given, options, os.environ.get("PIE_STANDIN_FAULT", ""))
    log(f"end {tag} {status} {os.getcwd()}")
    return status


def run(binary: str, program: bytes, given: bytes, options: dict[str, str], fault: str) -> int:
    time.sleep(float(os.environ.get("PIE_STANDIN_SLEEP", "0")))
    if fault == "hang":
        time.sleep(3600)
    if fault == "crash":
        print("panic: the stand-in crashes on purpose", file=sys.stderr, flush=True)
        os.abort()
    if fault == "syscall":
        print("fatal: syscall newfstatat (#262) unimplemented.", file=sys.stderr)
        return 1
    if fault == "avx":
        print("panic: Unrecognized/invalid instruction executed:", file=sys.stderr, flush=True)
        os.abort()
    exit_code, output = execute(binary, given)
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    cycles = 2_000_000 + 3 * len(given) + 50 * len(output)
    cycles += int.from_bytes(hashlib.sha256(program).digest()[:2], "big")
    if fault != "no_stats":
        write_stats(options, cycles * PERIOD_PS, cycles, fault)
    if exit_code != 0:  # SKL's run-se.py
        print("Benchmark failed with bad exit code.")
        print(f"Exit code {exit_code}")
        return 1
    return 0


def _read_stdin() -> bytes:
    chunks = []
    while chunk := os.read(0, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def execute(binary: str, given: bytes) -> tuple[int, bytes]:
    """Run the program natively: input from a memory file, output through a pipe."""
    stdin = os.memfd_create("standin-input")
    os.write(stdin, given)
    os.lseek(stdin, 0, os.SEEK_SET)
    reader, writer = os.pipe()
    path = binary if "/" in binary else f"./{binary}"
    pid = os.fork()
    if pid == 0:
        os.dup2(stdin, 0)
        os.dup2(writer, 1)
        try:
            os.execv(path, [binary])
        finally:
            os._exit(127)
    os.close(writer)
    os.close(stdin)
    chunks = []
    while chunk := os.read(reader, 1 << 16):
        chunks.append(chunk)
    os.close(reader)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks)


def write_stats(options: dict[str, str], ticks: int, cycles: int, fault: str) -> None:
    outdir = options["outdir"]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.ini"), "w") as handle:
        handle.write("[root]\ntype=Root\n; written by the gem5 STAND-IN\n")
    path = os.path.join(outdir, options["stats-file"])  # an absolute FILE stays as it is
    final_tick = ticks
    if fault == "maxtick":
        ticks = final_tick = MAX_TICK + 1  # gem5 prints MaxTick through a double
    if fault == "reset":
        final_tick = ticks + 123_456
    text = dump(ticks, final_tick, cycles, with_cpu=fault != "no_cpu")
    if fault == "two_dumps":
        text = dump(7_000, 7_000, 24, with_cpu=True) + dump(ticks, ticks + 7_000, cycles, True)
    if fault == "truncated":
        text = text[: len(text) // 2]
    if fault == "garbage":
        text = "".join(chr(32 + (i * 7919) % 95) for i in range(4000))
    with open(path, "w") as handle:
        handle.write(text)


def dump(ticks: int, final_tick: int, cycles: int, with_cpu: bool) -> str:
    """One statistics dump laid out as gem5 v20.1 prints it (``%-40s %12s %10s %10s # ...``)."""
    instructions = cycles // 2
    rows = [
        ("final_tick", final_tick, "Number of ticks from beginning of simulation "
                                   "(restored from checkpoints and never reset)"),
        ("host_inst_rate", 123456, "Simulator instruction rate (inst/s)"),
        ("host_mem_usage", 696076, "Number of bytes of host memory used"),
        ("host_seconds", "0.05", "Real time elapsed on the host"),
        ("sim_freq", FREQ, "Frequency of simulated ticks"),
        ("sim_insts", instructions if with_cpu else 0, "Number of instructions simulated"),
        ("sim_seconds", f"{ticks / FREQ:.6f}", "Number of seconds simulated"),
        ("sim_ticks", ticks, "Number of ticks simulated"),
    ]  # fmt: skip
    if with_cpu:
        rows += [
            ("system.cpu.committedInsts", instructions, "Number of instructions committed"),
            ("system.cpu.numCycles", cycles, "number of cpu cycles simulated"),
            ("system.cpu.ipc", f"{instructions / cycles:.6f}", "IPC: instructions per cycle"),
        ]
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
