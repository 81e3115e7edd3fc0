"""Development sessions: ``nox -s tests``, ``quick``, ``lint``, ``typecheck``, ``bench``, ``fuzz``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PACKAGES = ["dasflex_core", "dasflex_flask", "dasflex_cgi", "dasflex_ws"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[all,test]")
    session.run("pytest", *session.posargs)


@nox.session
def quick(session: nox.Session) -> None:
    """The fast loop: every test not marked ``system`` (no server, browser or external program)."""
    session.install("-e", ".[all,test]")
    session.run("pytest", "-q", "-m", "not system", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff."""
    session.install("ruff")
    session.run("ruff", "check", *PACKAGES, "tests", "bench", "examples", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Check types with mypy."""
    session.install("-e", ".[all]", "mypy")
    session.run("mypy", *PACKAGES)


@nox.session
def bench(session: nox.Session) -> None:
    """Measure throughput against ``cat`` on generated streams (not run in CI)."""
    session.install("-e", ".[all]")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Long hypothesis runs on the parsers (not run in CI)."""
    session.install("-e", ".[all,test]")
    session.run("pytest", "tests", "-m", "fuzz", "-p", "no:cacheprovider", *session.posargs,
                env={"DASFLEX_FUZZ_EXAMPLES": "20000"})  # 5 targets x 20000 = 100k inputs
