"""``dasflex`` run as a process, and the processes a test leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import PROJECT_DIR


def dasflex_env(**variables: str) -> dict[str, str]:
    """The environment for a ``dasflex`` subprocess: no inherited DASFLEX_* settings."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("DASFLEX_")}
    environment.update(variables)
    return environment


def dasflex(*argv: str, timeout: float = 60, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``dasflex ARGV`` to completion."""
    return subprocess.run([sys.executable, "-m", "dasflex_core", *argv], capture_output=True,
                          text=True, timeout=timeout, env=dasflex_env(**variables),
                          cwd=PROJECT_DIR)


def start_dasflex(*argv: str, **variables: str) -> subprocess.Popen[str]:
    """Start ``dasflex ARGV`` in the background (stderr captured)."""
    return subprocess.Popen([sys.executable, "-m", "dasflex_core", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dasflex_env(**variables), cwd=PROJECT_DIR)


def processes_matching(*needles: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line holds every needle."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and all(needle in command for needle in needles):
            found.append(int(entry.name))
    return found
