"""The gem5 farm's scheduler under load: printed figures.

    python -m bench.farm [--jobs 2000] [--hosts 4] [--slots 4] [--sleep 0.05] [--repeat 3]

Loopback hosts (real SSH servers on 127.0.0.1, in a separate process so that they do not
share this process's interpreter lock) run the gem5 STAND-IN, which sleeps ``--sleep`` seconds
per job and then runs a tiny native program: nothing is simulated.  2,000 jobs are 100
binaries x 20 inputs, as a batch of programs over shared test inputs is.  Two scenarios:

- all hosts up;
- one host killed when half of the jobs are done (its jobs go to the other hosts).

Figures (medians over ``--repeat`` runs):

- slot utilization: time slots held a job (dispatch to result, as the scheduler sees it) over
  the slot time available (every slot of a host from the start until the end, or until its
  death for the killed host);
- scheduling overhead per job: slot time spent neither holding a job nor waiting for one
  (taking the next job, handing the outcome on), per job;
- idle slot time per job, for the rest: slots waiting with nothing they could run (the last
  jobs' tail; backoff before a killed host's jobs run again);
- beside them, the loopback hosts' own cost per job (SSH channel, /bin/sh, timeout, env, the
  stand-in's Python start-up: CPU seconds, and wall time past the sleep): what a real host
  spends too, not scheduling.  On a small machine that CPU, not the scheduler, bounds the
  throughput: the slots then wait for the CPU while holding their jobs;
- jobs lost (no outcome, or a failure) and jobs run to the end twice, from the stand-in's log
  (a job whose host dies after the stand-in finished but before the result came back runs
  again: its result died with the host).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from pie._check import CheckMode
from pie._farm import load_farm
from pie._farm._outcome import Failed, Outcome
from pie._farm._output import ExpectedOutput
from pie._farm._queue import Job
from pie._farm._scheduler import Farm
from pie._hashing import key_of, sha256_file
from tests.farm.loopback import LoopbackFarm  # run as a module from the checkout: -m bench.farm

CHECKOUT = Path(__file__).resolve().parent.parent

TINY = "int main(void) { return 0; }\n"
VICTIM = 1  # the host killed halfway


# ---- the hosts, in their own process ----------------------------------------------------


def serve(folder: Path, hosts: int, slots: int, sleep: float) -> None:
    """Child process: start the hosts, print the farm file's path, obey 'kill N' / 'quit'."""
    with LoopbackFarm(folder, hosts) as farm:
        for index in range(hosts):
            farm.set_env(index, PIE_STANDIN_SLEEP=str(sleep))
        print(farm.write_config(slots=slots, backoff=0.1), flush=True)
        for line in sys.stdin:
            command = line.split()
            if command[:1] == ["kill"]:
                farm.kill(int(command[1]))
                print("killed", flush=True)
            elif command[:1] == ["quit"]:
                break
    mine, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime
    print(f"{cpu:.3f}", flush=True)


class Hosts:
    def __init__(self, folder: Path, hosts: int, slots: int, sleep: float) -> None:
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.farm", "--serve", str(folder), "--hosts", str(hosts),
             "--slots", str(slots), "--sleep", str(sleep)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=CHECKOUT,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.config = Path(self.process.stdout.readline().strip())

    def kill(self, index: int) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"kill {index}\n")
        self.process.stdin.flush()
        self.process.stdout.readline()

    def close(self) -> float:
        """Stop the hosts; their CPU seconds (servers and every process they started)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        cpu = float(self.process.stdout.readline() or "nan")
        self.process.wait(timeout=60)
        return cpu

    def ends(self) -> list[tuple[str, str]]:
        """(tag, working directory) of each run that ended."""
        log = self.folder / "standin.log"
        return [
            (fields[1], fields[3])
            for fields in (line.split() for line in log.read_text().splitlines())
            if fields[0] == "end"
        ]


# ---- the batch ----------------------------------------------------------------------------


def make_jobs(folder: Path, binaries: int, inputs: int) -> list[Job]:
    source = folder / "tiny.c"
    source.write_text(TINY)
    tiny = folder / "tiny"
    subprocess.run(["gcc", "-O2", "-o", str(tiny), str(source)], check=True)
    programs = []
    for index in range(binaries):
        program = folder / f"prog{index}"
        program.write_bytes(tiny.read_bytes() + f"\n{index}\n".encode())  # distinct hashes
        program.chmod(0o755)
        programs.append((program, sha256_file(program)))
    given = []
    for index in range(inputs):
        path = folder / f"input{index}.txt"
        path.write_text(f"{index}\n" * (index + 1))
        given.append((path, key_of(path.read_bytes())))
    silence = folder / "expected.txt"  # what TINY prints
    silence.write_bytes(b"")

    def expected(path: Path) -> ExpectedOutput:
        return ExpectedOutput(
            silence, key_of(path.read_bytes(), b""), CheckMode.STRICT, 1.0, 1 << 20
        )

    return [
        Job(program, digest, path, input_key, expected(path), path.stat().st_size)
        for program, digest in programs
        for path, input_key in given
    ]


async def run_batch(
    config: Path, jobs: Sequence[Job], kill: Hosts | None, victim: int
) -> dict[str, Any]:
    farm_config = load_farm(config)
    outcomes: list[Outcome | None] = [None] * len(jobs)
    done = 0
    killed_at: float | None = None
    halfway = anyio.Event()

    async def record(job: Job, outcome: Outcome) -> None:
        nonlocal done
        done += 1
        if done == len(jobs) // 2:
            halfway.set()

    async with Farm(farm_config, record=record) as farm:
        started = time.monotonic()
        async with anyio.create_task_group() as group:

            async def one(position: int, job: Job) -> None:
                outcomes[position] = await farm.simulate(job)

            for position, job in enumerate(jobs):
                group.start_soon(one, position, job)
            if kill is not None:
                await halfway.wait()
                await anyio.to_thread.run_sync(kill.kill, victim)
                killed_at = time.monotonic()
        finished = time.monotonic()
        snapshot = farm.snapshot()
    makespan = finished - started
    capacity = 0.0
    for index, host in enumerate(farm_config.hosts):
        up = (
            (killed_at - started)
            if kill is not None and index == victim and killed_at
            else makespan
        )
        capacity += host.slots * up
    busy = sum(host["busy_seconds"] for host in snapshot["hosts"])
    waiting = sum(host["waiting_seconds"] for host in snapshot["hosts"])
    lost = sum(1 for outcome in outcomes if outcome is None or isinstance(outcome, Failed))
    return {
        "makespan": makespan,
        "utilization": busy / capacity,
        "overhead_ms": 1000 * max(0.0, capacity - busy - waiting) / len(jobs),
        "idle_ms": 1000 * waiting / len(jobs),
        "busy_ms": 1000 * busy / len(jobs),
        "lost": lost,
        "requeued": snapshot["requeued"],
        "hosts": [(host["state"], host["done"]) for host in snapshot["hosts"]],
    }


def scenario(args: argparse.Namespace, kill: bool, work: Path) -> list[dict[str, Any]]:
    """``--repeat`` batches, each on fresh hosts (empty stores, a new log)."""
    runs = []
    for repeat in range(args.repeat):
        folder = work / f"{'kill' if kill else 'up'}{repeat}"
        folder.mkdir()
        hosts = Hosts(folder / "hosts", args.hosts, args.slots, args.sleep)
        jobs = make_jobs(folder, args.binaries, args.jobs // args.binaries)
        try:
            result = anyio.run(run_batch, hosts.config, jobs, hosts if kill else None, VICTIM)
            ends = hosts.ends()
        finally:
            result["host_cpu_ms"] = 1000 * hosts.close() / len(jobs)
        victim = str(folder / "hosts" / f"host{VICTIM}")
        tags = [tag for tag, _ in ends]
        repeated = {tag for tag in tags if tags.count(tag) > 1}
        first_ends = {tag: cwd for tag, cwd in reversed(ends)}  # each tag's first end
        result["twice"] = len(tags) - len(set(tags))
        result["twice_after_death"] = sum(first_ends[t].startswith(victim) for t in repeated)
        result["ends"] = len(set(tags))
        runs.append(result)
        print(
            f"    run {repeat + 1}: {result['makespan']:.2f} s, utilization "
            f"{result['utilization']:.1%}, overhead {result['overhead_ms']:.2f} ms/job, idle "
            f"{result['idle_ms']:.2f} ms/job, lost {result['lost']}, run twice "
            f"{result['twice']}, requeued {result['requeued']}, hosts {result['hosts']}",
            flush=True,
        )
    return runs


def report(name: str, runs: list[dict[str, Any]], sleep: float) -> None:
    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    twice = max(run["twice"] for run in runs)
    after_death = max(run["twice_after_death"] for run in runs)
    print(f"  {name}")
    print(f"    slot utilization            {median('utilization'):7.1%}   (target >= 95%)")
    print(f"    scheduling overhead         {median('overhead_ms'):7.2f} ms/job (target <= 5 ms)")
    print(f"    idle slots (tail, backoff)  {median('idle_ms'):7.2f} ms/job")
    print(
        f"    loopback host cost          {median('host_cpu_ms'):7.1f} ms CPU/job; "
        f"{median('busy_ms') - 1000 * sleep:.0f} ms/job of wall time past the "
        f"{1000 * sleep:.0f} ms sleep"
    )
    print(f"    makespan                    {median('makespan'):7.2f} s")
    print(f"    jobs lost                   {max(run['lost'] for run in runs):7d}   (target 0)")
    print(
        f"    jobs run to the end twice   {twice:7d}   ({after_death} of them first on the "
        "killed host, whose result died with it)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--binaries", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--sleep", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.hosts, args.slots, args.sleep)
        return 0
    print(
        f"gem5 farm scheduler: {args.hosts} loopback hosts x {args.slots} slots, {args.jobs} "
        f"jobs ({args.binaries} binaries x {args.jobs // args.binaries} inputs), stand-in "
        f"sleeping {1000 * args.sleep:.0f} ms per job, {args.repeat} runs per scenario"
    )
    with tempfile.TemporaryDirectory(prefix="pie-bench-farm-") as scratch:
        work = Path(scratch)
        print("  all hosts up:")
        up = scenario(args, kill=False, work=work)
        print("  one host killed halfway:")
        killed = scenario(args, kill=True, work=work)
    print("\nmedians")
    report("all hosts up", up, args.sleep)
    report("one host killed when half the jobs were done", killed, args.sleep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
