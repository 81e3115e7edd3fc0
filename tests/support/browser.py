"""Headless Chromium for the tests that read pages and run JavaScript (tests/browser, tests/docs).

:func:`chromium` asks for the program through
:func:`tests.support.system.require_program`: only ``system`` tests may run it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.system import require_program

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
#: Seconds one Chromium run may take.
BROWSER_SECONDS = 60


def require_chromium() -> None:
    """Fail in one line naming the Debian package when Chromium is missing."""
    require_program(str(CHROMIUM.name), "chromium")


def chromium(profile: Path, *arguments: str) -> str:
    """Run headless Chromium with a fresh profile; return its stdout."""
    require_chromium()
    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_SECONDS,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"chromium failed: {done.stderr[-1500:]}"
    return done.stdout
