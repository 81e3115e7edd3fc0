"""The ``system`` marker: tests that start a server or an external program.

``pytest -m "not system"`` (``nox -s quick``) leaves them out.  A test is
marked by its module's ``pytestmark``, by ``@pytest.mark.system``, or by using
a fixture named in ``SYSTEM_FIXTURES`` (tests/conftest.py adds the marker at
collection).  The helpers that start servers and external programs call
:func:`expect_system`: a test that starts one without the marker fails, in
every run, with a message saying what to mark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.paths import SYSTEM_PACKAGES_SCRIPT

#: The test running now: (node id, whether it is marked ``system``); None between tests.
_running: list[tuple[str, bool]] = []


def enter_test(nodeid: str, marked: bool) -> None:
    """Note the test that starts now (called by tests/conftest.py)."""
    _running[:] = [(nodeid, marked)]


def leave_test() -> None:
    """Note that no test runs now (called by tests/conftest.py)."""
    _running.clear()


def expect_system(what: str) -> None:
    """Fail the running test in one line if it starts ``what`` without the ``system`` marker."""
    if _running and not _running[0][1]:
        pytest.fail(f"{_running[0][0]} starts {what}: mark it system (module pytestmark, "
                    f"@pytest.mark.system, or a fixture in SYSTEM_FIXTURES of tests/conftest.py)",
                    pytrace=False)


def require_program(program: str, package: str) -> str:
    """The path of ``program``; fail the test in one line naming its Debian package if absent.

    Only ``system`` tests may ask for an external program (see :func:`expect_system`).
    """
    expect_system(program)
    found = shutil.which(program) or next(
        (str(path) for path in (Path("/usr/sbin") / program, Path("/usr/bin") / program)
         if path.is_file()), None)
    if found is None:
        pytest.fail(f"{program} is not installed: install the Debian package {package} "
                    f"(sh {SYSTEM_PACKAGES_SCRIPT} installs every package the tests use)",
                    pytrace=False)
    return found
